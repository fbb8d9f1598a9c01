// The `slovo` command line: see SlovoCli for the command tree and the exit codes.
// A command is a process of its own, so freed memory is kept for reuse (see LibTorch.KeepFreedMemory): training steps
// allocate the same large buffers every step, and the kernel would otherwise map and zero them again every time.
Slovo.Torch.LibTorch.KeepFreedMemory();
return Slovo.Cli.SlovoCli.Run(args);

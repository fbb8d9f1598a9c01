// The `slovo` command line: see SlovoCli for the command tree and the exit codes.
return Slovo.Cli.SlovoCli.Run(args);

using System.CommandLine;
using Slovo.Output;
using Slovo.Torch;

namespace Slovo.Cli.Commands;

/// <summary>`slovo info`: what this installation runs on.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the libtorch version, intra-op threads, the CPU tensor cache, CUDA devices and where the shipped data is.");
        command.SetAction(_ =>
        {
            Ui.Table(["setting", "value"],
            [
                ["libtorch", LibTorch.Version],
                ["threads", LibTorch.Threads.ToString()],
                ["cpu tensor cache", LibTorch.CpuCacheLimit > 0 ? $"up to {LibTorch.CpuCacheLimit >> 20} MiB (SLOVO_CPU_CACHE_MB)" : "off (SLOVO_CPU_CACHE_MB=0)"],
                ["cuda devices", LibTorch.CudaDeviceCount.ToString()],
                ["default device", LibTorch.DefaultDevice.ToString()],
                ["shared data", SharedData.Root ?? $"not found (set {SharedData.EnvironmentVariable})"],
            ]);
            return 0;
        });
        return command;
    }
}

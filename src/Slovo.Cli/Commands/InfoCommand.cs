using System.CommandLine;
using Slovo.Cli.Output;
using Slovo.Torch;

namespace Slovo.Cli.Commands;

/// <summary>`slovo info`: what this installation runs on.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the libtorch version, intra-op threads, CUDA devices and where the shipped data is.");
        command.SetAction(_ =>
        {
            Ui.Table(["setting", "value"],
            [
                ["libtorch", LibTorch.Version],
                ["threads", LibTorch.Threads.ToString()],
                ["cuda devices", LibTorch.CudaDeviceCount.ToString()],
                ["default device", LibTorch.DefaultDevice.ToString()],
                ["shared data", SharedData.Root ?? $"not found (set {SharedData.EnvironmentVariable})"],
            ]);
            return 0;
        });
        return command;
    }
}

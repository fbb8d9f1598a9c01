using Slovo.Torch;

namespace Slovo.Cli.Commands;

/// <summary>`slovo info`: what this installation runs on.</summary>
internal static class InfoCommand
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: slovo info\n\nPrints the libtorch version, intra-op threads and CUDA devices.");
            return 0;
        }
        Options.Parse(args, new HashSet<string>()).RejectUnknown();
        Console.WriteLine($"libtorch      {LibTorch.Version}");
        Console.WriteLine($"threads       {LibTorch.Threads}");
        Console.WriteLine($"cuda devices  {LibTorch.CudaDeviceCount}");
        Console.WriteLine($"default       {LibTorch.DefaultDevice}");
        return 0;
    }
}

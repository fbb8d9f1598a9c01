using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Slovo.Torch;
using Slovo.Torch.Distributed;

/// <summary>
/// Bench (p): an all-reduce (sum) of 100 MB of float32 across 2 local processes over Gloo, Slovo's ProcessGroup against
/// torch.distributed (bench/peer_dist.py), both pairs alive for the whole run and driven in alternating rounds (Slovo's
/// pair, then PyTorch's), so both see the same machine; each round's time is the slower rank's, medians compared.
/// </summary>
internal static class DistBench
{
    private const double Megabytes = 100;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The driver: starts both pairs and alternates <paramref name="rounds"/> rounds.</summary>
    public static void Run(string python, string repoRoot, int rounds = 15)
    {
        string self = typeof(DistBench).Assembly.Location;
        string host = Environment.ProcessPath!;
        int slovoPort = FreePort(), torchPort = FreePort();
        var slovo = Enumerable.Range(0, 2).Select(r => Start(host, Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [self, "allreduce-worker", $"{r}", "2", $"{slovoPort}"] : ["allreduce-worker", $"{r}", "2", $"{slovoPort}"])).ToArray();
        var torch = Enumerable.Range(0, 2).Select(r => Start(python, [Path.Combine(repoRoot, "bench", "peer_dist.py"), $"{r}", "2", $"{torchPort}",
            Megabytes.ToString(CultureInfo.InvariantCulture)])).ToArray();
        try
        {
            foreach (Process p in slovo.Concat(torch))
                if (p.StandardOutput.ReadLine() != "ready") throw new InvalidOperationException("a worker did not start: " + p.StandardError.ReadToEnd());
            Round(slovo); Round(torch); // warm-up: first touches of the buffers and connections
            var (s, t) = (new List<double>(), new List<double>());
            for (int i = 0; i < rounds; ++i)
            {
                s.Add(Round(slovo));
                t.Add(Round(torch));
            }
            double ms = Rounds.Median(s) * 1e3, mt = Rounds.Median(t) * 1e3;
            Console.WriteLine($"(p) all-reduce of {Megabytes:F0} MB float32, 2 processes, Gloo on 127.0.0.1, median of {rounds} alternating rounds:");
            Console.WriteLine($"    Slovo {ms:F1} ms ({Megabytes / Rounds.Median(s) / 1e3:F2} GB/s), torch.distributed {mt:F1} ms ({Megabytes / Rounds.Median(t) / 1e3:F2} GB/s)");
            Console.WriteLine($"    ratio (time) {ms / mt:F3} (target <= 1.05)");
        }
        finally
        {
            foreach (Process p in slovo.Concat(torch))
            {
                try { p.StandardInput.WriteLine("quit"); p.StandardInput.Close(); } catch (IOException) { }
                if (!p.WaitForExit(20_000)) p.Kill(true);
                p.Dispose();
            }
        }
    }

    private static Process Start(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    // Both ranks all-reduce once; the round took as long as the slower rank.
    private static double Round(Process[] pair)
    {
        foreach (Process p in pair) p.StandardInput.WriteLine("go");
        return pair.Select(p => double.Parse(p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("a worker stopped: " + p.StandardError.ReadToEnd()),
                                             CultureInfo.InvariantCulture)).Max();
    }

    /// <summary>One Slovo rank, the same protocol as bench/peer_dist.py.</summary>
    public static void Worker(string[] args)
    {
        int rank = int.Parse(args[1], CultureInfo.InvariantCulture), world = int.Parse(args[2], CultureInfo.InvariantCulture);
        int port = int.Parse(args[3], CultureInfo.InvariantCulture);
        LibTorch.Threads = 1;
        using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, rank, world, "127.0.0.1", port, TimeSpan.FromSeconds(60));
        using Tensor x = Tensor.Ones([(long)(Megabytes * 1e6 / 4)]);
        Console.WriteLine("ready");
        while (Console.ReadLine() == "go")
        {
            group.Barrier();
            var sw = Stopwatch.StartNew();
            group.AllReduce(x);
            Console.WriteLine(sw.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
        }
    }
}

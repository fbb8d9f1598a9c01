using System.Diagnostics;
using Slovo.LanguageModels;
using Slovo.Torch;

/// <summary>
/// (r) Memory while loading a Hugging Face decoder folder into a dtype: each load runs in a fresh process, which reports its
/// resident set before the load (runtime and libtorch up) and its high-water mark after it (VmHWM); the growth is compared
/// with the bytes of the loaded weights. The folder is a SmolLM2-135M-shaped Llama (30 layers, width 576, 9 heads and 3
/// key/value heads, vocabulary 49,152, tied) with random weights stored as bf16, as such checkpoints are published.
/// </summary>
internal static class LoadBench
{
    private static long StatusKb(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        throw new InvalidOperationException($"no {field} in /proc/self/status");
    }

    /// <summary>The benchmark's SmolLM2-135M-shaped folder (written by "load-rss-make").</summary>
    public static string Folder => Path.Combine(Path.GetTempPath(), "slovo-bench-smollm2-135m-shape");

    /// <summary>Writes the folder in a child process when it is missing.</summary>
    public static void EnsureFolder()
    {
        if (File.Exists(Path.Combine(Folder, "model.safetensors"))) return;
        string self = typeof(LoadBench).Assembly.Location, host = Environment.ProcessPath!;
        string[] argv = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [self, "load-rss-make", Folder] : ["load-rss-make", Folder];
        using var child = Process.Start(new ProcessStartInfo(host, argv) { UseShellExecute = false })!;
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException("could not write the benchmark model");
    }

    public static int Run(string[] args)
    {
        if (args[0] == "load-rss-make")
        {
            var config = new DecoderConfig
            {
                ModelType = "llama", VocabSize = 49152, Width = 576, Intermediate = 1536, Layers = 30, Heads = 9, KvHeads = 3, HeadDim = 64,
                MaxPositions = 8192, NormEpsilon = 1e-5, RopeTheta = 100000, TieEmbeddings = true, BosTokenId = 1, EosTokenIds = [2],
            };
            using var model = new DecoderModel(config, ScalarType.BFloat16);
            model.SavePretrained(args[1]);
            return 0;
        }
        if (args[0] == "load-rss-child")
        {
            ScalarType dtype = args[2] == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
            using (Tensor warm = Tensor.Ones(4, 4).Add(1)) { } // the runtime and libtorch are loaded before the baseline
            long before = StatusKb("VmRSS");
            var clock = Stopwatch.StartNew();
            using DecoderModel model = DecoderModel.FromPretrained(args[1], dtype);
            double seconds = clock.Elapsed.TotalSeconds;
            long peak = StatusKb("VmHWM");
            long weights = model.StateDict().Values.Sum(t => t.NumElements * t.DType.ElementSize());
            Console.WriteLine($"{args[2],-5} {model.ParameterCount(),13:N0} parameters, loaded weights {weights / 1e6,7:F1} MB; RSS before {before / 1e3,7:F1} MB, " +
                              $"peak {peak / 1e3,7:F1} MB: the load added {(peak - before) / 1e3,7:F1} MB = {(peak - before) * 1e3 / weights:F2} x the weights ({seconds:F1} s)");
            return 0;
        }
        string dir = Folder;
        string self = typeof(LoadBench).Assembly.Location, host = Environment.ProcessPath!;
        int Child(params string[] a)
        {
            string[] argv = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [self, .. a] : a;
            using var child = Process.Start(new ProcessStartInfo(host, argv) { UseShellExecute = false })!;
            child.WaitForExit();
            return child.ExitCode;
        }
        if (!File.Exists(Path.Combine(dir, "model.safetensors")))
        {
            Console.WriteLine($"writing a random SmolLM2-135M-shaped Llama as bf16 to {dir}");
            if (Child("load-rss-make", dir) != 0) return 1;
        }
        Console.WriteLine($"(r) loading {dir} ({new FileInfo(Path.Combine(dir, "model.safetensors")).Length / 1e6:F1} MB of bf16 safetensors), each load in a fresh process:");
        foreach (string dtype in new[] { "bf16", "fp32" })
            if (Child("load-rss-child", dir, dtype) != 0) return 1;
        return 0;
    }
}

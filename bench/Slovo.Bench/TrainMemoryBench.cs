using System.Diagnostics;
using System.Globalization;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

/// <summary>
/// train-memory [STEPS] [BATCH] [CONTEXT]: the peak resident memory (VmHWM) and time per step of fine-tuning a SmolLM2-135M-shaped
/// Llama (random weights, fp32, AdamW) four ways, each in a process of its own: every weight; every weight with activation
/// checkpointing; a LoRA adapter of rank 8 on all seven projections (the base frozen); LoRA with checkpointing. Ratios to full
/// fine-tuning are printed last.
/// </summary>
internal static class TrainMemoryBench
{
    private static readonly string[] s_configs = ["full", "full+checkpoint", "lora8", "lora8+checkpoint"];

    public static int Run(string[] args)
    {
        string steps = args.Length > 1 ? args[1] : "3", batch = args.Length > 2 ? args[2] : "4", context = args.Length > 3 ? args[3] : "256";
        Console.WriteLine($"SmolLM2-135M-shaped Llama, fp32, AdamW, {batch} rows x {context} positions, {steps} steps after one warm-up step, {Environment.ProcessorCount} threads; each in its own process");
        var results = new Dictionary<string, (double PeakMb, double Seconds, long Trainable)>();
        foreach (string config in s_configs)
        {
            string host = Environment.ProcessPath!, self = typeof(TrainMemoryBench).Assembly.Location;
            string[] argv = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [self, "train-memory-worker", config, steps, batch, context] : ["train-memory-worker", config, steps, batch, context];
            var start = new ProcessStartInfo(host, argv) { UseShellExecute = false, RedirectStandardOutput = true };
            using var child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            if (child.ExitCode != 0) { Console.Error.WriteLine(output); return child.ExitCode; }
            string[] f = output.Trim().Split(' ');
            results[config] = (double.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture));
            Console.WriteLine($"  {config,-18} peak RSS {results[config].PeakMb,8:F0} MB   {results[config].Seconds,6:F2} s/step   trainable {results[config].Trainable,12:N0}");
        }
        (double fullPeak, double fullTime, long fullTrainable) = results["full"];
        foreach (string config in s_configs.Skip(1))
            Console.WriteLine($"  {config,-18} / full: peak RSS {results[config].PeakMb / fullPeak:F3}   time {results[config].Seconds / fullTime:F3}   trainable {100.0 * results[config].Trainable / fullTrainable:F2}%");
        return 0;
    }

    public static int Worker(string[] args)
    {
        string config = args[1];
        int steps = int.Parse(args[2], CultureInfo.InvariantCulture), batch = int.Parse(args[3], CultureInfo.InvariantCulture), context = int.Parse(args[4], CultureInfo.InvariantCulture);
        LibTorch.Threads = Environment.ProcessorCount;
        var shape = new DecoderConfig
        {
            ModelType = "llama", VocabSize = 49152, Width = 576, Intermediate = 1536, Layers = 30, Heads = 9, KvHeads = 3, HeadDim = 64,
            MaxPositions = 2048, NormEpsilon = 1e-5, RopeTheta = 100000, TieEmbeddings = true, BosTokenId = 1, EosTokenIds = [2],
        };
        using DecoderModel model = RandomGenerator.Seeded(1, () => new DecoderModel(shape));
        using LoraAdapter? adapter = config.StartsWith("lora", StringComparison.Ordinal)
            ? RandomGenerator.Seeded(2, () => LoraAdapter.Attach(model, new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.05, Targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] }))
            : null;
        if (adapter is not null) LoraAdapter.FreezeBase(model);
        model.CheckpointActivations = config.EndsWith("+checkpoint", StringComparison.Ordinal);
        Module trained = (Module?)adapter ?? model;
        using var opt = new AdamW(trained.Parameters(), lr: 1e-4, weightDecay: 0.01);
        var random = new Random(3);
        using var g = new RandomGenerator(4);
        using var use = g.Use();
        model.Train();
        var clock = new Stopwatch();
        for (int step = 0; step <= steps; ++step)
        {
            if (step == 1) clock.Start(); // the first step warms up
            using var scope = DisposeScope.Begin();
            long[] ids = Enumerable.Range(0, batch * (context + 1)).Select(_ => (long)random.Next(3, shape.VocabSize)).ToArray();
            Tensor all = Tensor.From(ids, batch, context + 1);
            Tensor x = all.Narrow(1, 0, context), y = all.Narrow(1, 1, context).Reshape(-1);
            Tensor logits = model.Forward(x).Logits;
            Tensor loss = Losses.CrossEntropy(logits.Reshape(-1, shape.VocabSize), y);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        double seconds = clock.Elapsed.TotalSeconds / steps;
        long peakKb = 0;
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peakKb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{peakKb / 1e3:F1} {seconds:F3} {trained.ParameterCount(trainableOnly: true)}"));
        return 0;
    }
}

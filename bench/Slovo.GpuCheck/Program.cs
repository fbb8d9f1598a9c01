using System.Diagnostics;
using System.Globalization;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

// The GPU checks and bench of scripts/check-gpu. Every module and the GPT training step on the device against the CPU
// (float32, TF32 off), generation, bf16 autocast; then GPT-2 124M against PyTorch on the same machine.
// Usage: Slovo.GpuCheck [--allow-cpu] [--no-bench] [--small-bench] [--python PYTHON] [--peer bench/peer_torch.py]
// --allow-cpu runs the checks on the CPU against itself and --small-bench the bench on a tiny GPT: the plumbing, tried here.
bool allowCpu = args.Contains("--allow-cpu"), bench = !args.Contains("--no-bench"), small = args.Contains("--small-bench");
string python = Arg("--python") ?? "python3", peerScript = Arg("--peer") ?? "bench/peer_torch.py";
string? Arg(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

Device device;
if (LibTorch.CudaIsAvailable) device = Device.CUDA(0);
else if (allowCpu) device = Device.CPU;
else
{
    Console.Error.WriteLine($"check-gpu: libtorch {LibTorch.Version} sees no CUDA device; run this where one is (or pass --allow-cpu to check the plumbing on the CPU)");
    return 1;
}
LibTorch.AllowTF32(false);
Console.WriteLine($"libtorch {LibTorch.Version}; device {device} ({LibTorch.CudaDeviceCount} CUDA device(s)); fused attention operator: {Attention.FusedAvailable}");
var report = new Report();
Checks.Run(report, device);
if (bench && (device.Type == DeviceType.CUDA || small)) GpuBench.Run(report, device, python, peerScript, small);
else if (bench) Console.WriteLine("bench: skipped (no CUDA device; --small-bench runs a tiny one on the CPU)");
report.Print();
return report.Failed ? 1 : 0;

/// <summary>Check results and bench lines, printed together at the end.</summary>
internal sealed class Report
{
    private readonly List<string> _lines = [];
    public bool Failed { get; private set; }

    public void Check(string name, bool ok, string detail)
    {
        Failed |= !ok;
        string line = $"{(ok ? "PASS" : "FAIL")} {name}: {detail}";
        _lines.Add(line);
        Console.WriteLine(line);
    }

    public void Bench(string line)
    {
        _lines.Add("BENCH " + line);
        Console.WriteLine("BENCH " + line);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("summary:");
        foreach (string l in _lines) Console.WriteLine("  " + l);
        Console.WriteLine(Failed ? "check-gpu: FAILED" : "check-gpu: all checks passed");
    }
}

/// <summary>The device against the CPU, module by module.</summary>
internal static class Checks
{
    private const double Tol = 1e-4;

    /// <summary>Largest |a − b| / (1 + |b|) over the elements.</summary>
    private static double Diff(Tensor a, Tensor b)
    {
        float[] x = a.To(Device.CPU).To(ScalarType.Float32).Contiguous().ToArray<float>(), y = b.To(Device.CPU).To(ScalarType.Float32).Contiguous().ToArray<float>();
        if (x.Length != y.Length) return double.PositiveInfinity;
        double worst = 0;
        for (int i = 0; i < x.Length; ++i) worst = Math.Max(worst, Math.Abs(x[i] - y[i]) / (1 + Math.Abs(y[i])));
        return worst;
    }

    public static void Run(Report report, Device device)
    {
        using var scope = DisposeScope.Begin();
        var g = new RandomGenerator(7);
        Tensor a = Tensor.RandN([64, 128], generator: g), b = Tensor.RandN([128, 32], generator: g);
        double d = Diff(a.To(device).MatMul(b.To(device)), a.MatMul(b));
        report.Check("matmul", d < Tol, $"max rel diff {d:E1}");

        Tensor x16 = Tensor.RandN([4, 10, 16], generator: g);
        Tensor ids = Tensor.RandInt(0, 50, [4, 10], generator: g);
        CheckModule(report, device, "Linear", () => new Linear(16, 8), (m, on) => ((Linear)m).Forward(x16.To(on)));
        CheckModule(report, device, "Embedding", () => new Embedding(50, 16), (m, on) => ((Embedding)m).Forward(ids.To(on)));
        CheckModule(report, device, "LayerNorm", () => new LayerNorm([16]), (m, on) => ((LayerNorm)m).Forward(x16.To(on)));
        CheckModule(report, device, "Conv1d", () => new Conv1d(16, 8, 3), (m, on) => ((Conv1d)m).Forward(x16.To(on).Transpose(1, 2)));
        CheckModule(report, device, "LSTM (2 layers, bidirectional)", () => new LSTM(16, 12, numLayers: 2, batchFirst: true, bidirectional: true),
            (m, on) => ((LSTM)m).Forward(x16.To(on)).Output);
        CheckModule(report, device, "GRU", () => new GRU(16, 12, batchFirst: true), (m, on) => ((GRU)m).Forward(x16.To(on)).Output);
        CheckModule(report, device, "TransformerBlock", () => new TransformerBlock(16, 4), (m, on) => ((TransformerBlock)m).Forward(x16.To(on)).Output);
        var tiny = new GptConfig { Layers = 2, Heads = 4, Width = 32, Positions = 64, VocabSize = 50, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0 };
        CheckModule(report, device, "GptModel", () => new GptModel(tiny), (m, on) => ((GptModel)m).Forward(ids.To(on)).Logits);

        if (Attention.FusedAvailable)
        {
            Tensor q = Tensor.RandN([2, 4, 10, 8], generator: g).To(device), k = Tensor.RandN([2, 4, 10, 8], generator: g).To(device), v = Tensor.RandN([2, 4, 10, 8], generator: g).To(device);
            d = Diff(Attention.ScaledDotProduct(q, k, v, causal: true, fused: true), Attention.ScaledDotProduct(q, k, v, causal: true, fused: false));
            report.Check("fused vs written-out attention", d < Tol, $"max rel diff {d:E1}");
        }
        Training(report, device, tiny);
        Generation(report, device, tiny);
        Autocast(report, device, tiny, ids);
        CheckpointedLora(report, device, tiny, ids);
    }

    /// <summary>A LoRA adapter on a frozen GPT with dropout, trained one step with activation checkpointing on the device: the
    /// adapter's gradients equal the plain run's (the replay draws the same dropout from the device's generator).</summary>
    private static void CheckpointedLora(Report report, Device device, GptConfig config, Tensor ids)
    {
        using var scope = DisposeScope.Begin();
        using GptModel m = RandomGenerator.Seeded(13, () => new GptModel(config with { EmbeddingDropout = 0.1, ResidualDropout = 0.1 }));
        m.To(device);
        using LoraAdapter adapter = RandomGenerator.Seeded(14, () => LoraAdapter.Attach(m, new LoraOptions { Rank = 4, Dropout = 0.1, Targets = ["c_attn", "c_fc"] }));
        using (LibTorch.NoGrad())
            foreach (Tensor p in adapter.Parameters()) p.Normal_(0, 0.1);
        LoraAdapter.FreezeBase(m);
        Tensor x = ids.To(device), y = x.Reshape(-1);
        List<Tensor> Gradients(bool checkpoint)
        {
            adapter.ZeroGrad();
            m.CheckpointActivations = checkpoint;
            m.Train();
            using var g = new RandomGenerator(42, device);
            using (g.Use()) Losses.CrossEntropy(m.Forward(x).Logits.Reshape(-1, config.VocabSize), y).Backward();
            return adapter.Parameters().Select(p => p.Grad!.Clone()).ToList();
        }
        List<Tensor> plain = Gradients(false), checkpointed = Gradients(true);
        double worst = plain.Zip(checkpointed).Max(p => Diff(p.Second, p.First));
        bool frozen = m.Parameters().All(p => p.Grad is null);
        report.Check("activation checkpointing with a LoRA adapter (dropout replayed)", worst < Tol && frozen && Checkpoint.Pending == 0,
            $"max rel gradient diff {worst:E1} over {plain.Count} adapter tensors, base frozen: {frozen}");
    }

    /// <summary>The same seeded module on the CPU and on the device: outputs and every parameter's gradient agree.</summary>
    private static void CheckModule(Report report, Device device, string name, Func<Module> make, Func<Module, Device, Tensor> forward)
    {
        using var scope = DisposeScope.Begin();
        using Module cpu = RandomGenerator.Seeded(3, make), dev = RandomGenerator.Seeded(3, make);
        cpu.Eval();
        dev.Eval();
        dev.To(device);
        Tensor yc = forward(cpu, Device.CPU), yd = forward(dev, device);
        double d = Diff(yd, yc);
        yc.Sum().Backward();
        yd.Sum().Backward();
        var pc = cpu.NamedParameters().ToList();
        var pd = dev.NamedParameters().ToList();
        double worstGrad = pc.Zip(pd).Max(p => p.First.Parameter.Grad is null ? 0 : Diff(p.Second.Parameter.Grad!, p.First.Parameter.Grad));
        bool onDevice = pd.All(p => p.Parameter.Device.Type == device.Type);
        report.Check(name, d < Tol && worstGrad < Tol && onDevice, $"output {d:E1}, gradients {worstGrad:E1}{(onDevice ? "" : ", a parameter stayed behind")}");
    }

    private static readonly string[] Texts = Enumerable.Range(0, 40).Select(i => $"line {i}: the quick brown fox jumps over the lazy dog {i * 7 % 13}").ToArray();

    /// <summary>A whole GptTrainer run (AdamW, warm-up and cosine, clipping, validation) on each: the same weights at the end.</summary>
    private static void Training(Report report, Device device, GptConfig config)
    {
        Vocabulary vocab = CharVocabulary.Build(Texts);
        int[][] seqs = Texts.Select(vocab.EncodeSequence).ToArray();
        var o = new GptTrainingOptions { Epochs = 2, BatchSize = 4, Context = 32, LearningRate = 1e-3, WarmupSteps = 2, Patience = 0 };
        GptModel Run(Device on)
        {
            GptModel m = RandomGenerator.Seeded(5, () => new GptModel(config with { VocabSize = vocab.Size }));
            m.To(on);
            new GptTrainer().Train(m, vocab, seqs[..32], seqs[32..], 100, o);
            return m;
        }
        using GptModel cpu = Run(Device.CPU);
        var clock = Stopwatch.StartNew();
        using GptModel dev = Run(device);
        double worst = cpu.StateDict().Max(kv => Diff(dev.StateDict()[kv.Key], kv.Value));
        report.Check("GPT training (2 epochs, AdamW, schedule, clipping)", worst < 1e-3, $"max rel weight diff {worst:E1} ({clock.Elapsed.TotalSeconds:F1} s on {device})");
    }

    /// <summary>Greedy generation on the device gives the CPU's tokens, one prompt and a left-padded batch, GPT and LSTM.</summary>
    private static void Generation(Report report, Device device, GptConfig config)
    {
        var o = new GenerationOptions { Greedy = true, MaxTokens = 30 };
        IReadOnlyList<IReadOnlyList<int>> prompts = [[1, 2, 3], [4, 5, 6, 7, 8], [9]];
        using GptModel gc = RandomGenerator.Seeded(9, () => new GptModel(config)), gd = RandomGenerator.Seeded(9, () => new GptModel(config));
        gc.Eval();
        gd.Eval();
        gd.To(device);
        bool same = Generator.GenerateBatch(gc, prompts, o).Select(r => r.Tokens).Zip(Generator.GenerateBatch(gd, prompts, o).Select(r => r.Tokens)).All(p => p.First.SequenceEqual(p.Second));
        report.Check("GPT greedy generation (batch of 3, left padding, KV cache)", same, same ? "same tokens" : "tokens differ");
        var rnn = new RnnLanguageModelOptions { VocabSize = 50, EmbeddingSize = 16, HiddenSize = 32, Layers = 2 };
        using RnnLanguageModel rc = RandomGenerator.Seeded(9, () => new RnnLanguageModel(rnn)), rd = RandomGenerator.Seeded(9, () => new RnnLanguageModel(rnn));
        rc.Eval();
        rd.Eval();
        rd.To(device);
        same = Generator.GenerateBatch(rc, prompts, o).Select(r => r.Tokens).Zip(Generator.GenerateBatch(rd, prompts, o).Select(r => r.Tokens)).All(p => p.First.SequenceEqual(p.Second));
        report.Check("LSTM greedy generation (batch of 3)", same, same ? "same tokens" : "tokens differ");
    }

    /// <summary>bf16 autocast on the device: matmuls in bfloat16, a loss close to float32's, float32 gradients.</summary>
    private static void Autocast(Report report, Device device, GptConfig config, Tensor ids)
    {
        using var scope = DisposeScope.Begin();
        using GptModel m = RandomGenerator.Seeded(11, () => new GptModel(config));
        m.To(device);
        Tensor x = ids.To(device);
        Tensor y = x.Reshape(-1);
        double full = Losses.CrossEntropy(m.Forward(x).Logits.Reshape(-1, config.VocabSize), y).ToDouble();
        Tensor low;
        ScalarType inside;
        using (LibTorch.Autocast(device))
        {
            Tensor logits = m.Forward(x).Logits;
            inside = logits.DType;
            low = Losses.CrossEntropy(logits.Reshape(-1, config.VocabSize), y);
        }
        low.Backward();
        double l = low.ToDouble();
        bool gradsFloat = m.Parameters().All(p => p.Grad is null || p.Grad.DType == ScalarType.Float32);
        report.Check("bf16 autocast", inside == ScalarType.BFloat16 && Math.Abs(l - full) < 0.02 * full && gradsFloat,
            $"logits {inside}, loss {l:F4} vs float32 {full:F4}, gradients float32: {gradsFloat}");
    }
}

/// <summary>GPT-2 124M on the GPU against PyTorch eager on the same machine.</summary>
internal static class GpuBench
{
    // Dense peaks of an H200 SXM (NVIDIA's datasheet), for model FLOPs utilisation.
    private static readonly Dictionary<string, double> PeakTflops = new() { ["fp32"] = 67, ["tf32"] = 494.7, ["bf16"] = 989.4 };

    private static GptConfig Gpt2 = new() { Layers = 12, Heads = 12, Width = 768, Positions = 1024, VocabSize = 50257 };
    private static (int Batch, int Context, int Tokens) Shape = (8, 1024, 200);
    private static string Name = "GPT-2 124M";

    public static void Run(Report report, Device device, string python, string peerScript, bool small)
    {
        if (small)
        {
            Gpt2 = new GptConfig { Layers = 2, Heads = 2, Width = 64, Positions = 128, VocabSize = 500 };
            (Shape, Name) = ((2, 64, 20), "tiny GPT (plumbing only)");
        }
        var psi = new ProcessStartInfo(python, peerScript) { RedirectStandardInput = true, RedirectStandardOutput = true };
        using Process peer = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python} {peerScript}");
        string Ask(string command)
        {
            peer.StandardInput.WriteLine(command);
            peer.StandardInput.Flush();
            string answer = peer.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the PyTorch peer ended at '{command}'");
            if (answer.StartsWith("error", StringComparison.Ordinal)) throw new InvalidOperationException($"the PyTorch peer: {answer}");
            return answer;
        }
        string folder = Path.Combine(Path.GetTempPath(), "slovo-gpu-gpt2");
        using GptModel model = RandomGenerator.Seeded(1, () => new GptModel(Gpt2));
        model.SavePretrained(folder);
        Ask($"gpt_setup {folder} {Environment.ProcessorCount} {(device.Type == DeviceType.CUDA ? "cuda" : "cpu")}");
        model.To(device);
        long parameters = model.ParameterCount();
        Generate(report, model, Ask); // first: training changes both models' weights, each in its own way
        Train(report, device, model, parameters, Ask);
        peer.StandardInput.Close();
    }

    private static void Train(Report report, Device device, GptModel model, long parameters, Func<string, string> ask)
    {
        (int batch, int context, _) = Shape;
        const int steps = 3, rounds = 3;
        model.Train();
        using var opt = new AdamW(model.Parameters(), lr: 3e-4);
        using var random = new RandomGenerator(2, device);
        using Tensor x = Tensor.RandInt(0, Gpt2.VocabSize, [batch, context], device: device, generator: random);
        using Tensor y = Tensor.RandInt(0, Gpt2.VocabSize, [batch * context], device: device, generator: random);
        // Model FLOPs per token: 6 per parameter (forward and backward) plus attention's 12 · layers · context · width.
        double flopsPerToken = 6.0 * parameters + 12.0 * Gpt2.Layers * context * Gpt2.Width;
        foreach (string precision in new[] { "fp32", "tf32", "bf16" })
        {
            LibTorch.AllowTF32(precision == "tf32");
            void Step()
            {
                using var scope = DisposeScope.Begin();
                opt.ZeroGrad();
                Tensor loss;
                using (precision == "bf16" ? LibTorch.Autocast(device) : null)
                {
                    (Tensor logits, KvCache cache) = model.Forward(x);
                    foreach (KeyValue kv in cache.Layers) { kv.Key.Dispose(); kv.Value.Dispose(); }
                    loss = Losses.CrossEntropy(logits.Reshape(-1, Gpt2.VocabSize), y);
                }
                loss.Backward();
                opt.Step();
                loss.ToDouble();
            }
            Step();
            ask($"gpt_train 1 {batch} {context} {precision}");
            var slovo = new List<double>();
            var torch = new List<double>();
            for (int r = 0; r < rounds; ++r)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < steps; ++i) Step();
                slovo.Add(sw.Elapsed.TotalSeconds / steps);
                torch.Add(double.Parse(ask($"gpt_train {steps} {batch} {context} {precision}"), CultureInfo.InvariantCulture));
            }
            double s = Median(slovo), t = Median(torch);
            double tokens = batch * context;
            string Mfu(double seconds) => $"{flopsPerToken * tokens / seconds / 1e12:F0} TFLOP/s, MFU {flopsPerToken * tokens / seconds / 1e12 / PeakTflops[precision]:P0}";
            report.Bench($"{Name} training step, batch {batch} x {context}, {precision}: Slovo {s * 1e3:F1} ms ({tokens / s:N0} tok/s, {Mfu(s)}), " +
                         $"PyTorch {t * 1e3:F1} ms ({tokens / t:N0} tok/s, {Mfu(t)}); ratio Slovo/PyTorch time {s / t:F2} (target <= 1.0)");
        }
        LibTorch.AllowTF32(false);
    }

    private static void Generate(Report report, GptModel model, Func<string, string> ask)
    {
        int tokens = Shape.Tokens;
        const int rounds = 3;
        model.Eval();
        var rng = new Random(3);
        int[] prompt = Enumerable.Range(0, 20).Select(_ => rng.Next(Gpt2.VocabSize)).ToArray();
        var o = new GenerationOptions { Greedy = true, MaxTokens = tokens };
        foreach (int rows in new[] { 1, 8 })
        {
            IReadOnlyList<IReadOnlyList<int>> prompts = Enumerable.Repeat((IReadOnlyList<int>)prompt, rows).ToList();
            IReadOnlyList<int> ours = Generator.GenerateBatch(model, prompts, o)[0].Tokens; // warm-up
            ask($"gpt_generate {tokens} {string.Join(',', prompt)} {rows}");
            var slovo = new List<double>();
            var torch = new List<double>();
            IReadOnlyList<int> theirs = [];
            for (int r = 0; r < rounds; ++r)
            {
                var sw = Stopwatch.StartNew();
                ours = Generator.GenerateBatch(model, prompts, o)[0].Tokens;
                slovo.Add(sw.Elapsed.TotalSeconds);
                string[] answer = ask($"gpt_generate {tokens} {string.Join(',', prompt)} {rows}").Split(' ');
                torch.Add(double.Parse(answer[0], CultureInfo.InvariantCulture));
                theirs = answer.Skip(1).Select(int.Parse).ToList();
            }
            double s = rows * tokens / Median(slovo), t = rows * tokens / Median(torch);
            report.Bench($"{Name} greedy generation, {tokens} tokens after {prompt.Length}, batch {rows}, KV cache: Slovo {s:N0} tok/s, PyTorch {t:N0} tok/s; " +
                         $"ratio {s / t:F2} (target >= {(rows == 1 ? "1.2" : "1.0")}); same tokens as PyTorch: {ours.SequenceEqual(theirs)}");
        }
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}

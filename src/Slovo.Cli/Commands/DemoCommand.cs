using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

// Shapes: B batch, T sequence length, V vocabulary (characters), E embedding, H hidden.

/// <summary>
/// `slovo demo`: trains a character-level LSTM language model end to end on a text file, with validation
/// (loss, bits per character), one atomic checkpoint file holding model and optimizer, exact --resume, and a sample.
/// </summary>
internal static class DemoCommand
{
    public const string Usage = """
        usage: slovo demo [options]

        Trains a character-level LSTM language model on a UTF-8 text file and samples from it.

          --data FILE            training text (default: ../shared/data/pushkin/pushkin.txt)
          --out DIR              run folder for checkpoint.safetensors, summary.json and tensorboard/ (default: runs/demo)
          --steps N              training steps in total (default: 300)
          --batch N              sequences per step (default: 32)
          --seq N                characters per sequence (default: 128)
          --emb N, --hidden N    embedding and LSTM sizes (default: 64, 256)
          --layers N             LSTM layers (default: 2)
          --dropout P            dropout between layers (default: 0.1)
          --lr X                 Adam learning rate (default: 0.002)
          --clip X               gradient norm limit (default: 1.0)
          --eval-every N         validate and checkpoint every N steps (default: 100)
          --seed N               seed for batches, dropout and sampling (default: 1)
          --threads N            intra-op threads (default: all cores)
          --prompt TEXT          start of the sample (default: "Я помню ")
          --sample-len N         characters to sample (default: 300)
          --temperature X        sampling temperature (default: 0.8)
          --resume               continue from <out>/checkpoint.safetensors exactly where it stopped
        """;

    private static readonly HashSet<string> Flags = ["resume", "help"];

    public static int Run(string[] args)
    {
        Options o = Options.Parse(args, Flags);
        if (o.Flag("help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var cfg = new DemoConfig
        {
            Data = o.String("data", DefaultData()),
            Out = o.String("out", "runs/demo"),
            Steps = o.Int("steps", 300, 1),
            Batch = o.Int("batch", 32, 1),
            Seq = o.Int("seq", 128, 2),
            Emb = o.Int("emb", 64, 1),
            Hidden = o.Int("hidden", 256, 1),
            Layers = o.Int("layers", 2, 1),
            Dropout = o.Double("dropout", 0.1, 0),
            Lr = o.Double("lr", 0.002, 0),
            Clip = o.Double("clip", 1.0, 0),
            EvalEvery = o.Int("eval-every", 100, 1),
            Seed = o.Int("seed", 1, 0),
            Threads = o.Int("threads", Environment.ProcessorCount, 1),
            Prompt = o.String("prompt", "Я помню "),
            SampleLen = o.Int("sample-len", 300, 0),
            Temperature = o.Double("temperature", 0.8, 1e-6),
            Resume = o.Flag("resume"),
        };
        if (cfg.Dropout >= 1) throw new UsageException("--dropout must be below 1");
        o.RejectUnknown();
        return Train(cfg);
    }

    private static string DefaultData()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null)
        {
            string candidate = Path.Combine(dir, "..", "shared", "data", "pushkin", "pushkin.txt");
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
            dir = Path.GetDirectoryName(dir);
        }
        return Path.GetFullPath(Path.Combine("..", "shared", "data", "pushkin", "pushkin.txt"));
    }

    internal sealed record DemoConfig
    {
        public required string Data, Out, Prompt;
        public required int Steps, Batch, Seq, Emb, Hidden, Layers, EvalEvery, Seed, Threads, SampleLen;
        public required double Dropout, Lr, Clip, Temperature;
        public required bool Resume;
    }

    /// <summary>Reads a UTF-8 text strictly: invalid bytes are an error naming the offset.</summary>
    internal static string ReadText(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"training text not found: {Path.GetFullPath(path)} (pass --data FILE)", path);
        byte[] bytes = File.ReadAllBytes(path);
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        string text;
        try { text = strict.GetString(bytes); }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path} is not valid UTF-8 (bad byte at offset {e.Index}); convert it, e.g. iconv -f cp1251 -t utf-8");
        }
        text = text.Replace("\r\n", "\n").TrimStart('\uFEFF');
        if (text.Length < 1000) throw new InvalidDataException($"{path} holds {text.Length} characters; the demo needs at least 1000");
        return text;
    }

    private static int Train(DemoConfig cfg)
    {
        LibTorch.Threads = cfg.Threads;
        string text = ReadText(cfg.Data);
        string ckptPath = Path.Combine(cfg.Out, "checkpoint.safetensors");
        char[] vocab = text.Distinct().Order().ToArray();
        int start = 0;
        Dictionary<string, Tensor>? saved = null;
        Dictionary<string, string>? savedMeta = null;
        if (cfg.Resume)
        {
            if (!File.Exists(ckptPath)) throw new FileNotFoundException($"--resume: no checkpoint at {Path.GetFullPath(ckptPath)}", ckptPath);
            (saved, savedMeta) = SafeTensors.LoadWithMetadata(ckptPath);
            string savedVocab = JsonSerializer.Deserialize<string>(savedMeta["vocab"]) ?? "";
            if (savedVocab != new string(vocab))
                throw new InvalidDataException($"{ckptPath} was trained on a different character set; resume with the same --data");
            string savedShape = savedMeta["shape"], shape = ShapeKey(cfg);
            if (savedShape != shape) throw new InvalidDataException($"{ckptPath} has model shape {savedShape}, the options ask for {shape}");
            start = int.Parse(savedMeta["step"], CultureInfo.InvariantCulture);
            if (start >= cfg.Steps) Console.Error.WriteLine($"checkpoint is already at step {start} of {cfg.Steps}");
        }

        var index = new Dictionary<char, int>();
        for (int i = 0; i < vocab.Length; ++i) index[vocab[i]] = i;
        long[] ids = text.Select(c => (long)index[c]).ToArray();
        int split = (int)(ids.Length * 0.95);
        long[] train = ids[..split], valid = ids[split..];
        if (train.Length <= cfg.Seq + 1 || valid.Length <= cfg.Seq + 1)
            throw new InvalidDataException($"the text is too short for --seq {cfg.Seq}");

        LibTorch.ManualSeed((ulong)cfg.Seed);
        using var model = new CharLstm(vocab.Length, cfg.Emb, cfg.Hidden, cfg.Layers, cfg.Dropout);
        using var opt = new Adam(model.Parameters(), lr: cfg.Lr);
        if (saved is not null)
        {
            model.LoadStateDict(Prefixed(saved, "model."));
            opt.LoadStateDict(Prefixed(saved, "optim."), savedMeta!.Where(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["optim.".Length..], kv => kv.Value));
            foreach (Tensor t in saved.Values) t.Dispose();
            Console.Error.WriteLine($"resumed from {ckptPath} at step {start}");
        }

        Console.WriteLine($"data: {cfg.Data} ({text.Length:N0} characters, {vocab.Length} distinct; {train.Length:N0} train / {valid.Length:N0} validation)");
        Console.WriteLine($"model: char LSTM, emb {cfg.Emb}, hidden {cfg.Hidden}, {cfg.Layers} layers, {model.ParameterCount():N0} parameters; libtorch {LibTorch.Version}, {cfg.Threads} threads");
        using var tensorBoard = new Slovo.Training.TensorBoardWriter(Path.Combine(cfg.Out, "tensorboard"));
        var progress = new Progress(cfg.Steps, "train");
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        var history = new List<(int Step, double ValidLoss)>();
        long chars = 0;
        for (int step = start + 1; step <= cfg.Steps; ++step)
        {
            using (var scope = DisposeScope.Begin())
            {
                model.Train();
                LibTorch.ManualSeed((ulong)cfg.Seed * 1_000_003UL + (ulong)step); // dropout depends only on (seed, step)
                (Tensor x, Tensor y) = Batch(train, cfg.Batch, cfg.Seq, new Random(cfg.Seed * 7919 + step));
                opt.ZeroGrad();
                (Tensor logits, _) = model.Forward(x, null);                    // (B, T, V)
                Tensor loss = Losses.CrossEntropy(logits.Reshape(-1, vocab.Length), y.Reshape(-1));
                loss.Backward();
                GradClip.ClipGradNorm(model.Parameters(), cfg.Clip);
                opt.Step();
                lastLoss = loss.ToDouble();
                chars += (long)cfg.Batch * cfg.Seq;
            }
            progress.Report(step, $"loss {lastLoss:F3} {chars / clock.Elapsed.TotalSeconds:N0} chars/s");
            tensorBoard.Scalar("train/loss", lastLoss, step);
            if (step % cfg.EvalEvery == 0 || step == cfg.Steps)
            {
                double v = Evaluate(model, valid, cfg.Seq, vocab.Length);
                history.Add((step, v));
                tensorBoard.Scalar("valid/loss", v, step);
                tensorBoard.Scalar("valid/bits_per_char", v / Math.Log(2), step);
                Console.Error.WriteLine();
                Console.WriteLine($"step {step}: train loss {lastLoss:F4}, validation loss {v:F4}, {v / Math.Log(2):F3} bits/char, perplexity {Math.Exp(v):F2}");
                SaveCheckpoint(ckptPath, model, opt, step, vocab, cfg);
            }
        }

        string sample = cfg.SampleLen > 0 ? Sample(model, cfg, vocab, index) : "";
        if (sample.Length > 0) Console.WriteLine($"\nsample (temperature {cfg.Temperature}):\n{sample}\n");
        var summary = new Dictionary<string, object>
        {
            ["data"] = cfg.Data, ["steps"] = cfg.Steps, ["parameters"] = model.ParameterCount(),
            ["final_train_loss"] = lastLoss,
            ["validation"] = history.Select(h => new { step = h.Step, loss = h.ValidLoss, bits_per_char = h.ValidLoss / Math.Log(2) }).ToList(),
            ["seconds_this_run"] = clock.Elapsed.TotalSeconds, ["sample"] = sample,
        };
        AtomicFile.WriteAllText(Path.Combine(cfg.Out, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {ckptPath} and {Path.Combine(cfg.Out, "summary.json")}");
        return 0;
    }

    private static string ShapeKey(DemoConfig c) => $"emb={c.Emb},hidden={c.Hidden},layers={c.Layers}";

    private static Dictionary<string, Tensor> Prefixed(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

    /// <summary>Model, optimizer and step in one file, written atomically: a kill at any moment leaves the previous checkpoint whole.</summary>
    private static void SaveCheckpoint(string path, CharLstm model, Optimizer opt, int step, char[] vocab, DemoConfig cfg)
    {
        (Dictionary<string, Tensor> optTensors, Dictionary<string, string> optMeta) = opt.StateDict();
        var tensors = new Dictionary<string, Tensor>();
        foreach ((string k, Tensor t) in model.StateDict()) tensors["model." + k] = t;
        foreach ((string k, Tensor t) in optTensors) tensors["optim." + k] = t;
        var meta = optMeta.ToDictionary(kv => "optim." + kv.Key, kv => kv.Value);
        meta["step"] = step.ToString(CultureInfo.InvariantCulture);
        meta["vocab"] = JsonSerializer.Serialize(new string(vocab));
        meta["shape"] = ShapeKey(cfg);
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Random windows of T+1 characters: inputs are the first T, targets the last T.</summary>
    private static (Tensor X, Tensor Y) Batch(long[] data, int batch, int seq, Random rng)
    {
        var x = new long[batch * seq];
        var y = new long[batch * seq];
        for (int b = 0; b < batch; ++b)
        {
            int s = rng.Next(0, data.Length - seq - 1);
            Array.Copy(data, s, x, b * seq, seq);
            Array.Copy(data, s + 1, y, b * seq, seq);
        }
        return (Tensor.From(x, batch, seq), Tensor.From(y, batch, seq));
    }

    /// <summary>Mean cross-entropy (nats per character) over consecutive windows covering the validation text.</summary>
    internal static double Evaluate(CharLstm model, long[] data, int seq, int vocabSize)
    {
        model.Eval();
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        int windows = Math.Min((data.Length - 1) / seq, 256);
        double total = 0;
        long count = 0;
        for (int first = 0; first < windows; first += 64)
        {
            int n = Math.Min(64, windows - first);
            var x = new long[n * seq];
            var y = new long[n * seq];
            for (int w = 0; w < n; ++w)
            {
                Array.Copy(data, (first + w) * seq, x, w * seq, seq);
                Array.Copy(data, (first + w) * seq + 1, y, w * seq, seq);
            }
            (Tensor logits, _) = model.Forward(Tensor.From(x, n, seq), null);
            total += Losses.CrossEntropy(logits.Reshape(-1, vocabSize), Tensor.From(y), reduction: Reduction.Sum).ToDouble();
            count += (long)n * seq;
        }
        return total / count;
    }

    /// <summary>Feeds the prompt once, then one character per step with the LSTM state carried along.</summary>
    private static string Sample(CharLstm model, DemoConfig cfg, char[] vocab, Dictionary<char, int> index)
    {
        model.Eval();
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        LibTorch.ManualSeed((ulong)cfg.Seed);
        string prompt = new(cfg.Prompt.Where(index.ContainsKey).ToArray());
        if (prompt.Length == 0) prompt = vocab[0].ToString();
        var sb = new StringBuilder(prompt);
        (Tensor logits, (Tensor H, Tensor C)? state) = model.Forward(Tensor.From(prompt.Select(c => (long)index[c]).ToArray(), 1, prompt.Length), null);
        Tensor last = logits[0, -1];                                                     // (V)
        for (int i = 0; i < cfg.SampleLen; ++i)
        {
            long next = (last / cfg.Temperature).Softmax(-1).Multinomial(1).ToInt64();
            sb.Append(vocab[next]);
            (logits, state) = model.Forward(Tensor.From(new[] { next }, 1, 1), state);
            last = logits[0, -1];
        }
        return sb.ToString();
    }
}

/// <summary>Embedding → multi-layer LSTM → linear head over characters.</summary>
internal sealed class CharLstm : Module
{
    private readonly Embedding _embedding;
    private readonly LSTM _lstm;
    private readonly Linear _head;

    public CharLstm(int vocab, int emb, int hidden, int layers, double dropout)
    {
        _embedding = RegisterModule("embedding", new Embedding(vocab, emb));
        _lstm = RegisterModule("lstm", new LSTM(emb, hidden, numLayers: layers, batchFirst: true, dropout: layers > 1 ? dropout : 0));
        _head = RegisterModule("head", new Linear(hidden, vocab));
    }

    /// <summary>Logits (B, T, V) for input ids (B, T), and the final LSTM state to continue from.</summary>
    public (Tensor Logits, (Tensor H, Tensor C) State) Forward(Tensor ids, (Tensor H, Tensor C)? state)
    {
        using Tensor e = _embedding.Forward(ids);            // (B, T, E)
        (Tensor output, (Tensor H, Tensor C) next) = _lstm.Forward(e, state);
        using (output)
            return (_head.Forward(output), next);            // (B, T, V)
    }
}

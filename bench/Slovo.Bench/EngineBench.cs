using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;
using Slovo.Models;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Serialization;

/// <summary>
/// (q) Batch-1 greedy decoding, 128 tokens after a 20-token prompt, on the SmolLM2-135M-shaped Llama of (r): Slovo with
/// --engine llamacpp (F32, F16, Q8_0) against llama.cpp's own loop on the same file (LLamaSharp: one llama_decode per token,
/// argmax), and Slovo's torch engine (fp32, bf16). Rounds alternate over the configurations; medians are compared.
/// </summary>
internal static class EngineBench
{
    private const int Tokens = 128, Rounds = 3, Prefill = 512;

    // A SentencePiece-style tokenizer of the model's 49,152 ids (the weights are random; only the ids matter here).
    private static void EnsureTokenizer(string dir)
    {
        string path = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(path)) return;
        var vocab = new Dictionary<string, int> { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; ++b) vocab[$"<0x{b:X2}>"] = vocab.Count;
        while (vocab.Count < 49152) vocab[$"▁w{vocab.Count}"] = vocab.Count;
        var tokenizer = new Tokenizer(new Bpe(vocab, [], "<unk>", fuseUnk: true, byteFallback: true), [new AddedToken("<unk>", 0), new AddedToken("<s>", 1), new AddedToken("</s>", 2)])
        {
            Normalizer = new SequenceNormalizer([new PrependNormalizer("▁"), new ReplaceNormalizer(" ", "▁")]),
            Decoder = new SequenceDecoder([new ReplaceDecoder("▁", " "), new ByteFallbackDecoder(), new FuseDecoder()]),
        };
        TokenizerJson.Save(tokenizer, path);
    }

    /// <summary>The GPT-2 124M-shaped folder (12 blocks of 768, vocabulary 50,257, random weights, GPT-2's tokenizer).</summary>
    public static string Gpt2Folder => Path.Combine(Path.GetTempPath(), "slovo-bench-gpt2-124m-shape");

    private static void EnsureGpt2()
    {
        string dir = Gpt2Folder;
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) return;
        string shared = Slovo.SharedData.RequireRoot();
        var template = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(shared, "models", "tiny-random-gpt2", "tokenizer.json")))!;
        var vocab = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(shared, "models", "gpt2-tokenizer", "encoder.json")))!;
        var merges = new System.Text.Json.Nodes.JsonArray(File.ReadLines(Path.Combine(shared, "models", "gpt2-tokenizer", "vocab.bpe")).Skip(1)
            .Where(l => l.Length > 0).Select(l => (System.Text.Json.Nodes.JsonNode)l).ToArray());
        template["model"]!["vocab"] = vocab;
        template["model"]!["merges"] = merges;
        template["added_tokens"]![0]!["id"] = 50256;
        var config = new GptConfig { Layers = 12, Heads = 12, Width = 768, Positions = 1024, VocabSize = 50257, BosTokenId = 50256, EosTokenId = 50256 };
        using GptModel model = RandomGenerator.Seeded(124, () => new GptModel(config));
        Directory.CreateDirectory(dir);
        string tokenizer = Path.Combine(Path.GetTempPath(), "slovo-bench-gpt2-tokenizer.json");
        File.WriteAllText(tokenizer, template.ToJsonString());
        model.SavePretrained(dir, tokenizer);
    }

    private static string Folder(string model)
    {
        if (model == "gpt2")
        {
            EnsureGpt2();
            return Gpt2Folder;
        }
        LoadBench.EnsureFolder();
        EnsureTokenizer(LoadBench.Folder);
        return LoadBench.Folder;
    }

    private static readonly string[] s_models = ["gpt2", "smollm"];

    /// <summary>engine-decode [gpt2|smollm] [torch]: (q) decoding and (q') prefill, every configuration in alternating rounds.</summary>
    public static void Run(string[] args)
    {
        LibTorch.Threads = Environment.ProcessorCount; // both engines use every core (llama.cpp gets the same count)
        bool torchOnly = args.Contains("torch");
        foreach (string model in s_models.Where(m => !args.Any(s_models.Contains) || args.Contains(m))) RunModel(model, torchOnly);
    }

    /// <summary>
    /// engine-cache: the torch engine's batch-1 greedy decoding of the GPT-2 124M shape (fp32) with the key/value cache
    /// written in place and with it concatenated at every token, 128 and 900 tokens after a 20-token prompt.
    /// </summary>
    public static void RunCache()
    {
        LibTorch.Threads = Environment.ProcessorCount;
        string dir = Folder("gpt2");
        var random = new Random(20);
        int[] prompt = Enumerable.Range(0, 20).Select(_ => random.Next(300, 50256)).ToArray();
        using LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(dir);
        Console.WriteLine($"torch engine, GPT-2 124M shape (random weights), fp32, {LibTorch.Threads} threads: greedy tokens/s, median of {Rounds} alternating rounds");
        foreach (int tokens in new[] { 128, 900 })
        {
            var options = new GenerationOptions { MaxTokens = tokens, Greedy = true };
            var times = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
            var outputs = new Dictionary<bool, int[]>();
            for (int r = -1; r < Rounds; ++r)
                foreach (bool inPlace in new[] { true, false })
                {
                    Slovo.Torch.NN.KeyValue.InPlace = inPlace;
                    var clock = Stopwatch.StartNew();
                    int[] output = lm.Generate(prompt, options).Tokens.ToArray();
                    if (r < 0) outputs[inPlace] = output; // the first round warms up
                    else times[inPlace].Add(clock.Elapsed.TotalSeconds);
                }
            Slovo.Torch.NN.KeyValue.InPlace = true;
            double Rate(bool inPlace) => outputs[inPlace].Length / global::Rounds.Median(times[inPlace]);
            Console.WriteLine($"  {tokens,4} tokens: cache in place {Rate(true),6:F1}   concatenated {Rate(false),6:F1}   in place / concatenated {Rate(true) / Rate(false):F3}   " +
                              $"same tokens: {outputs[true].SequenceEqual(outputs[false])}");
        }
    }

    private static void RunModel(string model, bool torchOnly)
    {
        string dir = Folder(model);
        string shape = model == "gpt2" ? "GPT-2 124M-shaped" : "SmolLM2-135M-shaped Llama";
        var random = new Random(20);
        int vocab = model == "gpt2" ? 50257 : 49152;
        int[] prompt = Enumerable.Range(0, 20).Select(_ => random.Next(300, vocab - 1)).ToArray();
        int[] longPrompt = Enumerable.Range(0, Prefill).Select(_ => random.Next(300, vocab - 1)).ToArray();
        var greedy = new GenerationOptions { MaxTokens = Tokens, Greedy = true };
        var first = new GenerationOptions { MaxTokens = 1, Greedy = true };
        var configs = new List<(string Name, Func<int[]> Decode, Action Prefill, IDisposable Owner)>();
        foreach ((string name, ScalarType dtype) in new[] { ("torch fp32", ScalarType.Float32), ("torch bf16", ScalarType.BFloat16) })
        {
            LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(dir, new ModelLoadOptions { DType = dtype });
            configs.Add(($"Slovo {name}", () => lm.Generate(prompt, greedy).Tokens.ToArray(), () => lm.Generate(longPrompt, first), lm));
        }
        foreach (GgmlType type in torchOnly ? [] : new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0 })
        {
            LanguageModel lm = LanguageModel.Load(dir);
            LlamaCppBackend backend = LlamaCppEngine.Use(lm, new LlamaCppOptions { Type = type, Context = 1024, MaxRows = 1, Threads = LibTorch.Threads });
            configs.Add(($"Slovo llamacpp {type}", () => lm.Generate(prompt, greedy).Tokens.ToArray(), () => lm.Generate(longPrompt, first), new Both(lm, backend)));
            var parameters = new ModelParams(backend.File)
            {
                ContextSize = 1024, SeqMax = 1, BatchSize = 1024, UBatchSize = 512, Threads = LibTorch.Threads, BatchThreads = LibTorch.Threads,
                TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
            };
            var weights = LLamaWeights.LoadFromFile(parameters);
            configs.Add(($"llama.cpp loop {type}", () => OwnLoop(weights, parameters, prompt, Tokens), () => OwnLoop(weights, parameters, longPrompt, 1), weights));
        }
        var decode = configs.ToDictionary(c => c.Name, _ => new List<double>());
        var prefill = configs.ToDictionary(c => c.Name, _ => new List<double>());
        var outputs = new Dictionary<string, int[]>();
        foreach ((string name, Func<int[]> round, Action fill, _) in configs)
        {
            outputs[name] = round(); // warm-up
            fill();
        }
        for (int r = 0; r < Rounds; ++r)
            foreach ((string name, Func<int[]> round, Action fill, _) in configs)
            {
                var clock = Stopwatch.StartNew();
                round();
                decode[name].Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
                fill();
                prefill[name].Add(clock.Elapsed.TotalSeconds);
            }
        Console.WriteLine($"(q) batch-1 greedy decoding of {Tokens} tokens after a {prompt.Length}-token prompt, and (q') prefill of a {Prefill}-token prompt (to its first token);");
        Console.WriteLine($"    {shape} (random weights), {LibTorch.Threads} threads, median of {Rounds} alternating rounds");
        double Rate(string name) => Tokens / global::Rounds.Median(decode[name]);
        double Fill(string name) => Prefill / global::Rounds.Median(prefill[name]);
        foreach ((string name, _, _, _) in configs) Console.WriteLine($"  {name,-24} decode {Rate(name),8:F1} tokens/s   prefill {Fill(name),8:F1} tokens/s");
        foreach ((_, _, _, IDisposable owner) in configs) owner.Dispose();
        if (torchOnly) return;
        foreach (string type in new[] { "F32", "F16", "Q8_0" })
        {
            bool same = outputs[$"Slovo llamacpp {type}"].SequenceEqual(outputs[$"llama.cpp loop {type}"]);
            Console.WriteLine($"  Slovo llamacpp / llama.cpp loop at {type}: decode {Rate($"Slovo llamacpp {type}") / Rate($"llama.cpp loop {type}"):F2}, prefill {Fill($"Slovo llamacpp {type}") / Fill($"llama.cpp loop {type}"):F2} (same tokens: {same})");
        }
        Console.WriteLine($"  Slovo torch fp32 / llama.cpp F32: decode {Rate("Slovo torch fp32") / Rate("llama.cpp loop F32"):F2}, prefill {Fill("Slovo torch fp32") / Fill("llama.cpp loop F32"):F2}; " +
                          $"torch bf16 / llama.cpp F16: decode {Rate("Slovo torch bf16") / Rate("llama.cpp loop F16"):F2}, prefill {Fill("Slovo torch bf16") / Fill("llama.cpp loop F16"):F2}");
        Console.WriteLine($"  greedy tokens equal, torch fp32 and llama.cpp F32: {outputs["Slovo torch fp32"].SequenceEqual(outputs["llama.cpp loop F32"])}");
    }

    /// <summary>engine-rss: the peak resident set of each engine loading the GPT-2 124M-shaped model and decoding 128 tokens, each in a fresh process.</summary>
    public static int Memory(string[] args)
    {
        string[] configs = ["torch fp32", "torch bf16", "llamacpp F32", "llamacpp F16", "llamacpp Q8_0", "llama.cpp F32", "llama.cpp F16", "llama.cpp Q8_0"];
        if (args.Length > 1)
        {
            string config = args[1];
            LibTorch.Threads = Environment.ProcessorCount;
            string dir = Folder(args.Length > 2 ? args[2] : "gpt2");
            using (Tensor warm = Tensor.Ones(4, 4).Add(1)) { }
            long before = StatusKb("VmRSS");
            int[] prompt = Enumerable.Range(300, 20).ToArray();
            var greedy = new GenerationOptions { MaxTokens = Tokens, Greedy = true };
            GgmlType type = config.EndsWith("F32", StringComparison.Ordinal) ? GgmlType.F32 : config.EndsWith("F16", StringComparison.Ordinal) ? GgmlType.F16 : GgmlType.Q8_0;
            if (config.StartsWith("torch", StringComparison.Ordinal))
            {
                using LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(dir, new ModelLoadOptions { DType = config.EndsWith("bf16", StringComparison.Ordinal) ? ScalarType.BFloat16 : ScalarType.Float32 });
                lm.Generate(prompt, greedy);
            }
            else if (config.StartsWith("llamacpp", StringComparison.Ordinal))
            {
                using LanguageModel lm = LanguageModel.Load(dir);
                using LlamaCppBackend backend = LlamaCppEngine.Use(lm, new LlamaCppOptions { Type = type, Context = 256, MaxRows = 1 });
                lm.Generate(prompt, greedy);
            }
            else
            {
                // llama.cpp alone on the file the engine exported (the parent made it).
                string file = Directory.GetFiles(Path.Combine(dir, ".slovo-engines"), $"*.{type.ToString().ToLowerInvariant()}.gguf").Single();
                before = StatusKb("VmRSS");
                var parameters = new ModelParams(file) { ContextSize = 256, SeqMax = 1, BatchSize = 256, UBatchSize = 256, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false };
                using var weights = LLamaWeights.LoadFromFile(parameters);
                OwnLoop(weights, parameters, prompt, Tokens);
            }
            Console.WriteLine($"  {config,-16} peak RSS {StatusKb("VmHWM") / 1e3,8:F1} MB (RSS before loading {before / 1e3,6:F1} MB)");
            return 0;
        }
        string folder = Folder("gpt2");
        string self = typeof(EngineBench).Assembly.Location, host = Environment.ProcessPath!;
        Console.WriteLine($"memory: the GPT-2 124M-shaped model ({new FileInfo(Path.Combine(folder, "model.safetensors")).Length / 1e6:F0} MB of float32 safetensors) loaded and 128 tokens decoded, each in a fresh process:");
        foreach (string config in configs)
        {
            string[] argv = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [self, "engine-rss", config] : ["engine-rss", config];
            using var child = Process.Start(new ProcessStartInfo(host, argv) { UseShellExecute = false })!;
            child.WaitForExit();
            if (child.ExitCode != 0) return child.ExitCode;
        }
        return 0;
    }

    private static long StatusKb(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        throw new InvalidOperationException($"no {field} in /proc/self/status");
    }

    // llama.cpp alone: the prompt in one llama_decode, then one llama_decode per token, the argmax taken here.
    private static int[] OwnLoop(LLamaWeights weights, ModelParams parameters, int[] prompt, int tokens)
    {
        using LLamaContext ctx = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; ++i) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        ctx.Decode(batch);
        var result = new int[tokens];
        for (int n = 0; n < tokens; ++n)
        {
            ReadOnlySpan<float> logits = ctx.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; ++v) if (logits[v] > logits[best]) best = v;
            result[n] = best;
            if (n + 1 == tokens) break;      // the last token is not read back (as Slovo's generator does)
            batch.Clear();
            batch.Add(best, prompt.Length + n, LLamaSeqId.Zero, true);
            ctx.Decode(batch);
        }
        return result;
    }

    private sealed class Both(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }
}

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
    private const int Tokens = 128, Rounds = 3;

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

    public static void Run(string? only = null)
    {
        LibTorch.Threads = Environment.ProcessorCount; // both engines use every core (llama.cpp gets the same count)
        LoadBench.EnsureFolder();
        string dir = LoadBench.Folder;
        EnsureTokenizer(dir);
        var random = new Random(20);
        int[] prompt = Enumerable.Range(0, 20).Select(_ => random.Next(300, 49152)).ToArray();
        var greedy = new GenerationOptions { MaxTokens = Tokens, Greedy = true };
        var configs = new List<(string Name, Func<int[]> Round, IDisposable Owner)>();
        bool torchOnly = only == "torch";
        foreach ((string name, ScalarType dtype) in new[] { ("torch fp32", ScalarType.Float32), ("torch bf16", ScalarType.BFloat16) })
        {
            LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(dir, new ModelLoadOptions { DType = dtype });
            configs.Add(($"Slovo {name}", () => lm.Generate(prompt, greedy).Tokens.ToArray(), lm));
        }
        foreach (GgmlType type in torchOnly ? [] : new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0 })
        {
            LanguageModel lm = LanguageModel.Load(dir);
            LlamaCppBackend backend = LlamaCppEngine.Use(lm, new LlamaCppOptions { Type = type, Context = 256, MaxRows = 1, Threads = LibTorch.Threads });
            configs.Add(($"Slovo llamacpp {type}", () => lm.Generate(prompt, greedy).Tokens.ToArray(), new Both(lm, backend)));
            var parameters = new ModelParams(backend.File)
            {
                ContextSize = 256, SeqMax = 1, BatchSize = 256, UBatchSize = 256, Threads = LibTorch.Threads, BatchThreads = LibTorch.Threads,
                TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
            };
            var weights = LLamaWeights.LoadFromFile(parameters);
            configs.Add(($"llama.cpp loop {type}", () => OwnLoop(weights, parameters, prompt), weights));
        }
        var times = configs.ToDictionary(c => c.Name, _ => new List<double>());
        var outputs = new Dictionary<string, int[]>();
        foreach ((string name, Func<int[]> round, _) in configs) outputs[name] = round(); // warm-up
        for (int r = 0; r < Rounds; ++r)
            foreach ((string name, Func<int[]> round, _) in configs)
            {
                var clock = Stopwatch.StartNew();
                round();
                times[name].Add(clock.Elapsed.TotalSeconds);
            }
        Console.WriteLine($"(q) batch-1 greedy decoding: {Tokens} tokens after a {prompt.Length}-token prompt, SmolLM2-135M-shaped Llama (random weights), {LibTorch.Threads} threads, median of {Rounds} alternating rounds (prompt included)");
        double Rate(string name) => Tokens / times[name].Order().ElementAt(Rounds / 2);
        foreach ((string name, _, _) in configs) Console.WriteLine($"  {name,-24} {Rate(name),8:F1} tokens/s");
        if (torchOnly)
        {
            foreach ((_, _, IDisposable owner) in configs) owner.Dispose();
            return;
        }
        foreach (string type in new[] { "F32", "F16", "Q8_0" })
        {
            bool same = outputs[$"Slovo llamacpp {type}"].SequenceEqual(outputs[$"llama.cpp loop {type}"]);
            Console.WriteLine($"  Slovo llamacpp / llama.cpp loop at {type}: {Rate($"Slovo llamacpp {type}") / Rate($"llama.cpp loop {type}"):F2} (same tokens: {same})");
        }
        Console.WriteLine($"  Slovo torch fp32 / llama.cpp F32: {Rate("Slovo torch fp32") / Rate("llama.cpp loop F32"):F2}; torch bf16 / llama.cpp F16: {Rate("Slovo torch bf16") / Rate("llama.cpp loop F16"):F2}");
        Console.WriteLine($"  greedy tokens equal, torch fp32 and llama.cpp F32: {outputs["Slovo torch fp32"].SequenceEqual(outputs["llama.cpp loop F32"])}");
        foreach ((_, _, IDisposable owner) in configs) owner.Dispose();
    }

    // llama.cpp alone: the prompt in one llama_decode, then one llama_decode per token, the argmax taken here.
    private static int[] OwnLoop(LLamaWeights weights, ModelParams parameters, int[] prompt)
    {
        using LLamaContext ctx = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; ++i) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        ctx.Decode(batch);
        var result = new int[Tokens];
        for (int n = 0; n < Tokens; ++n)
        {
            ReadOnlySpan<float> logits = ctx.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; ++v) if (logits[v] > logits[best]) best = v;
            result[n] = best;
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

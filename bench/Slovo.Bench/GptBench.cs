using System.Diagnostics;
using System.Globalization;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

/// <summary>GPT benchmarks against PyTorch: (l) a training step, (m) greedy generation with the key/value cache.</summary>
internal static class GptBench
{
    // (l)'s model: 6 layers, 6 heads, 384 wide, vocabulary 8,192 (context 512 so (m)'s 220 positions fit too).
    private static readonly GptConfig Config = new() { Layers = 6, Heads = 6, Width = 384, Positions = 512, VocabSize = 8192 };

    /// <summary>Re-reads the whole text for every new token: generation without the cache.</summary>
    private sealed class Rerun(GptModel model) : IIncrementalModel<List<int>>
    {
        public int VocabSize => model.VocabSize;

        public (List<int> State, float[] Logits) Start(IReadOnlyList<int> prompt) => (new List<int>(prompt), model.Start(prompt).Logits);

        public (List<int> State, float[] Logits) Advance(List<int> state, int token)
        {
            var next = new List<int>(state) { token };
            return (next, model.Start(next).Logits);
        }
    }

    /// <summary>A seeded model, and the Hugging Face folder the peer reads the same weights from.</summary>
    private static (GptModel Model, string Folder) Setup(Peer peer, int threads)
    {
        GptModel model = RandomGenerator.Seeded(1, () => new GptModel(Config));
        string folder = Path.Combine(Path.GetTempPath(), "slovo-bench-gpt");
        model.SavePretrained(folder);
        peer.Ask($"gpt_setup {folder} {threads}");
        return (model, folder);
    }

    public static void Train(string python, string peerScript)
    {
        const int batch = 8, context = 256, steps = 2, rounds = 5;
        int threads = Environment.ProcessorCount;
        LibTorch.Threads = threads;
        using Peer peer = Peer.Start(python, peerScript);
        (GptModel model, _) = Setup(peer, threads);
        using (model)
        {
            model.Train();
            using var opt = new AdamW(model.Parameters(), lr: 3e-4);
            using var random = new RandomGenerator(2);
            using Tensor x = Tensor.RandInt(0, Config.VocabSize, [batch, context], generator: random);
            using Tensor y = Tensor.RandInt(0, Config.VocabSize, [batch * context], generator: random);
            using var use = random.Use(); // dropout masks come from here
            void Step()
            {
                using var scope = DisposeScope.Begin();
                opt.ZeroGrad();
                (Tensor logits, KvCache cache) = model.Forward(x);
                foreach (KeyValue kv in cache.Layers) { kv.Key.Dispose(); kv.Value.Dispose(); } // training keeps no cache
                Tensor loss = Losses.CrossEntropy(logits.Reshape(-1, Config.VocabSize), y);
                logits.Dispose();
                loss.Backward();
                opt.Step();
                loss.ToDouble();
            }
            Step(); // warm-up
            peer.Ask($"gpt_train 1 {batch} {context}");
            (double slovo, double torch) = Rounds.PerStep(rounds, steps, Step,
                n => double.Parse(peer.Ask($"gpt_train {n} {batch} {context}"), CultureInfo.InvariantCulture));
            double s = slovo * 1e3, t = torch * 1e3;
            Console.WriteLine($"(l) one GPT training step (forward, cross-entropy, backward, AdamW 3e-4, dropout 0.1): {Config.Layers} layers, {Config.Heads} heads,");
            Console.WriteLine($"    {Config.Width} wide, vocabulary {Config.VocabSize:N0}, batch {batch} x context {context}; {threads} threads; median of {rounds} alternating rounds of {steps} steps");
            Console.WriteLine($"    Slovo   {s:F1} ms/step ({batch * context / (s / 1e3):N0} tokens/s)");
            Console.WriteLine($"    PyTorch {t:F1} ms/step ({batch * context / (t / 1e3):N0} tokens/s)");
            Console.WriteLine($"    ratio Slovo/PyTorch time = {s / t:F2} (target <= 1.0)");
        }
    }

    public static void Generate(string python, string peerScript)
    {
        const int tokens = 200, rounds = 3;
        int threads = Environment.ProcessorCount;
        LibTorch.Threads = threads;
        using Peer peer = Peer.Start(python, peerScript);
        (GptModel model, _) = Setup(peer, threads);
        using (model)
        {
            model.Eval();
            var rng = new Random(3);
            int[] prompt = Enumerable.Range(0, 20).Select(_ => rng.Next(Config.VocabSize)).ToArray();
            var o = new GenerationOptions { Greedy = true, MaxTokens = tokens };
            IReadOnlyList<int> cachedTokens = Generator.Generate(model, prompt, o).Tokens; // warm-up
            var cached = new List<double>();
            var rerun = new List<double>();
            var torch = new List<double>();
            IReadOnlyList<int> torchTokens = [], rerunTokens = [];
            for (int r = 0; r < rounds; ++r)
            {
                var sw = Stopwatch.StartNew();
                cachedTokens = Generator.Generate(model, prompt, o).Tokens;
                cached.Add(sw.Elapsed.TotalSeconds);
                string[] answer = peer.Ask($"gpt_generate {tokens} {string.Join(',', prompt)}").Split(' ');
                torch.Add(double.Parse(answer[0], CultureInfo.InvariantCulture));
                torchTokens = answer.Skip(1).Select(int.Parse).ToList();
                sw.Restart();
                rerunTokens = Generator.Generate(new Rerun(model), prompt, o).Tokens;
                rerun.Add(sw.Elapsed.TotalSeconds);
            }
            double c = tokens / Rounds.Median(cached), t = tokens / Rounds.Median(torch), u = tokens / Rounds.Median(rerun);
            Console.WriteLine($"(m) greedy generation of {tokens} tokens after a {prompt.Length}-token prompt, the same GPT ({Config.Layers} x {Config.Width}, vocabulary {Config.VocabSize:N0}),");
            Console.WriteLine($"    batch 1, {threads} threads; median of {rounds} alternating rounds; same tokens as PyTorch: {cachedTokens.SequenceEqual(torchTokens)}, as without the cache: {cachedTokens.SequenceEqual(rerunTokens)}");
            Console.WriteLine($"    Slovo, key/value cache     {c:F0} tokens/s");
            Console.WriteLine($"    PyTorch, its cached loop   {t:F0} tokens/s");
            Console.WriteLine($"    Slovo, without the cache   {u:F0} tokens/s");
            Console.WriteLine($"    ratio Slovo/PyTorch throughput = {c / t:F2} (target >= 1.0); cache speed-up = {c / u:F1}x (target >= 5x)");
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Text;

/// <summary>Language-model benchmarks: generation with carried state vs re-running the prefix, and training throughput vs PyTorch.</summary>
internal static class LmBench
{
    // The word LSTM of recipes/arxiv-lm: vocabulary 7,019, embedding 128, hidden 128, one layer.
    private const int Vocab = 7019, Emb = 128, Hidden = 128;

    /// <summary>Re-reads the whole text for every new token, as the course's generation loop did.</summary>
    private sealed class Rerun(RnnLanguageModel model) : IIncrementalModel<List<int>>
    {
        public int VocabSize => model.VocabSize;

        public (List<int> State, float[] Logits) Start(IReadOnlyList<int> prompt) => (new List<int>(prompt), Last(prompt));

        public (List<int> State, float[] Logits) Advance(List<int> state, int token)
        {
            var next = new List<int>(state) { token };
            return (next, Last(next));
        }

        private float[] Last(IReadOnlyList<int> tokens)
        {
            (var state, float[] logits) = model.Start(tokens);
            state.H.Dispose();
            state.C?.Dispose();
            return logits;
        }
    }

    public static void Generate()
    {
        const int tokens = 200, rounds = 3;
        LibTorch.ManualSeed(1);
        using var model = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = Vocab, EmbeddingSize = Emb, HiddenSize = Hidden });
        model.Eval();
        int[] prompt = [1, 50, 60, 70, 80, 90, 100, 110, 120, 130];
        var options = new GenerationOptions { Greedy = true, MaxTokens = tokens };
        Generator.Generate(model, prompt, options with { MaxTokens = 10 }); // warm-up
        var carried = new List<double>();
        var rerun = new List<double>();
        IReadOnlyList<int> a = [], b = [];
        for (int r = 0; r < rounds; ++r)
        {
            var sw = Stopwatch.StartNew();
            a = Generator.Generate(model, prompt, options).Tokens;
            carried.Add(sw.Elapsed.TotalSeconds);
            sw.Restart();
            b = Generator.Generate(new Rerun(model), prompt, options).Tokens;
            rerun.Add(sw.Elapsed.TotalSeconds);
        }
        double c = Rounds.Median(carried), p = Rounds.Median(rerun);
        Console.WriteLine($"(h) generating {tokens} tokens (greedy) after a {prompt.Length}-token prompt with the word LSTM (vocab {Vocab}, emb {Emb}, hidden {Hidden}); median of {rounds} alternating rounds");
        Console.WriteLine($"    state carried        {c * 1e3:F1} ms ({tokens / c:N0} tokens/s)");
        Console.WriteLine($"    prefix re-run        {p * 1e3:F1} ms ({tokens / p:N0} tokens/s); same tokens: {a.SequenceEqual(b)}");
        Console.WriteLine($"    speed-up carried/re-run = {p / c:F1}x (target >= 10x)");
    }

    public static void Train(string python, string peerScript)
    {
        const int sequences = 128, batch = 32, bptt = 128, rounds = 7;
        int threads = Environment.ProcessorCount;
        LibTorch.Threads = threads;
        var rng = new Random(7);
        // Texts of 40 to 250 tokens wrapped in SOS (1) … EOS (2); 0 is padding.
        var train = Enumerable.Range(0, sequences).Select(_ => (int[])[1, .. Enumerable.Range(0, rng.Next(40, 251)).Select(_ => rng.Next(4, Vocab)), 2]).ToList();
        var valid = train.Take(2).ToList();
        string path = Path.Combine(Path.GetTempPath(), $"slovo-bench-lm-{Environment.ProcessId}.txt");
        File.WriteAllLines(path, train.Select(s => string.Join(' ', s)));
        var options = new RecurrentLmTrainingOptions { Epochs = 1, Patience = 0, BatchSize = batch, Bptt = bptt, LearningRate = 2e-3, Clip = 1.0 };
        var modelOptions = new RnnLanguageModelOptions { VocabSize = Vocab, EmbeddingSize = Emb, HiddenSize = Hidden, Dropout = 0.2 };
        var vocab = new WordVocabulary([Vocabulary.Pad, Vocabulary.Sos, Vocabulary.Eos, Vocabulary.Unk, .. Enumerable.Range(4, Vocab - 4).Select(i => $"w{i}")], lowercase: false);
        using Peer torch = Peer.Start(python, peerScript);
        var slovo = new List<double>();
        var peer = new List<double>();
        try
        {
            for (int r = 0; r <= rounds; ++r) // round 0 warms both up and is not counted
            {
                LibTorch.ManualSeed(0);
                using var model = new RnnLanguageModel(modelOptions);
                var sw = Stopwatch.StartNew();
                LmTrainingResult result = new RecurrentLmTrainer().Train(model, vocab, train, valid, 100, options);
                double s = sw.Elapsed.TotalSeconds;
                long tokens = train.Sum(x => x.Length - 1L);
                string[] answer = torch.Ask($"lm_train {path} {Vocab} {Emb} {Hidden} {batch} {bptt} {threads}").Split(' ');
                double t = double.Parse(answer[0], CultureInfo.InvariantCulture);
                long torchTokens = long.Parse(answer[1], CultureInfo.InvariantCulture);
                if (torchTokens != tokens) throw new InvalidOperationException($"token counts differ: {tokens} vs {torchTokens}");
                if (r == 0) continue;
                slovo.Add(tokens / s);
                peer.Add(torchTokens / t);
            }
        }
        finally { File.Delete(path); }
        double a = Rounds.Median(slovo), b = Rounds.Median(peer);
        Console.WriteLine($"(i) one training epoch of the word LSTM LM (vocab {Vocab}, emb {Emb}, hidden {Hidden}, dropout 0.2): {sequences} texts of 42-252 tokens,");
        Console.WriteLine($"    batch {batch} bucketed by length, truncated back-propagation every {bptt} tokens, clip 1.0, Adam; {threads} threads; median of {rounds} alternating rounds");
        Console.WriteLine($"    Slovo (RecurrentLmTrainer.Train, validation included) {a:N0} tokens/s");
        Console.WriteLine($"    PyTorch (the same loop in Python)            {b:N0} tokens/s");
        Console.WriteLine($"    throughput ratio Slovo/PyTorch = {a / b:F2} (target >= 1.0)");
    }
}

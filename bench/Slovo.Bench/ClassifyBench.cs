using System.Diagnostics;
using System.Globalization;
using Slovo.Classification;
using Slovo.Torch;
using Slovo.Torch.NN;

/// <summary>Classification benchmarks: the hand-written LSTM vs libtorch's fused one, and a training epoch vs PyTorch.</summary>
internal static class ClassifyBench
{
    private const int Vocab = 20_000, Emb = 100, Hidden = 64, Batch = 64;

    public static void HandVsFused()
    {
        const int steps = 160, rounds = 5;
        LibTorch.ManualSeed(1);
        using var fused = new LSTM(Emb, Hidden, batchFirst: true);
        using var hand = new HandLstm(Emb, Hidden);
        hand.LoadStateDict(fused.StateDict());
        using Tensor x = Tensor.RandN(Batch, steps, Emb);
        using Tensor lengths = Tensor.Full([Batch], steps, ScalarType.Int64);
        double Time(Action run)
        {
            run(); // warm-up
            var times = new List<double>();
            for (int r = 0; r < rounds; ++r)
            {
                var sw = Stopwatch.StartNew();
                run();
                times.Add(sw.Elapsed.TotalSeconds);
            }
            return times.Order().ElementAt(rounds / 2);
        }
        double f = Time(() =>
        {
            using var scope = DisposeScope.Begin();
            Tensor input = x.Detach().RequiresGrad_();
            fused.Forward(input, null, lengths).Output.Sum().Backward();
        });
        double u = Time(() =>
        {
            using var scope = DisposeScope.Begin();
            Tensor input = x.Detach().RequiresGrad_();
            fused.Forward(input).Output.Sum().Backward();
        });
        double h = Time(() =>
        {
            using var scope = DisposeScope.Begin();
            Tensor input = x.Detach().RequiresGrad_();
            hand.Forward(input, lengths).Output.Sum().Backward();
        });
        Console.WriteLine($"(j) LSTM forward + backward, batch {Batch} x {steps} steps, input {Emb}, hidden {Hidden}; median of {rounds}");
        Console.WriteLine($"    fused (libtorch's LSTM kernel)  {f * 1e3:F1} ms with lengths (packed), {u * 1e3:F1} ms without");
        Console.WriteLine($"    hand-written (HandLstm cell)    {h * 1e3:F1} ms");
        Console.WriteLine($"    time ratio hand-written / fused = {h / f:F2}");
    }

    public static void Train(string python, string peerScript)
    {
        const int texts = 1024, rounds = 3;
        int threads = Environment.ProcessorCount;
        LibTorch.Threads = threads;
        var rng = new Random(3);
        var ids = Enumerable.Range(0, texts).Select(_ => Enumerable.Range(0, rng.Next(40, 161)).Select(_ => rng.Next(4, Vocab)).ToArray()).ToList();
        var labels = ids.Select(_ => rng.Next(2)).ToList();
        var train = new EncodedSet(ids, labels);
        var valid = new EncodedSet(ids.Take(8).ToList(), labels.Take(8).ToList());
        string path = Path.Combine(Path.GetTempPath(), $"slovo-bench-cls-{Environment.ProcessId}.txt");
        File.WriteAllLines(path, ids.Select((s, i) => labels[i] + " " + string.Join(' ', s)));
        var options = new ClassifierOptions { VocabSize = Vocab, Encoder = EncoderKind.Lstm, EmbeddingSize = Emb, HiddenSize = Hidden, Dropout = 0.3 };
        var training = new ClassifierTrainingOptions { Epochs = 1, Patience = 0, BatchSize = Batch, LearningRate = 1e-3, Clip = 5 };
        using Peer torch = Peer.Start(python, peerScript);
        var slovo = new List<double>();
        var peer = new List<double>();
        try
        {
            for (int r = 0; r <= rounds; ++r) // round 0 warms both up
            {
                LibTorch.ManualSeed(0);
                using var model = new TextClassifier(options);
                var sw = Stopwatch.StartNew();
                ClassifierTrainer.Train(model, train, valid, training);
                double s = sw.Elapsed.TotalSeconds;
                string[] answer = torch.Ask($"cls_train {path} {Vocab} {Emb} {Hidden} {Batch} {threads}").Split(' ');
                if (r == 0) continue;
                slovo.Add(texts / s);
                peer.Add(int.Parse(answer[1], CultureInfo.InvariantCulture) / double.Parse(answer[0], CultureInfo.InvariantCulture));
            }
        }
        finally { File.Delete(path); }
        double a = slovo.Order().ElementAt(rounds / 2), b = peer.Order().ElementAt(rounds / 2);
        Console.WriteLine($"(k) one training epoch of the LSTM sentiment classifier (vocab {Vocab}, emb {Emb}, hidden {Hidden}, final state): {texts} texts of 40-160 tokens,");
        Console.WriteLine($"    batch {Batch} bucketed by length, packed sequences, clip 5, Adam; {threads} threads; median of {rounds} alternating rounds");
        Console.WriteLine($"    Slovo (ClassifierTrainer.Train, validation included) {a:N0} texts/s");
        Console.WriteLine($"    PyTorch (the same loop in Python)                    {b:N0} texts/s");
        Console.WriteLine($"    throughput ratio Slovo/PyTorch = {a / b:F2} (target >= 1.0)");
    }
}

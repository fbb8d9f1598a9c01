using Slovo.Embeddings;
using Slovo.Retrieval;
using Slovo.Evaluation;

/// <summary>
/// Seeded quality probes with the settings of the tests in tests/Slovo.Tests, printing the figures the tests only bound:
/// OOV models on held-out GloVe words, DSSM on word-disjoint pairs, and the reranker on word-overlap duplicates.
/// </summary>
internal static class Probes
{
    public static void Run(string root)
    {
        string glove = Slovo.SharedData.Data("glove", "glove.6B.50d.top5k.txt");
        KeyedVectors kv = KeyedVectors.LoadGlove(glove);
        var rng = new Random(9);
        var held = kv.Words.Where(w => w.Length >= 5 && w.All(char.IsLetter)).OrderBy(_ => rng.Next()).Take(300).ToList();
        void Report(string name, Func<string, float[]?> vector)
        {
            int wins = 0, n = 0;
            double own = 0;
            for (int i = 0; i < held.Count; ++i)
            {
                float[]? p = vector(held[i]);
                if (p is null) continue;
                double o = Cos(p, kv[held[i]]), x = Cos(p, kv[held[(i + 1) % held.Count]]);
                own += o;
                if (o > x) ++wins;
                ++n;
            }
            Console.WriteLine($"{name}: own vector closer in {wins}/{n} ({100.0 * wins / n:F1}%), mean cosine to own vector {own / n:F3}");
        }
        foreach ((OovLoss loss, int epochs) in new[] { (OovLoss.Cosine, 0), (OovLoss.Cosine, 15), (OovLoss.Mse, 15) })
            using (var m = TrigramOovModel.Train(kv, loss, epochs: epochs, seed: 1, holdOut: held.ToHashSet()))
                Report($"trigram OOV, {loss}, {epochs} epochs", m.Vector);
        foreach ((int epochs, int hidden, double lr) in new[] { (0, 128, 3e-3), (15, 128, 3e-3), (12, 64, 6e-3) })
            using (var m = CharLstmOovModel.Train(kv, OovLoss.Cosine, epochs: epochs, lr: lr, hidden: hidden, seed: 1, holdOut: held.ToHashSet()))
                Report($"char-biLSTM OOV, cosine, {epochs} epochs, hidden {hidden}", m.Vector);

        // DSSM on "translation" pairs (as DssmModelTests).
        var r = new Random(5);
        (IReadOnlyList<string>, IReadOnlyList<string>) Pair()
        {
            int[] c = Enumerable.Range(0, 3).Select(_ => r.Next(200)).ToArray();
            return (c.Select(i => "x" + i).ToList(), c.Reverse().Select(i => "y" + i).ToList());
        }
        var train = Enumerable.Range(0, 2000).Select(_ => Pair()).ToList();
        var test = Enumerable.Range(0, 150).Select(_ => Pair()).ToList();
        var pool = test.SelectMany(p => new[] { p.Item1, p.Item2 }).ToList();
        var cases = RankingEvaluation.BuildCases(Enumerable.Range(0, test.Count).Select(i => (2 * i, 2 * i + 1)).ToList(), pool.Count, 99, seed: 1);
        var options = new DssmOptions { Dimension = 64, Epochs = 6, BatchSize = 64, LearningRate = 1e-2, Seed = 2 };
        using (var u = DssmModel.Create(train, options))
        using (var t = DssmModel.Train(train, options))
            Console.WriteLine($"DSSM on word-disjoint held-out pairs: Hits@10 untrained {RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(u.Encode(pool), 64, cases), 10):F3}, trained {RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(t.Encode(pool), 64, cases), 10):F3}");

        // Reranker on word-overlap duplicates with a random first stage (as PairRerankerTests).
        var q = new Random(3);
        const int dim = 16;
        List<string> Words(int n) => Enumerable.Range(0, n).Select(_ => "w" + q.Next(300)).ToList();
        var tokens = new List<IReadOnlyList<string>>();
        var pairs = new List<(int, int)>();
        for (int i = 0; i < 400; ++i)
        {
            var w = Words(3);
            tokens.Add(w);
            tokens.Add(new List<string> { w[0], w[2], "w" + q.Next(300) });
            pairs.Add((2 * i, 2 * i + 1));
        }
        float[] vectors = Enumerable.Range(0, tokens.Count * dim).Select(_ => (float)(q.NextDouble() * 2 - 1)).ToArray();
        PairSide Side(int i) => new(tokens[i], vectors.AsSpan(i * dim, dim).ToArray());
        var training = new List<(PairSide, PairSide, bool)>();
        foreach ((int a, int b) in pairs.Take(300))
        {
            training.Add((Side(a), Side(b), true));
            training.Add((Side(a), Side(2 * q.Next(300) + 1), false));
        }
        using var rr = PairReranker.Train(training, epochs: 20, lr: 3e-3, seed: 1);
        var heldPairs = pairs.Skip(300).Select(p => (p.Item1 - 600, p.Item2 - 600)).ToList();
        var ht = tokens.Skip(600).ToList();
        float[] hv = vectors[(600 * dim)..];
        var rc = RankingEvaluation.BuildCases(heldPairs, ht.Count, 99, seed: 4);
        Console.WriteLine($"reranker on word-overlap duplicates: Hits@1 first stage {RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(hv, dim, rc), 1):F3}, reranked {RankingEvaluation.HitsAtK(rr.Rerank(ht, hv, dim, rc, 100), 1):F3}");
    }

    private static double Cos(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double d = 0, na = 0, nb = 0;
        for (int k = 0; k < a.Length; ++k) { d += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
        return d / Math.Sqrt(na * nb + 1e-12);
    }
}

using Slovo.Retrieval;
using Slovo.Evaluation;

namespace Slovo.Tests;

public class PairRerankerTests
{
    /// <summary>
    /// Questions of three words from 300; a duplicate shares two of its query's words. The first stage has random
    /// vectors (chance ranking); the reranker, trained on other questions, must find duplicates from the fused overlap.
    /// </summary>
    [Fact]
    public void RerankingLiftsDuplicatesTheFirstStageMissed()
    {
        var rng = new Random(3);
        const int dim = 16;
        List<string> Words(int n) => Enumerable.Range(0, n).Select(_ => "w" + rng.Next(300)).ToList();
        var tokens = new List<IReadOnlyList<string>>();
        var pairs = new List<(int, int)>();
        for (int i = 0; i < 400; ++i)
        {
            var q = Words(3);
            tokens.Add(q);
            tokens.Add(new List<string> { q[0], q[2], "w" + rng.Next(300) });
            pairs.Add((2 * i, 2 * i + 1));
        }
        float[] vectors = Enumerable.Range(0, tokens.Count * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        PairSide Side(int i) => new(tokens[i], vectors.AsSpan(i * dim, dim).ToArray());
        var training = new List<(PairSide, PairSide, bool)>();
        foreach ((int a, int b) in pairs.Take(300))
        {
            training.Add((Side(a), Side(b), true));
            training.Add((Side(a), Side(2 * rng.Next(300) + 1), false));
        }
        using PairReranker reranker = PairReranker.Train(training, epochs: 20, lr: 3e-3, seed: 1);
        // Evaluation on the 100 held-out pairs: negatives are other held-out questions.
        var held = pairs.Skip(300).Select(p => (p.Item1 - 600, p.Item2 - 600)).ToList();
        var heldTokens = tokens.Skip(600).ToList();
        float[] heldVectors = vectors[(600 * dim)..];
        List<RankingCase> cases = RankingEvaluation.BuildCases(held, heldTokens.Count, 99, seed: 4);
        double first = RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(heldVectors, dim, cases), 1);
        double reranked = RankingEvaluation.HitsAtK(reranker.Rerank(heldTokens, heldVectors, dim, cases, topK: 100), 1);
        Assert.True(first < 0.1, $"first stage Hits@1 {first:F3} should be near chance (0.01)");
        Assert.True(reranked > 0.8, $"Hits@1 first stage {first:F3}, reranked {reranked:F3}");
        // Reranking only the top 5 can only help the duplicates the first stage put there.
        int[] top5 = reranker.Rerank(heldTokens, heldVectors, dim, cases, topK: 5);
        int[] ranks = RankingEvaluation.Ranks(heldVectors, dim, cases);
        for (int i = 0; i < cases.Count; ++i)
            if (ranks[i] > 5) Assert.Equal(ranks[i], top5[i]);
    }

    [Fact]
    public void TrainingNeedsBothKindsOfPair()
    {
        var side = new PairSide(["a"], [1f, 0f]);
        Assert.Throws<ArgumentException>(() => PairReranker.Train([(side, side, true)]));
    }
}

using Slovo.Embeddings;

namespace Slovo.Evaluation;

/// <summary>One test case of the ranking task: a query, its true duplicate, and negative candidates (indices into a pool).</summary>
public sealed record RankingCase(int Query, int Duplicate, int[] Negatives);

/// <summary>
/// Scores duplicate ranking as the course did: for each query, the rank of its duplicate among the duplicate plus the
/// negatives by cosine similarity (1 + the number of negatives scoring higher), then Hits@K, DCG@K and MRR over all
/// queries. Similarities are computed in parallel with SIMD over a pool of vectors, without materialising candidates.
/// </summary>
public static class RankingEvaluation
{
    /// <summary>The rank (1-based) of each case's duplicate. <paramref name="pool"/> is row-major (M, D); rows need not be unit length.</summary>
    public static int[] Ranks(ReadOnlySpan<float> pool, int dimension, IReadOnlyList<RankingCase> cases)
    {
        if (dimension <= 0 || pool.Length % dimension != 0) throw new ArgumentException($"the pool of {pool.Length} values is not a whole number of {dimension}-d rows", nameof(pool));
        int m = pool.Length / dimension;
        float[] unit = pool.ToArray();
        Parallel.For(0, m, i => VectorMath.Normalize(unit.AsSpan(i * dimension, dimension)));
        var ranks = new int[cases.Count];
        Parallel.For(0, cases.Count, qi =>
        {
            RankingCase c = cases[qi];
            Check(c.Query, m); Check(c.Duplicate, m);
            ReadOnlySpan<float> q = unit.AsSpan(c.Query * dimension, dimension);
            float target = VectorMath.Dot(q, unit.AsSpan(c.Duplicate * dimension, dimension));
            int higher = 0;
            foreach (int n in c.Negatives)
            {
                Check(n, m);
                if (VectorMath.Dot(q, unit.AsSpan(n * dimension, dimension)) > target) ++higher;
            }
            ranks[qi] = higher + 1;
        });
        return ranks;
    }

    private static void Check(int index, int m)
    {
        if ((uint)index >= (uint)m) throw new ArgumentOutOfRangeException(nameof(index), index, $"outside the pool of {m} vectors");
    }

    /// <summary>The share of duplicates ranked within the top <paramref name="k"/>.</summary>
    public static double HitsAtK(IReadOnlyList<int> ranks, int k) => ranks.Count == 0 ? 0 : ranks.Count(r => r <= k) / (double)ranks.Count;

    /// <summary>Mean of 1/log2(1 + rank) over duplicates ranked within the top <paramref name="k"/> (0 for the rest).</summary>
    public static double DcgAtK(IReadOnlyList<int> ranks, int k) => ranks.Count == 0 ? 0 : ranks.Sum(r => r <= k ? 1 / Math.Log2(1 + r) : 0) / ranks.Count;

    /// <summary>Mean reciprocal rank.</summary>
    public static double Mrr(IReadOnlyList<int> ranks) => ranks.Count == 0 ? 0 : ranks.Average(r => 1.0 / r);

    /// <summary>
    /// The course's evaluation layout from duplicate pairs: each pair (a, b) becomes a case with a as query, b as
    /// duplicate and <paramref name="negatives"/> other questions from the pool drawn with a fixed seed (never a or b).
    /// </summary>
    public static List<RankingCase> BuildCases(IReadOnlyList<(int A, int B)> duplicatePairs, int poolSize, int negatives, int seed)
    {
        if (negatives > poolSize - 2) throw new ArgumentOutOfRangeException(nameof(negatives), negatives, $"the pool of {poolSize} questions cannot give that many negatives");
        var rng = new Random(seed);
        var cases = new List<RankingCase>(duplicatePairs.Count);
        foreach ((int a, int b) in duplicatePairs)
        {
            var chosen = new HashSet<int>();
            while (chosen.Count < negatives)
            {
                int n = rng.Next(poolSize);
                if (n != a && n != b) chosen.Add(n);
            }
            cases.Add(new RankingCase(a, b, chosen.Order().ToArray()));
        }
        return cases;
    }
}

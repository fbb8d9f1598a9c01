using Slovo.Training;
using Slovo.Embeddings;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Evaluation;

namespace Slovo.Retrieval;

// Shapes: B pairs in a batch, F pair features (2·D + 3), H hidden size.

/// <summary>One side of a pair: its tokens and its sentence vector.</summary>
public readonly record struct PairSide(IReadOnlyList<string> Tokens, float[] Vector);

/// <summary>
/// An early-fusion pair scorer used to rerank the first stage's top candidates: the two questions are fused before any
/// scoring (|u − v| and u ⊙ v of their unit sentence vectors, their cosine, and word-overlap counts) and an MLP trained
/// with binary cross-entropy on duplicate / non-duplicate pairs scores the fused pair.
/// </summary>
public sealed class PairReranker : IDisposable
{
    private readonly Sequential _mlp;
    private readonly int _dim;

    private PairReranker(int dim, int hidden)
    {
        _dim = dim;
        _mlp = new Sequential(new Linear(2 * dim + 3, hidden), Activation.ReLU(), new Linear(hidden, 1));
    }

    /// <summary>The fused features of one pair (length 2·D + 3), written into <paramref name="destination"/>.</summary>
    public static void Fuse(PairSide a, PairSide b, Span<float> destination)
    {
        int d = a.Vector.Length;
        float[] u = (float[])a.Vector.Clone(), v = (float[])b.Vector.Clone();
        VectorMath.Normalize(u);
        VectorMath.Normalize(v);
        for (int k = 0; k < d; ++k)
        {
            destination[k] = Math.Abs(u[k] - v[k]);
            destination[d + k] = u[k] * v[k];
        }
        var sa = new HashSet<string>(a.Tokens, StringComparer.Ordinal);
        var sb = new HashSet<string>(b.Tokens, StringComparer.Ordinal);
        int shared = sa.Count(sb.Contains), union = sa.Count + sb.Count - shared;
        destination[2 * d] = VectorMath.Dot(u, v);
        destination[2 * d + 1] = union == 0 ? 0 : (float)shared / union;
        destination[2 * d + 2] = MathF.Log(1 + shared);
    }

    /// <summary>Trains on labelled pairs (true = duplicate) with Adam and BCE, in shuffled batches (seeded); <paramref name="onProgress"/> sees every batch.</summary>
    public static PairReranker Train(IReadOnlyList<(PairSide A, PairSide B, bool Duplicate)> pairs, int epochs = 10, int hidden = 64,
                                     double lr = 1e-3, int batchSize = 128, int seed = 0, Action<TrainingProgress>? onProgress = null)
    {
        if (pairs.Count == 0) throw new ArgumentException("no training pairs", nameof(pairs));
        if (!pairs.Any(p => p.Duplicate) || pairs.All(p => p.Duplicate))
            throw new ArgumentException("training needs both duplicate and non-duplicate pairs", nameof(pairs));
        int dim = pairs[0].A.Vector.Length, f = 2 * dim + 3;
        var features = new float[pairs.Count * f];
        Parallel.For(0, pairs.Count, i => Fuse(pairs[i].A, pairs[i].B, features.AsSpan(i * f, f)));
        float[] labels = pairs.Select(p => p.Duplicate ? 1f : 0f).ToArray();
        PairReranker model = RandomGenerator.Seeded((ulong)seed, () => new PairReranker(dim, hidden));
        using var opt = new Adam(model._mlp.Parameters(), lr: lr);
        using var loop = new TrainingLoop(model._mlp, opt, new TrainingOptions { Epochs = epochs, Seed = seed }) { OnProgress = onProgress };
        new ShuffledLossTask(pairs.Count, batchSize, seed, batch =>
        {
            var x = new float[batch.Length * f];
            var y = new float[batch.Length];
            for (int b = 0; b < batch.Length; ++b)
            {
                features.AsSpan(batch[b] * f, f).CopyTo(x.AsSpan(b * f));
                y[b] = labels[batch[b]];
            }
            Tensor logits = model._mlp.Forward(Tensor.From(x, batch.Length, f)).Reshape(-1);   // (B)
            return Losses.BCEWithLogits(logits, Tensor.From(y));
        }).Run(loop);
        return model;
    }

    /// <summary>Duplicate scores (logits) of many pairs.</summary>
    public float[] Score(IReadOnlyList<(PairSide A, PairSide B)> pairs)
    {
        int f = 2 * _dim + 3;
        var x = new float[pairs.Count * f];
        Parallel.For(0, pairs.Count, i => Fuse(pairs[i].A, pairs[i].B, x.AsSpan(i * f, f)));
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        return _mlp.Forward(Tensor.From(x, pairs.Count, f)).Reshape(-1).ToArray<float>();
    }

    /// <summary>
    /// Ranks after reranking: the first stage orders each case's candidates by cosine of <paramref name="vectors"/>;
    /// its top <paramref name="topK"/> are reordered by this scorer. A duplicate outside the top K keeps its first-stage rank.
    /// </summary>
    public int[] Rerank(IReadOnlyList<IReadOnlyList<string>> tokens, float[] vectors, int dimension, IReadOnlyList<RankingCase> cases, int topK)
    {
        if (dimension != _dim) throw new ArgumentException($"the reranker was trained on {_dim}-d vectors, got {dimension}", nameof(dimension));
        PairSide Side(int i) => new(tokens[i], vectors.AsSpan(i * dimension, dimension).ToArray());
        float[] unit = (float[])vectors.Clone(); // unit vectors computed once for the first stage
        for (int i = 0; i < unit.Length / dimension; ++i) VectorMath.Normalize(unit.AsSpan(i * dimension, dimension));
        var ranks = new int[cases.Count];
        for (int q = 0; q < cases.Count; ++q)
        {
            RankingCase c = cases[q];
            PairSide query = Side(c.Query);
            var candidates = c.Negatives.Prepend(c.Duplicate).ToArray();
            var firstStage = candidates.Select(k => (Id: k, Sim: VectorMath.Dot(unit.AsSpan(c.Query * dimension, dimension), unit.AsSpan(k * dimension, dimension))))
                .OrderByDescending(x => x.Sim).ThenBy(x => x.Id == c.Duplicate ? 0 : 1).Select(x => x.Id).ToList(); // ties as in RankingEvaluation.Ranks
            int first = firstStage.IndexOf(c.Duplicate) + 1;
            if (first > topK) { ranks[q] = first; continue; }
            var top = firstStage.Take(topK).ToList();
            float[] scores = Score(top.Select(k => (query, Side(k))).ToList());
            float dupScore = scores[top.IndexOf(c.Duplicate)];
            ranks[q] = 1 + scores.Count(s => s > dupScore);
        }
        return ranks;
    }

    /// <inheritdoc />
    public void Dispose() => _mlp.Dispose();
}

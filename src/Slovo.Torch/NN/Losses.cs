using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>How a loss reduces over elements.</summary>
public enum Reduction
{
    /// <summary>Per-element losses.</summary>
    None = 0,
    /// <summary>Mean (over non-ignored targets for cross-entropy).</summary>
    Mean = 1,
    /// <summary>Sum.</summary>
    Sum = 2,
}

/// <summary>Loss functions with PyTorch's semantics.</summary>
public static class Losses
{
    private static readonly Op s_ce = new("cross_entropy_loss"), s_mse = new("mse_loss");
    private static readonly Op s_bce = new("binary_cross_entropy_with_logits"), s_cosEmb = new("cosine_embedding_loss");
    private static readonly Op s_nll = new("nll_loss");

    /// <summary>
    /// Cross-entropy of logits (N, C) or (N, C, d...) against class indices; targets equal to
    /// <paramref name="ignoreIndex"/> contribute nothing (and are left out of the mean).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, long ignoreIndex = -100, double labelSmoothing = 0,
                                      Reduction reduction = Reduction.Mean, Tensor? weight = null)
    {
        if (labelSmoothing is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "must be in [0, 1]");
        return s_ce.Call(logits, target, weight, (long)reduction, ignoreIndex, labelSmoothing);
    }

    /// <summary>Negative log-likelihood of log-probabilities.</summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, long ignoreIndex = -100, Reduction reduction = Reduction.Mean) =>
        s_nll.Call(logProbs, target, NativeArg.None, (long)reduction, ignoreIndex);

    /// <summary>Mean squared error.</summary>
    public static Tensor MSE(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        s_mse.Call(input, target, (long)reduction);

    /// <summary>Binary cross-entropy on logits (numerically stable).</summary>
    public static Tensor BCEWithLogits(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, Tensor? posWeight = null) =>
        s_bce.Call(logits, target, NativeArg.None, posWeight, (long)reduction);

    /// <summary>Cosine embedding loss: 1 − cos for target 1, max(0, cos − margin) for target −1.</summary>
    public static Tensor CosineEmbedding(Tensor x1, Tensor x2, Tensor target, double margin = 0, Reduction reduction = Reduction.Mean) =>
        s_cosEmb.Call(x1, x2, target, margin, (long)reduction);

    /// <summary>1 − cos(x1, x2) along the last dimension, reduced: the cosine regression loss.</summary>
    public static Tensor Cosine(Tensor x1, Tensor x2, Reduction reduction = Reduction.Mean)
    {
        using var scope = DisposeScope.Begin();
        Tensor loss = 1 - Tensor.CosineSimilarity(x1, x2, -1);
        Tensor r = reduction switch
        {
            Reduction.Mean => loss.Mean(),
            Reduction.Sum => loss.Sum(),
            _ => loss,
        };
        return scope.Keep(r);
    }

    /// <summary>
    /// The normalized temperature-scaled cross-entropy loss (NT-Xent) with in-batch negatives, in both directions: for pairs
    /// (q_i, d_i) of query embeddings <paramref name="q"/> (B, D) and their positives <paramref name="d"/> (B, D),
    /// logits = cos(q_i, d_j) / <paramref name="temperature"/>, and the loss is the mean of the cross-entropy of each row
    /// (q → d) and each column (d → q) against the diagonal.
    /// </summary>
    public static Tensor NtXent(Tensor q, Tensor d, double temperature)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(d);
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        if (q.Dim != 2 || !q.Shape.SequenceEqual(d.Shape))
            throw new ArgumentException($"q and d must both be (B, D), got [{string.Join(", ", q.Shape)}] and [{string.Join(", ", d.Shape)}]");
        using var scope = DisposeScope.Begin();
        Tensor qn = q / q.Norm(2, [1], keepDim: true).Clamp(min: 1e-12);       // (B, D)
        Tensor dn = d / d.Norm(2, [1], keepDim: true).Clamp(min: 1e-12);       // (B, D)
        Tensor logits = qn.MM(dn.T()) / temperature;                             // (B, B)
        Tensor target = Tensor.Arange(0, q.Size(0), device: q.Device);
        Tensor loss = (CrossEntropy(logits, target) + CrossEntropy(logits.T(), target)) / 2;
        return scope.Keep(loss);
    }
}

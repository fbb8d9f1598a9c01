using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Retrieval;

// Shapes: B pairs in a batch, D embedding size.

/// <summary>
/// The normalized temperature-scaled cross-entropy loss (NT-Xent) with in-batch negatives, in both directions as the
/// course wrote it for DSSM: for pairs (q_i, d_i), logits = cos(q_i, d_j) / α, and the loss is the mean of the
/// cross-entropy of each row (q → d) and each column (d → q) against the diagonal.
/// </summary>
public static class NtXent
{
    /// <summary>The loss for query embeddings <paramref name="q"/> (B, D) and their positives <paramref name="d"/> (B, D).</summary>
    public static Tensor Loss(Tensor q, Tensor d, double temperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        if (q.Dim != 2 || !q.Shape.SequenceEqual(d.Shape))
            throw new ArgumentException($"q and d must both be (B, D), got [{string.Join(", ", q.Shape)}] and [{string.Join(", ", d.Shape)}]");
        using var scope = DisposeScope.Begin();
        Tensor qn = q / q.Norm(2, [1], keepDim: true).Clamp(min: 1e-12);       // (B, D)
        Tensor dn = d / d.Norm(2, [1], keepDim: true).Clamp(min: 1e-12);       // (B, D)
        Tensor logits = qn.MM(dn.T()) / temperature;                             // (B, B)
        Tensor target = Tensor.Arange(0, q.Size(0), device: q.Device);
        Tensor loss = (Losses.CrossEntropy(logits, target) + Losses.CrossEntropy(logits.T(), target)) / 2;
        return scope.Keep(loss);
    }
}

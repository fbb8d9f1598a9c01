namespace Slovo.Torch.NN;

/// <summary>
/// Root-mean-square normalisation over the last dimension: x / √(mean(x²) + ε), times a learned scale. The statistic is
/// taken in float32 whatever the input's type. <see cref="PlusOne"/> gives Gemma's form, whose stored weight w scales by
/// (1 + w) and starts at zero; otherwise the weight scales directly and starts at one (Llama's form).
/// </summary>
public sealed class RmsNorm : Module<Tensor, Tensor>
{
    /// <summary>A norm over <paramref name="size"/> channels.</summary>
    public RmsNorm(long size, double eps = 1e-6, bool plusOne = false)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "must be positive");
        (Eps, PlusOne) = (eps, plusOne);
        Weight = RegisterParameter("weight", plusOne ? Tensor.Zeros(size) : Tensor.Ones(size));
    }

    /// <summary>The scale, shape (size).</summary>
    public Tensor Weight { get; }

    /// <summary>Added to the mean square.</summary>
    public double Eps { get; }

    /// <summary>Whether the output is scaled by (1 + weight) (Gemma) rather than by weight.</summary>
    public bool PlusOne { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        using var scope = DisposeScope.Begin();
        ScalarType dtype = input.DType;
        Tensor x = dtype == ScalarType.Float32 ? input : input.To(ScalarType.Float32);
        Tensor normed = x.Mul(x.Square().Mean(-1, keepDim: true).Add(Eps).Rsqrt());
        Tensor result = PlusOne
            ? normed.Mul(Weight.To(ScalarType.Float32).Add(1)).To(dtype)                       // Gemma scales in float32, then casts
            : Weight.Mul(normed.To(Weight.DType)).To(dtype);                                   // Llama casts, then scales
        return result.MoveToOuterScope();
    }
}

using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>y = x Wᵀ + b. Weight (out, in), bias (out); initialised as PyTorch does.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    private static readonly Op s_linear = new("linear");

    /// <summary>Weight, shape (out, in).</summary>
    public Tensor Weight { get; }

    /// <summary>Bias, shape (out), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Creates the layer with U(−1/√in, 1/√in) weights and bias.</summary>
    public Linear(long inFeatures, long outFeatures, bool bias = true) : this(inFeatures, outFeatures, bias, ScalarType.Float32) { }

    /// <summary>Creates the layer with its weight and bias in <paramref name="dtype"/> (made and initialised in that type, no float32 copy).</summary>
    public Linear(long inFeatures, long outFeatures, bool bias, ScalarType dtype)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear needs positive sizes, got in={inFeatures}, out={outFeatures}");
        Weight = RegisterParameter("weight", Tensor.Empty([outFeatures, inFeatures], dtype));
        Init.KaimingUniform_(Weight, a: Math.Sqrt(5));
        if (bias)
        {
            double bound = 1 / Math.Sqrt(inFeatures);
            Bias = RegisterParameter("bias", Init.Uniform_(Tensor.Empty([outFeatures], dtype), -bound, bound));
        }
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional(input, Weight, Bias);

    /// <summary>The functional form.</summary>
    public static Tensor Functional(Tensor input, Tensor weight, Tensor? bias = null) => s_linear.Call(input, weight, bias);
}

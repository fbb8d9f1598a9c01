using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>Zeroes elements with probability p during training and scales the rest by 1/(1−p).</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    private static readonly Op s_dropout = new("dropout");

    /// <summary>The drop probability.</summary>
    public double P { get; }

    /// <summary>Creates the layer.</summary>
    public Dropout(double p = 0.5)
    {
        if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
        P = p;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional(input, P, Training);

    /// <summary>
    /// The functional form. The mask comes from <paramref name="generator"/>, else from the thread's
    /// <see cref="RandomGenerator.Current"/>; only without either does libtorch's <c>aten::dropout</c> draw from its global
    /// generator. Both paths compute the same thing (a Bernoulli(1−p) mask scaled by 1/(1−p), as aten's CPU dropout
    /// does), so a generator seeded s gives the masks the global generator gives after seeding s.
    /// </summary>
    public static Tensor Functional(Tensor input, double p, bool training, RandomGenerator? generator = null)
    {
        if (!training || p == 0) return s_dropout.Call(input, p, false); // identity, as a new handle like every other path
        generator ??= RandomGenerator.Current;
        if (generator is null || generator.Device.Type != input.Device.Type) return s_dropout.Call(input, p, training);
        if (p == 1) return input.Mul(0.0);
        // Contiguous whatever the input's layout, as aten's dropout makes it, so the same draws land on the same elements.
        using Tensor noise = Tensor.Empty(input.Shape, input.DType, input.Device).Bernoulli_(1 - p, generator).Div_(1 - p);
        return input.Mul(noise);
    }
}

/// <summary>Normalises over the last dimensions, with a learned scale and shift.</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    private static readonly Op s_layerNorm = new("layer_norm");
    private readonly long[] _shape;

    /// <summary>Scale (ones at start), or null.</summary>
    public Tensor? Weight { get; }

    /// <summary>Shift (zeros at start), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Creates the layer over the trailing <paramref name="normalizedShape"/>.</summary>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        _shape = normalizedShape.ToArray();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(_shape));
            Bias = RegisterParameter("bias", Tensor.Zeros(_shape));
        }
    }

    /// <summary>Creates the layer over the last dimension of size <paramref name="size"/>.</summary>
    public LayerNorm(long size, double eps = 1e-5) : this([size], eps) { }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional(input, _shape, Weight, Bias, Eps);

    /// <summary>The functional form.</summary>
    public static Tensor Functional(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        s_layerNorm.Call(input, NativeArg.Ints(normalizedShape), weight, bias, eps, true);
}

/// <summary>1-d convolution over (N, C_in, L) → (N, C_out, L_out).</summary>
public sealed class Conv1d : Module<Tensor, Tensor>
{
    private static readonly Op s_conv1d = new("conv1d");

    /// <summary>Kernels, shape (out, in/groups, k).</summary>
    public Tensor Weight { get; }

    /// <summary>Bias, shape (out), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Stride.</summary>
    public long Stride { get; }

    /// <summary>Zero padding on both sides.</summary>
    public long Padding { get; }

    /// <summary>Dilation.</summary>
    public long Dilation { get; }

    /// <summary>Groups.</summary>
    public long Groups { get; }

    /// <summary>Creates the layer, initialised as PyTorch does.</summary>
    public Conv1d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
                  long groups = 1, bool bias = true)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"channels ({inChannels} in, {outChannels} out) must be divisible by groups ({groups})");
        if (kernelSize <= 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "must be positive");
        (Stride, Padding, Dilation, Groups) = (stride, padding, dilation, groups);
        Weight = RegisterParameter("weight", Tensor.Empty([outChannels, inChannels / groups, kernelSize]));
        Init.KaimingUniform_(Weight, a: Math.Sqrt(5));
        if (bias)
        {
            double bound = 1 / Math.Sqrt(inChannels / groups * kernelSize);
            Bias = RegisterParameter("bias", Init.Uniform_(Tensor.Empty([outChannels]), -bound, bound));
        }
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <summary>The functional form.</summary>
    public static Tensor Functional(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0,
                                    long dilation = 1, long groups = 1) =>
        s_conv1d.Call(input, weight, bias, NativeArg.Ints(stride), NativeArg.Ints(padding), NativeArg.Ints(dilation), groups);
}

/// <summary>Pooling over the last dimension of (N, C, L).</summary>
public static class Pool1d
{
    private static readonly Op s_max = new("max_pool1d"), s_avg = new("avg_pool1d");
    private static readonly Op s_adaptiveMax = new("adaptive_max_pool1d"), s_adaptiveAvg = new("adaptive_avg_pool1d");

    /// <summary>Max pooling (stride defaults to the kernel size).</summary>
    public static Tensor Max(Tensor input, long kernelSize, long? stride = null, long padding = 0) =>
        s_max.Call(input, NativeArg.Ints(kernelSize), NativeArg.Ints(stride ?? kernelSize), NativeArg.Ints(padding), NativeArg.Ints(1), false);

    /// <summary>Average pooling (stride defaults to the kernel size).</summary>
    public static Tensor Avg(Tensor input, long kernelSize, long? stride = null, long padding = 0) =>
        s_avg.Call(input, NativeArg.Ints(kernelSize), NativeArg.Ints(stride ?? kernelSize), NativeArg.Ints(padding), false, true);

    /// <summary>Adaptive max pooling to <paramref name="outputSize"/> (1 = max over time).</summary>
    public static Tensor AdaptiveMax(Tensor input, long outputSize = 1)
    {
        Tensor?[] r = s_adaptiveMax.CallMany(input, NativeArg.Ints(outputSize));
        r[1]?.Dispose();
        return r[0]!;
    }

    /// <summary>Adaptive average pooling to <paramref name="outputSize"/>.</summary>
    public static Tensor AdaptiveAvg(Tensor input, long outputSize = 1) => s_adaptiveAvg.Call(input, NativeArg.Ints(outputSize));
}

/// <summary>Max pooling as a module.</summary>
public sealed class MaxPool1d(long kernelSize, long? stride = null, long padding = 0) : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Pool1d.Max(input, kernelSize, stride, padding);
}

/// <summary>Average pooling as a module.</summary>
public sealed class AvgPool1d(long kernelSize, long? stride = null, long padding = 0) : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Pool1d.Avg(input, kernelSize, stride, padding);
}

/// <summary>An elementwise function as a module, for <see cref="Sequential"/>.</summary>
public sealed class Activation(Func<Tensor, Tensor> function, string name) : Module<Tensor, Tensor>
{
    /// <summary>ReLU.</summary>
    public static Activation ReLU() => new(t => t.Relu(), "ReLU");

    /// <summary>Tanh.</summary>
    public static Activation Tanh() => new(t => t.Tanh(), "Tanh");

    /// <summary>Sigmoid.</summary>
    public static Activation Sigmoid() => new(t => t.Sigmoid(), "Sigmoid");

    /// <summary>GELU.</summary>
    public static Activation GELU() => new(t => t.Gelu(), "GELU");

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => function(input);

    /// <inheritdoc />
    public override string ToString() => name;
}

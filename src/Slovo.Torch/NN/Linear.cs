using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>y = x Wᵀ + b. Weight (out, in), bias (out); initialised as PyTorch does.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    private static readonly Op s_linear = new("linear"), s_mv = new("mv"), s_addmv = new("addmv");

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

    private List<LoraLayer>? _adapters;

    /// <inheritdoc />
    /// <remarks>With adapters attached (<see cref="Attach"/>), the one <see cref="LoraLayer.Select"/> chooses adds its low-rank term.</remarks>
    public override Tensor Forward(Tensor input)
    {
        Tensor y = Functional(input, Weight, Bias);
        if (_adapters is null || LoraLayer.Pick(_adapters) is not { } adapter) return y;
        using Tensor delta = adapter.Delta(input, Training);
        return y.Add_(delta);
    }

    /// <summary>The low-rank adapters attached to this layer, in the order attached.</summary>
    public IReadOnlyList<LoraLayer> Adapters => (IReadOnlyList<LoraLayer>?)_adapters ?? [];

    /// <summary>Attaches <paramref name="adapter"/> (its shapes must fit this layer); the layer does not own it.</summary>
    public void Attach(LoraLayer adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        if (adapter.A.Size(1) != Weight.Size(1) || adapter.B.Size(0) != Weight.Size(0))
            throw new ArgumentException($"an adapter of [{adapter.B.Size(0)} x {adapter.A.Size(1)}] does not fit a layer of [{Weight.Size(0)} x {Weight.Size(1)}]", nameof(adapter));
        (_adapters ??= []).Add(adapter);
    }

    /// <summary>Detaches <paramref name="adapter"/>; returns whether it was attached.</summary>
    public bool Detach(LoraLayer adapter)
    {
        bool removed = _adapters?.Remove(adapter) ?? false;
        if (_adapters is { Count: 0 }) _adapters = null;
        return removed;
    }

    /// <summary>Folds <paramref name="adapter"/> into the weight (W += s · B A) and detaches it: the layer then computes what it did with the adapter.</summary>
    public void Merge(LoraLayer adapter)
    {
        if (!Detach(adapter)) throw new ArgumentException("the adapter is not attached to this layer", nameof(adapter));
        using var noGrad = LibTorch.NoGrad();
        using Tensor delta = adapter.WeightDelta();
        using Tensor typed = delta.To(Weight.DType);
        Weight.Add_(typed);
    }

    /// <summary>
    /// The functional form. One row at inference on a CPU (a decoder's next token at batch 1, no gradients) in float32 runs as
    /// a matrix-vector product (BLAS gemv), which reads the weight at about twice the bandwidth of the gemm behind
    /// <c>linear</c> at that shape (measured in bench/README.md, "Decoding engines"); bfloat16 and half stay on <c>linear</c>,
    /// whose oneDNN kernels are the faster ones there. <see cref="BatchOneKernels"/> turns this off.
    /// </summary>
    public static Tensor Functional(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (BatchOneKernels && weight.DType == ScalarType.Float32 && weight.Dim == 2 && input.DType == ScalarType.Float32
            && input.Device.Type == DeviceType.CPU && !LibTorch.IsGradEnabled && input.NumElements == weight.Size(1))
            return MatrixVector(input, weight, bias);
        return s_linear.Call(input, weight, bias);
    }

    /// <summary>Whether one-row float32 products at inference on a CPU run as matrix-vector products (default true; false:
    /// always <c>linear</c>).</summary>
    public static bool BatchOneKernels { get; set; } = true;

    private static Tensor MatrixVector(Tensor input, Tensor weight, Tensor? bias)
    {
        long[] shape = input.Shape;
        long rows = weight.Size(0);
        shape[^1] = rows;
        using Tensor row = input.Reshape(input.NumElements);
        using Tensor y = bias is null ? s_mv.Call(weight, row) : s_addmv.Call(bias, weight, row);
        return y.View(shape);
    }
}

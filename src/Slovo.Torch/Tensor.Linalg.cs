using Slovo.Torch.Native;

namespace Slovo.Torch;

// Products, gathering and scattering, sampling.
public sealed partial class Tensor
{
    private static readonly Op s_matmul = new("matmul"), s_mm = new("mm"), s_bmm = new("bmm"), s_outer = new("outer");
    private static readonly Op s_addmm = new("addmm"), s_einsum = new("einsum");
    private static readonly Op s_gather = new("gather"), s_indexSelect = new("index_select");
    private static readonly Op s_scatter = new("scatter", "src"), s_scatterAdd = new("scatter_add");
    private static readonly Op s_maskedSelect = new("masked_select"), s_oneHot = new("one_hot");
    private static readonly Op s_multinomial = new("multinomial"), s_cosineSimilarity = new("cosine_similarity");

    /// <summary>Matrix product with broadcasting (numpy's matmul).</summary>
    public Tensor MatMul(Tensor other) => s_matmul.CallTT(this, other);

    /// <summary>2-d matrix product.</summary>
    public Tensor MM(Tensor other) => s_mm.CallTT(this, other);

    /// <summary>Batched matrix product (B, n, m) × (B, m, p).</summary>
    public Tensor BMM(Tensor other) => s_bmm.CallTT(this, other);

    /// <summary>Outer product of two vectors.</summary>
    public Tensor Outer(Tensor other) => s_outer.CallTT(this, other);

    /// <summary>beta·this + alpha·(m1 @ m2).</summary>
    public Tensor AddMM(Tensor m1, Tensor m2, double beta = 1, double alpha = 1) =>
        s_addmm.Call(this, m1, m2, NativeArg.Scalar(beta), NativeArg.Scalar(alpha));

    /// <summary>Einstein summation.</summary>
    public static Tensor Einsum(string equation, params Tensor[] operands) =>
        s_einsum.Call(NativeArg.Of(equation), NativeArg.Tensors(operands));

    /// <summary>Values at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor Gather(long dim, Tensor index) => s_gather.Call(this, dim, index);

    /// <summary>The slices at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => s_indexSelect.Call(this, dim, index);

    /// <summary>A copy with <paramref name="source"/> written at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor Scatter(long dim, Tensor index, Tensor source) => s_scatter.Call(this, dim, index, source);

    /// <summary>A copy with <paramref name="source"/> added at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor ScatterAdd(long dim, Tensor index, Tensor source) => s_scatterAdd.Call(this, dim, index, source);

    /// <summary>The elements where <paramref name="mask"/> is true, as a 1-d tensor.</summary>
    public Tensor MaskedSelect(Tensor mask) => s_maskedSelect.CallTT(this, mask);

    /// <summary>One-hot encoding of an int64 tensor.</summary>
    public Tensor OneHot(long numClasses = -1) => s_oneHot.Call(this, numClasses);

    /// <summary>Draws indices from the rows of a probability (or weight) tensor.</summary>
    public Tensor Multinomial(long numSamples, bool replacement = false, RandomGenerator? generator = null) =>
        s_multinomial.Call(this, numSamples, replacement, NativeArg.Of(generator ?? RandomGenerator.For(Device)));

    /// <summary>Cosine similarity along a dimension.</summary>
    public static Tensor CosineSimilarity(Tensor x1, Tensor x2, long dim = 1, double eps = 1e-8) =>
        s_cosineSimilarity.Call(x1, x2, dim, eps);
}

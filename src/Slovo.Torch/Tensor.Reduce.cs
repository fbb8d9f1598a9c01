using Slovo.Torch.Native;

namespace Slovo.Torch;

// Reductions, sorting and selection of extremes.
public sealed partial class Tensor
{
    private static readonly Op s_sum = new("sum"), s_sumDim = new("sum", "dim_IntList");
    private static readonly Op s_mean = new("mean"), s_meanDim = new("mean", "dim");
    private static readonly Op s_max = new("max"), s_maxDim = new("max", "dim");
    private static readonly Op s_min = new("min"), s_minDim = new("min", "dim");
    private static readonly Op s_argmax = new("argmax"), s_argmin = new("argmin");
    private static readonly Op s_std = new("std", "dim"), s_var = new("var", "dim");
    private static readonly Op s_norm = new("norm", "Scalar"), s_normDim = new("norm", "ScalarOpt_dim");
    private static readonly Op s_logsumexp = new("logsumexp"), s_prod = new("prod"), s_cumsum = new("cumsum");
    private static readonly Op s_topk = new("topk"), s_sort = new("sort"), s_argsort = new("argsort");
    private static readonly Op s_any = new("any"), s_all = new("all");

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum(ScalarType? dtype = null) => s_sum.Call(this, NativeArg.Of(dtype));

    /// <summary>Sum over dimensions.</summary>
    public Tensor Sum(long[] dims, bool keepDim = false, ScalarType? dtype = null) =>
        s_sumDim.Call(this, NativeArg.Ints(dims), keepDim, NativeArg.Of(dtype));

    /// <summary>Sum over one dimension.</summary>
    public Tensor Sum(long dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => s_mean.Call(this);

    /// <summary>Mean over dimensions.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false) => s_meanDim.Call(this, NativeArg.Ints(dims), keepDim);

    /// <summary>Mean over one dimension.</summary>
    public Tensor Mean(long dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Largest element.</summary>
    public Tensor Max() => s_max.CallT(this);

    /// <summary>Largest values and their indices along a dimension.</summary>
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false) => Pair(s_maxDim.CallMany(this, dim, keepDim));

    /// <summary>Smallest element.</summary>
    public Tensor Min() => s_min.CallT(this);

    /// <summary>Smallest values and their indices along a dimension.</summary>
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false) => Pair(s_minDim.CallMany(this, dim, keepDim));

    /// <summary>Index of the largest element (flattened when <paramref name="dim"/> is null).</summary>
    public Tensor ArgMax(long? dim = null, bool keepDim = false) => s_argmax.Call(this, NativeArg.Of(dim), keepDim);

    /// <summary>Index of the smallest element.</summary>
    public Tensor ArgMin(long? dim = null, bool keepDim = false) => s_argmin.Call(this, NativeArg.Of(dim), keepDim);

    /// <summary>Standard deviation over dimensions (all when null).</summary>
    public Tensor Std(long[]? dims = null, bool unbiased = true, bool keepDim = false) =>
        s_std.Call(this, dims is null ? NativeArg.None : NativeArg.Ints(dims), unbiased, keepDim);

    /// <summary>Variance over dimensions (all when null).</summary>
    public Tensor Var(long[]? dims = null, bool unbiased = true, bool keepDim = false) =>
        s_var.Call(this, dims is null ? NativeArg.None : NativeArg.Ints(dims), unbiased, keepDim);

    /// <summary>p-norm of all elements.</summary>
    public Tensor Norm(double p = 2) => s_norm.Call(this, NativeArg.Scalar(p));

    /// <summary>p-norm over dimensions.</summary>
    public Tensor Norm(double p, long[] dims, bool keepDim = false) =>
        s_normDim.Call(this, NativeArg.Scalar(p), NativeArg.Ints(dims), keepDim);

    /// <summary>log Σ exp over dimensions.</summary>
    public Tensor LogSumExp(long dim, bool keepDim = false) => s_logsumexp.Call(this, NativeArg.Ints(dim), keepDim);

    /// <summary>Product of all elements.</summary>
    public Tensor Prod() => s_prod.Call(this);

    /// <summary>Running sum along a dimension.</summary>
    public Tensor CumSum(long dim, ScalarType? dtype = null) => s_cumsum.Call(this, dim, NativeArg.Of(dtype));

    /// <summary>The k largest (or smallest) values and their indices.</summary>
    public (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true) =>
        Pair(s_topk.CallMany(this, k, dim, largest, sorted));

    /// <summary>Sorted values and the permutation.</summary>
    public (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false) =>
        Pair(s_sort.CallMany(this, dim, descending));

    /// <summary>The permutation that sorts along a dimension.</summary>
    public Tensor ArgSort(long dim = -1, bool descending = false) => s_argsort.Call(this, dim, descending);

    /// <summary>Whether any element is true.</summary>
    public Tensor Any() => s_any.CallT(this);

    /// <summary>Whether all elements are true.</summary>
    public Tensor All() => s_all.CallT(this);

    private static (Tensor, Tensor) Pair(Tensor?[] r) =>
        (r[0] ?? throw new TorchException("missing result"), r[1] ?? throw new TorchException("missing result"));
}

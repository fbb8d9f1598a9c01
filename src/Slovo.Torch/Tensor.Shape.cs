using Slovo.Torch.Native;

namespace Slovo.Torch;

// Views, reshaping, joining and splitting, conversion.
public sealed partial class Tensor
{
    private static readonly Op s_view = new("view"), s_reshape = new("reshape"), s_transpose = new("transpose", "int");
    private static readonly Op s_permute = new("permute"), s_unsqueeze = new("unsqueeze");
    private static readonly Op s_squeeze = new("squeeze"), s_squeezeDim = new("squeeze", "dim");
    private static readonly Op s_contiguous = new("contiguous"), s_clone = new("clone"), s_detach = new("detach");
    private static readonly Op s_cat = new("cat"), s_stack = new("stack"), s_chunk = new("chunk");
    private static readonly Op s_split = new("split", "Tensor"), s_splitSizes = new("split", "sizes"), s_unbind = new("unbind", "int");
    private static readonly Op s_expand = new("expand"), s_repeat = new("repeat"), s_flatten = new("flatten", "using_ints");
    private static readonly Op s_narrow = new("narrow"), s_asStrided = new("as_strided"), s_flip = new("flip"), s_roll = new("roll"), s_t = new("t");
    private static readonly Op s_toDtype = new("to", "dtype"), s_toDevice = new("to", "device");
    private static readonly Op s_tril = new("tril"), s_triu = new("triu"), s_diagonal = new("diagonal");

    /// <summary>A view with a new shape (one dimension may be −1).</summary>
    public Tensor View(params long[] shape) => s_view.Call(this, NativeArg.Ints(shape));

    /// <summary>The same elements in a new shape, copying only when needed.</summary>
    public Tensor Reshape(params long[] shape) => s_reshape.Call(this, NativeArg.Ints(shape));

    /// <summary>Swaps two dimensions (a view).</summary>
    public Tensor Transpose(long dim0, long dim1) => s_transpose.Call(this, dim0, dim1);

    /// <summary>The transpose of a matrix (a view).</summary>
    public Tensor T() => s_t.CallT(this);

    /// <summary>Reorders dimensions (a view).</summary>
    public Tensor Permute(params long[] dims) => s_permute.Call(this, NativeArg.Ints(dims));

    /// <summary>Inserts a dimension of size one.</summary>
    public Tensor Unsqueeze(long dim) => s_unsqueeze.Call(this, dim);

    /// <summary>Removes every dimension of size one.</summary>
    public Tensor Squeeze() => s_squeeze.CallT(this);

    /// <summary>Removes dimension <paramref name="dim"/> if its size is one.</summary>
    public Tensor Squeeze(long dim) => s_squeezeDim.Call(this, dim);

    /// <summary>A row-major copy when not already contiguous.</summary>
    public Tensor Contiguous() => s_contiguous.Call(this);

    /// <summary>A copy (autograd-tracked).</summary>
    public Tensor Clone() => s_clone.Call(this);

    /// <summary>The same data cut from the autograd graph.</summary>
    public Tensor Detach() => s_detach.CallT(this);

    /// <summary>Joins tensors along an existing dimension.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) =>
        s_cat.Call(NativeArg.Tensors(ToSpan(tensors)), dim);

    /// <summary>Joins tensors along a new dimension.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) =>
        s_stack.Call(NativeArg.Tensors(ToSpan(tensors)), dim);

    private static ReadOnlySpan<Tensor> ToSpan(IReadOnlyList<Tensor> tensors)
    {
        if (tensors.Count == 0) throw new ArgumentException("at least one tensor is needed", nameof(tensors));
        return tensors is Tensor[] a ? a : tensors.ToArray();
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces (views).</summary>
    public Tensor[] Chunk(long chunks, long dim = 0) => NonNull(s_chunk.CallMany(this, chunks, dim));

    /// <summary>Splits into pieces of <paramref name="size"/> along <paramref name="dim"/> (views).</summary>
    public Tensor[] Split(long size, long dim = 0) =>
        NonNull(s_split.CallMany(this, size, dim));

    /// <summary>Splits into pieces of the given sizes (views).</summary>
    public Tensor[] Split(long[] sizes, long dim = 0) => NonNull(s_splitSizes.CallMany(this, NativeArg.Ints(sizes), dim));

    /// <summary>Removes a dimension, returning its slices (views).</summary>
    public Tensor[] Unbind(long dim = 0) => NonNull(s_unbind.CallMany(this, dim));

    private static Tensor[] NonNull(Tensor?[] ts) => Array.ConvertAll(ts, t => t ?? throw new TorchException("operator returned an undefined tensor"));

    /// <summary>Broadcasts to a larger shape (−1 keeps a size) without copying.</summary>
    public Tensor Expand(params long[] shape) => s_expand.Call(this, NativeArg.Ints(shape));

    /// <summary>Tiles the tensor.</summary>
    public Tensor Repeat(params long[] repeats) => s_repeat.Call(this, NativeArg.Ints(repeats));

    /// <summary>Flattens dimensions start..end into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => s_flatten.Call(this, startDim, endDim);

    /// <summary>A view of this tensor's storage with the given sizes and strides, from <paramref name="offset"/> elements into the storage.</summary>
    internal Tensor AsStrided(long[] size, long[] strides, long offset = 0) => s_asStrided.Call(this, NativeArg.Ints(size), NativeArg.Ints(strides), offset);

    /// <summary>A view of <paramref name="length"/> elements from <paramref name="start"/> along <paramref name="dim"/>.</summary>
    public Tensor Narrow(long dim, long start, long length) => s_narrow.Call(this, dim, start, length);

    /// <summary>Reverses the order along the given dimensions.</summary>
    public Tensor Flip(params long[] dims) => s_flip.Call(this, NativeArg.Ints(dims));

    /// <summary>Rolls elements along a dimension.</summary>
    public Tensor Roll(long shift, long dim) => s_roll.Call(this, NativeArg.Ints(shift), NativeArg.Ints(dim));

    /// <summary>The diagonal (a view).</summary>
    public Tensor Diagonal(long offset = 0, long dim1 = 0, long dim2 = 1) => s_diagonal.Call(this, offset, dim1, dim2);

    /// <summary>Lower triangle.</summary>
    public Tensor Tril(long diagonal = 0) => s_tril.Call(this, diagonal);

    /// <summary>Upper triangle.</summary>
    public Tensor Triu(long diagonal = 0) => s_triu.Call(this, diagonal);

    /// <summary>Converts the element type (returns an alias when already of that type, like PyTorch).</summary>
    public Tensor To(ScalarType dtype, bool copy = false) => s_toDtype.Call(this, dtype, false, copy);

    /// <summary>Moves to a device (returns an alias when already there).</summary>
    public Tensor To(Device device, bool copy = false) => s_toDevice.Call(this, NativeArg.Of(device), DType, false, copy);

    /// <summary>Moves to a device and converts the element type.</summary>
    public Tensor To(Device device, ScalarType dtype) => s_toDevice.Call(this, NativeArg.Of(device), dtype);
}

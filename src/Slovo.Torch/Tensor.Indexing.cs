using Slovo.Torch.Native;

namespace Slovo.Torch;

// numpy-style indexing: t[0], t[.., 1], t[1..^1, TensorIndex.NewAxis], t[mask]; assignment writes through.
public sealed partial class Tensor
{
    private static readonly Op s_select = new("select", "int"), s_slice = new("slice", "Tensor");
    private static readonly Op s_index = new("index", "Tensor"), s_indexPut_ = new("index_put_");

    /// <summary>Indexes like numpy; basic indices give views, tensor indices give copies.</summary>
    public Tensor this[params TensorIndex[] indices]
    {
        get => Index(indices);
        set => IndexAssign(indices, value);
    }

    /// <summary>Writes <paramref name="value"/> into the indexed elements.</summary>
    public void IndexFill(TensorIndex[] indices, double value)
    {
        using Tensor v = Scalar(value, DType);
        IndexAssign(indices, v);
    }

    private Tensor Index(TensorIndex[] indices)
    {
        (Tensor view, Tensor?[]? advanced) = BasicIndex(indices);
        if (advanced is null) return view;
        using (view)
            return s_index.Call(view, NativeArg.OptionalTensors(advanced));
    }

    private void IndexAssign(TensorIndex[] indices, Tensor value)
    {
        (Tensor view, Tensor?[]? advanced) = BasicIndex(indices);
        using (view)
        {
            if (advanced is null) s_copy_.CallVoid(view, value);
            else s_indexPut_.CallVoid(view, NativeArg.OptionalTensors(advanced), value, false);
        }
    }

    // Applies positions, slices and new axes as views; tensor indices are collected per resulting dimension.
    private (Tensor View, Tensor?[]? Advanced) BasicIndex(TensorIndex[] indices)
    {
        int ndim = Dim;
        int consuming = 0, ellipses = 0;
        foreach (TensorIndex ix in indices)
        {
            if (ix.What is TensorIndex.Kind.Single or TensorIndex.Kind.Slice or TensorIndex.Kind.Tensor) ++consuming;
            if (ix.What == TensorIndex.Kind.Ellipsis) ++ellipses;
        }
        if (ellipses > 1) throw new ArgumentException("an index may hold at most one ellipsis", nameof(indices));
        if (consuming > ndim)
            throw new IndexOutOfRangeException($"too many indices for a tensor of {ndim} dimensions: {consuming} given");

        Tensor current = Alias();
        List<Tensor?>? advanced = null;
        long dim = 0;
        foreach (TensorIndex ix in indices)
        {
            Tensor next;
            switch (ix.What)
            {
                case TensorIndex.Kind.Single:
                    next = s_select.Call(current, dim, ix.Value);
                    break;
                case TensorIndex.Kind.Slice:
                    next = s_slice.Call(current, dim, NativeArg.Of(ix.Start), NativeArg.Of(ix.Stop), ix.Step);
                    ++dim;
                    break;
                case TensorIndex.Kind.NewAxis:
                    next = s_unsqueeze.Call(current, dim);
                    ++dim;
                    break;
                case TensorIndex.Kind.Ellipsis:
                    dim += ndim - consuming;
                    continue;
                default:
                    advanced ??= new List<Tensor?>();
                    while (advanced.Count < dim) advanced.Add(null);
                    advanced.Add(ix.Indices);
                    ++dim;
                    continue;
            }
            current.Dispose();
            current = next;
        }
        return (current, advanced?.ToArray());
    }
}

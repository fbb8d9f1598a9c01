namespace Slovo.Torch;

/// <summary>One entry of a tensor index: a position, a slice, a new axis, an ellipsis or an index tensor.
/// Converts implicitly from <see cref="int"/>, <see cref="long"/>, <see cref="Index"/>, <see cref="Range"/> and <see cref="Tensor"/>.</summary>
public readonly struct TensorIndex
{
    internal enum Kind { Single, Slice, NewAxis, Ellipsis, Tensor }

    internal Kind What { get; }
    internal long Value { get; }
    internal long? Start { get; }
    internal long? Stop { get; }
    internal long Step { get; }
    internal Tensor? Indices { get; }

    private TensorIndex(Kind what, long value = 0, long? start = null, long? stop = null, long step = 1, Tensor? indices = null)
    {
        What = what;
        Value = value;
        Start = start;
        Stop = stop;
        Step = step;
        Indices = indices;
    }

    /// <summary>Picks one position (negative counts from the end); removes the dimension.</summary>
    public static TensorIndex Single(long i) => new(Kind.Single, i);

    /// <summary>A slice start:stop:step; null bounds mean the ends.</summary>
    public static TensorIndex Slice(long? start = null, long? stop = null, long step = 1)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "slice step must be positive");
        return new(Kind.Slice, start: start, stop: stop, step: step);
    }

    /// <summary>Inserts a dimension of size one (numpy's newaxis).</summary>
    public static TensorIndex NewAxis => new(Kind.NewAxis);

    /// <summary>Stands for as many full slices as needed (numpy's ...).</summary>
    public static TensorIndex Ellipsis => new(Kind.Ellipsis);

    /// <summary>Advanced indexing by an int64 or bool tensor.</summary>
    public static TensorIndex Of(Tensor indices) => new(Kind.Tensor, indices: indices);

    /// <summary>A position.</summary>
    public static implicit operator TensorIndex(int i) => Single(i);

    /// <summary>A position.</summary>
    public static implicit operator TensorIndex(long i) => Single(i);

    /// <summary>A position; ^n counts from the end.</summary>
    public static implicit operator TensorIndex(Index i) => Single(i.IsFromEnd ? -i.Value : i.Value);

    /// <summary>A slice; a..b, ..b, a.., .., with ^n from the end.</summary>
    public static implicit operator TensorIndex(Range r)
    {
        long? start = r.Start.IsFromEnd ? (r.Start.Value == 0 ? null : -r.Start.Value) : r.Start.Value;
        long? stop = r.End.IsFromEnd ? (r.End.Value == 0 ? null : -r.End.Value) : r.End.Value;
        if (start == 0) start = null;
        return Slice(start, stop);
    }

    /// <summary>Advanced indexing by a tensor.</summary>
    public static implicit operator TensorIndex(Tensor t) => Of(t);
}

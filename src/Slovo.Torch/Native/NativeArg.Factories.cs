using System.Runtime.CompilerServices;
using System.Text;

namespace Slovo.Torch.Native;

/// <summary>Builders for operator arguments. List arguments are copied into a per-thread ring of native memory
/// that lives until it wraps around, far longer than one call.</summary>
public partial struct NativeArg
{
    /// <summary>None (for optional arguments).</summary>
    public static NativeArg None => default;

    /// <summary>A tensor, or None when null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NativeArg Of(Tensor? t) => new() { Tag = ArgTag.Tensor, P = t is null ? IntPtr.Zero : t.Handle, Owner = t };

    /// <summary>A generator, or None (the device's global generator) when null.</summary>
    public static NativeArg Of(RandomGenerator? g) => new() { Tag = ArgTag.Generator, P = g is null ? IntPtr.Zero : g.Handle, Owner = g };

    /// <summary>An int.</summary>
    public static NativeArg Of(long v) => new() { Tag = ArgTag.Int, I = v };

    /// <summary>A float (double).</summary>
    public static NativeArg Of(double v) => new() { Tag = ArgTag.Double, D = v };

    /// <summary>A bool.</summary>
    public static NativeArg Of(bool v) => new() { Tag = ArgTag.Bool, I = v ? 1 : 0 };

    /// <summary>A dtype.</summary>
    public static NativeArg Of(ScalarType v) => new() { Tag = ArgTag.ScalarType, I = (long)v };

    /// <summary>A device.</summary>
    public static NativeArg Of(Device v) => new() { Tag = ArgTag.Device, I = (long)v.Type, Length = v.Index };

    /// <summary>An optional dtype.</summary>
    public static NativeArg Of(ScalarType? v) => v is null ? None : Of(v.Value);

    /// <summary>An optional int.</summary>
    public static NativeArg Of(long? v) => v is null ? None : Of(v.Value);

    /// <summary>An optional float.</summary>
    public static NativeArg Of(double? v) => v is null ? None : Of(v.Value);

    /// <summary>A Scalar holding an integer or a float.</summary>
    public static NativeArg Scalar(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 9e15 ? Of((long)v) : Of(v);

    /// <summary>A Scalar that is always a float.</summary>
    public static NativeArg FloatScalar(double v) => Of(v);

    /// <summary>An int list (int[]).</summary>
    public static unsafe NativeArg Ints(params ReadOnlySpan<long> values)
    {
        long* p = ArgRing.Longs(values.Length);
        values.CopyTo(new Span<long>(p, values.Length));
        return new NativeArg { Tag = ArgTag.IntList, Length = values.Length, P = (IntPtr)p };
    }

    /// <summary>A float list (float[]).</summary>
    public static unsafe NativeArg Doubles(params ReadOnlySpan<double> values)
    {
        double* p = (double*)ArgRing.Longs(values.Length);
        values.CopyTo(new Span<double>(p, values.Length));
        return new NativeArg { Tag = ArgTag.DoubleList, Length = values.Length, P = (IntPtr)p };
    }

    /// <summary>A bool list (bool[N]).</summary>
    public static unsafe NativeArg Bools(params ReadOnlySpan<bool> values)
    {
        byte* p = (byte*)ArgRing.Longs(values.Length);
        for (int k = 0; k < values.Length; ++k) p[k] = values[k] ? (byte)1 : (byte)0;
        return new NativeArg { Tag = ArgTag.BoolList, Length = values.Length, P = (IntPtr)p };
    }

    /// <summary>A tensor list (Tensor[]).</summary>
    public static unsafe NativeArg Tensors(params ReadOnlySpan<Tensor> values)
    {
        IntPtr* p = (IntPtr*)ArgRing.Longs(values.Length);
        for (int k = 0; k < values.Length; ++k) p[k] = values[k].Handle;
        return new NativeArg { Tag = ArgTag.TensorList, Length = values.Length, P = (IntPtr)p, Owner = values.ToArray() };
    }

    /// <summary>A list of optional tensors (Tensor?[]); null entries are None.</summary>
    public static unsafe NativeArg OptionalTensors(params ReadOnlySpan<Tensor?> values)
    {
        IntPtr* p = (IntPtr*)ArgRing.Longs(values.Length);
        for (int k = 0; k < values.Length; ++k) p[k] = values[k] is null ? IntPtr.Zero : values[k]!.Handle;
        return new NativeArg { Tag = ArgTag.OptTensorList, Length = values.Length, P = (IntPtr)p, Owner = values.ToArray() };
    }

    /// <summary>A string.</summary>
    public static unsafe NativeArg Of(string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)ArgRing.Longs(n / 8 + 1);
        int written = Encoding.UTF8.GetBytes(value, new Span<byte>(p, n));
        p[written] = 0;
        return new NativeArg { Tag = ArgTag.String, P = (IntPtr)p };
    }

    /// <summary>Tensors and numbers convert implicitly, so calls read like their schema.</summary>
    public static implicit operator NativeArg(Tensor? t) => Of(t);

    /// <summary>An int argument.</summary>
    public static implicit operator NativeArg(long v) => Of(v);

    /// <summary>An int argument.</summary>
    public static implicit operator NativeArg(int v) => Of((long)v);

    /// <summary>A float argument.</summary>
    public static implicit operator NativeArg(double v) => Of(v);

    /// <summary>A bool argument.</summary>
    public static implicit operator NativeArg(bool v) => Of(v);

    /// <summary>A dtype argument.</summary>
    public static implicit operator NativeArg(ScalarType v) => Of(v);
}

/// <summary>Per-thread ring of native memory for list arguments.</summary>
internal static unsafe class ArgRing
{
    private const int Capacity = 1 << 16; // longs
    [ThreadStatic] private static long* _buffer;
    [ThreadStatic] private static int _offset;

    internal static long* Longs(int count)
    {
        if (count > 4096)
            throw new ArgumentException($"a list argument may hold at most 4096 elements, got {count}", nameof(count));
        if (_buffer == null) _buffer = (long*)System.Runtime.InteropServices.NativeMemory.Alloc(Capacity, sizeof(long));
        if (_offset + count > Capacity) _offset = 0;
        long* p = _buffer + _offset;
        _offset += Math.Max(count, 1);
        return p;
    }
}

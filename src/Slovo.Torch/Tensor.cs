using System.Runtime.CompilerServices;
using Slovo.Torch.Native;

namespace Slovo.Torch;

/// <summary>
/// An n-dimensional array on a device, with autograd. Native memory is released by <see cref="Dispose"/>,
/// by the <see cref="DisposeScope"/> that was open when the tensor was made, or at the latest by the
/// finalizer. Using a disposed tensor throws <see cref="ObjectDisposedException"/>; disposing twice is harmless.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private IntPtr _handle;

    internal Tensor(IntPtr handle)
    {
        _handle = handle;
        DisposeScope? scope = DisposeScope.Current;
        if (scope is not null) scope.Add(this);
    }

    /// <summary>The scope that owns this tensor, if any.</summary>
    internal DisposeScope? Scope { get; set; }

    internal IntPtr Handle
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            IntPtr h = _handle;
            if (h == IntPtr.Zero) ThrowDisposed();
            return h;
        }
    }

    /// <summary>Whether the native tensor has been released.</summary>
    public bool IsDisposed => _handle == IntPtr.Zero;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() =>
        throw new ObjectDisposedException(nameof(Tensor), "this tensor was disposed (explicitly or by its DisposeScope); " +
                                                          "keep it with MoveToOuterScope() or DetachFromScope() if it must outlive the scope");

    /// <summary>Releases the native tensor now. Safe to call more than once.</summary>
    public void Dispose()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.slovo_tensor_free(h);
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Releases the native tensor if it was never disposed.</summary>
    ~Tensor()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.slovo_tensor_free(h);
    }

    /// <summary>Hands this tensor to the enclosing dispose scope (or to none) and returns it.</summary>
    public Tensor MoveToOuterScope()
    {
        DisposeScope? outer = Scope?.Outer;
        Scope = null;
        outer?.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of every dispose scope: the caller now owns it.</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    /// <summary>
    /// Checks a native call's status after keeping this tensor reachable until the call has returned: wrap every
    /// native call that reads <see cref="Handle"/> in it, so the finalizer cannot free a temporary mid-call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckAlive(int status)
    {
        GC.KeepAlive(this);
        NativeLibraryLoader.Check(status);
    }

    private NativeTensorInfo Info()
    {
        NativeTensorInfo info;
        CheckAlive(NativeMethods.slovo_tensor_info(Handle, &info));
        return info;
    }

    /// <summary>The sizes of each dimension.</summary>
    public long[] Shape => Sizes(strides: false);

    /// <summary>The strides of each dimension, in elements.</summary>
    public long[] Strides => Sizes(strides: true);

    private long[] Sizes(bool strides)
    {
        int dim = Dim;
        var values = new long[dim];
        fixed (long* p = values)
            CheckAlive(NativeMethods.slovo_tensor_sizes(Handle, strides ? 1 : 0, p, dim));
        return values;
    }

    /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim)
    {
        long[] shape = Shape;
        int d = dim < 0 ? dim + shape.Length : dim;
        if (d < 0 || d >= shape.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"tensor has {shape.Length} dimensions");
        return shape[d];
    }

    /// <summary>The number of dimensions.</summary>
    public int Dim => Info().Dim;

    /// <summary>The number of elements.</summary>
    public long NumElements => Info().Numel;

    /// <summary>The element type.</summary>
    public ScalarType DType => (ScalarType)Info().DType;

    /// <summary>The device.</summary>
    public Device Device
    {
        get
        {
            NativeTensorInfo i = Info();
            return new Device((DeviceType)i.DeviceType, i.DeviceIndex);
        }
    }

    /// <summary>Whether the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous => Info().IsContiguous != 0;

    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get => Info().RequiresGrad != 0;
        set => CheckAlive(NativeMethods.slovo_tensor_set_requires_grad(Handle, value ? 1 : 0));
    }

    /// <summary>Whether this tensor is a leaf of the autograd graph.</summary>
    public bool IsLeaf => Info().IsLeaf != 0;

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor.</summary>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>The accumulated gradient, or null. Each read returns a new handle the caller owns.</summary>
    public Tensor? Grad
    {
        get
        {
            IntPtr g;
            CheckAlive(NativeMethods.slovo_tensor_grad(Handle, &g));
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
        set
        {
            CheckAlive(NativeMethods.slovo_tensor_set_grad(Handle, value is null ? IntPtr.Zero : value.Handle));
            GC.KeepAlive(value);
        }
    }

    /// <summary>Clears the gradient (<paramref name="setToNone"/>) or zeroes it in place.</summary>
    public void ZeroGrad(bool setToNone = true) =>
        CheckAlive(NativeMethods.slovo_tensor_zero_grad(Handle, setToNone ? 1 : 0));

    /// <summary>Back-propagates from this tensor into the leaves' <see cref="Grad"/>.</summary>
    /// <param name="gradient">The gradient of the output; may be omitted for a one-element tensor.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass.</param>
    /// <param name="createGraph">Record the backward pass for higher-order gradients.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
    {
        CheckAlive(NativeMethods.slovo_backward(Handle, gradient?.Handle ?? IntPtr.Zero,
            retainGraph ? 1 : 0, createGraph ? 1 : 0));
        GC.KeepAlive(gradient);
    }

    /// <summary>A new handle to the same tensor (same storage and autograd identity), owned by the caller.</summary>
    public Tensor Alias()
    {
        IntPtr h;
        CheckAlive(NativeMethods.slovo_tensor_share(Handle, &h));
        return new Tensor(h);
    }

    /// <summary>How many live tensors (this one, its views, other handles) share this tensor's storage.</summary>
    internal long StorageUseCount
    {
        get
        {
            long n;
            CheckAlive(NativeMethods.slovo_tensor_storage_use_count(Handle, &n));
            return n;
        }
    }

    /// <summary>Replaces this tensor's data with <paramref name="source"/>'s, keeping its identity (like <c>p.data = x</c>).</summary>
    public void SetData(Tensor source)
    {
        CheckAlive(NativeMethods.slovo_tensor_set_data(Handle, source.Handle));
        GC.KeepAlive(source);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Slovo.Torch.Native;

/// <summary>
/// A cached handle to one aten operator, looked up by name on first use. Arguments are typed
/// <see cref="NativeArg"/> values; trailing arguments left out take the schema's defaults.
/// </summary>
public sealed unsafe class Op
{
    private IntPtr _handle;
    private int _numReturns;

    /// <summary>The qualified name, e.g. "aten::add".</summary>
    public string Name { get; }

    /// <summary>The overload name, e.g. "Tensor"; empty for the default overload.</summary>
    public string Overload { get; }

    /// <summary>Names an operator; nothing is looked up until the first call.</summary>
    public Op(string name, string overload = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name.Contains("::", StringComparison.Ordinal) ? name : "aten::" + name;
        Overload = overload ?? "";
    }

    /// <summary>Whether this libtorch has the operator (asks without throwing).</summary>
    public bool Exists
    {
        get
        {
            try { _ = Handle; return true; }
            catch (TorchException) { return false; }
        }
    }

    internal IntPtr Handle
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _handle != IntPtr.Zero ? _handle : Resolve();
    }

    /// <summary>The operator's schema as libtorch prints it.</summary>
    public string Schema
    {
        get
        {
            IntPtr s;
            NativeLibraryLoader.Check(NativeMethods.slovo_op_schema(Handle, &s));
            try { return Marshal.PtrToStringUTF8(s) ?? ""; }
            finally { NativeMethods.slovo_string_free(s); }
        }
    }

    private IntPtr Resolve()
    {
        NativeLibraryLoader.EnsureLoaded();
        byte[] n = Encoding.UTF8.GetBytes(Name + "\0");
        byte[] o = Encoding.UTF8.GetBytes(Overload + "\0");
        IntPtr h;
        int nargs, nret;
        fixed (byte* pn = n)
        fixed (byte* po = o)
            NativeLibraryLoader.Check(NativeMethods.slovo_op_find(pn, po, &h, &nargs, &nret));
        _numReturns = nret;
        Interlocked.CompareExchange(ref _handle, h, IntPtr.Zero);
        return _handle;
    }

    /// <summary>Calls an operator that returns one tensor.</summary>
    public Tensor Call(params ReadOnlySpan<NativeArg> args)
    {
        NativeRet* rets = stackalloc NativeRet[4];
        int n = Invoke(args, rets, 4);
        if (n < 1 || rets[0].Tag != RetTag.Tensor || rets[0].T == IntPtr.Zero)
        {
            ReleaseAll(rets, n);
            throw new TorchException($"{Name}.{Overload} did not return a tensor");
        }
        ReleaseAll(rets + 1, n - 1);
        return new Tensor(rets[0].T);
    }

    /// <summary>Calls an operator for its effect (in-place ops); any returned tensors are released.</summary>
    public void CallVoid(params ReadOnlySpan<NativeArg> args)
    {
        NativeRet* rets = stackalloc NativeRet[8];
        int n = Invoke(args, rets, 8);
        ReleaseAll(rets, n);
    }

    /// <summary>Calls an operator returning several tensors (a tuple or a tensor list, flattened).</summary>
    /// <param name="capacity">The most tensors the call may return.</param>
    /// <param name="args">The arguments.</param>
    public Tensor?[] CallMany(int capacity, params ReadOnlySpan<NativeArg> args)
    {
        NativeRet[] buffer = new NativeRet[capacity];
        int n;
        fixed (NativeRet* rets = buffer)
            n = Invoke(args, rets, capacity);
        var result = new Tensor?[n];
        for (int k = 0; k < n; ++k)
            result[k] = buffer[k].Tag == RetTag.Tensor && buffer[k].T != IntPtr.Zero ? new Tensor(buffer[k].T) : null;
        return result;
    }

    /// <summary>Calls an operator that returns a number (int, float or bool) and no tensors.</summary>
    public double CallScalar(params ReadOnlySpan<NativeArg> args)
    {
        NativeRet* rets = stackalloc NativeRet[4];
        int n = Invoke(args, rets, 4);
        ReleaseAll(rets + 1, n - 1);
        if (n < 1) throw new TorchException($"{Name}.{Overload} returned nothing");
        return rets[0].Tag switch
        {
            RetTag.Int or RetTag.Bool => rets[0].I,
            RetTag.Double => rets[0].D,
            _ => throw new TorchException($"{Name}.{Overload} did not return a number"),
        };
    }

    /// <summary>(Tensor, Tensor) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallTT(Tensor a, Tensor b)
    {
        IntPtr r;
        NativeLibraryLoader.Check(NativeMethods.slovo_op_call_tt(Handle, a.Handle, b.Handle, &r));
        return new Tensor(r);
    }

    /// <summary>(Tensor, Tensor, Scalar) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallTTS(Tensor a, Tensor b, double alpha, bool alphaIsInt)
    {
        IntPtr r;
        NativeLibraryLoader.Check(NativeMethods.slovo_op_call_tts(Handle, a.Handle, b.Handle, alpha, alphaIsInt ? 1 : 0, &r));
        return new Tensor(r);
    }

    /// <summary>(Tensor) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallT(Tensor a)
    {
        IntPtr r;
        NativeLibraryLoader.Check(NativeMethods.slovo_op_call_t(Handle, a.Handle, &r));
        return new Tensor(r);
    }

    private int Invoke(ReadOnlySpan<NativeArg> args, NativeRet* rets, int cap)
    {
        IntPtr h = Handle;
        int n;
        fixed (NativeArg* pa = args)
            NativeLibraryLoader.Check(NativeMethods.slovo_op_call(h, pa, args.Length, rets, cap, &n));
        return n;
    }

    private static void ReleaseAll(NativeRet* rets, int n)
    {
        for (int k = 0; k < n; ++k)
            if (rets[k].Tag == RetTag.Tensor && rets[k].T != IntPtr.Zero)
                NativeMethods.slovo_tensor_free(rets[k].T);
    }

    /// <inheritdoc />
    public override string ToString() => Overload.Length == 0 ? Name : $"{Name}.{Overload}";
}

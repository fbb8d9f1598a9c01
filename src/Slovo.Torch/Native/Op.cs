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
        Span<NativeRet> rets = Invoke(args, stackalloc NativeRet[4]);
        if (rets.Length < 1 || rets[0].Tag != RetTag.Tensor || rets[0].T == IntPtr.Zero)
        {
            ReleaseAll(rets);
            throw new TorchException($"{this} did not return a tensor");
        }
        ReleaseAll(rets[1..]);
        return new Tensor(rets[0].T);
    }

    /// <summary>Calls an operator for its effect (in-place ops); any returned tensors are released.</summary>
    public void CallVoid(params ReadOnlySpan<NativeArg> args) => ReleaseAll(Invoke(args, stackalloc NativeRet[4]));

    /// <summary>
    /// Calls an operator returning several values (a tuple or a tensor list, flattened in order); entries that
    /// are not tensors (or are undefined) come back null. The result has as many entries as the operator returned.
    /// </summary>
    public Tensor?[] CallMany(params ReadOnlySpan<NativeArg> args)
    {
        _ = Handle; // resolves the schema, and with it the return count that sizes the first buffer
        Span<NativeRet> rets = Invoke(args, stackalloc NativeRet[Math.Clamp(_numReturns, 1, 16)]);
        var result = new Tensor?[rets.Length];
        for (int k = 0; k < rets.Length; ++k)
            result[k] = rets[k].Tag == RetTag.Tensor && rets[k].T != IntPtr.Zero ? new Tensor(rets[k].T) : null;
        return result;
    }

    /// <summary>Calls an operator that returns a number (int, float or bool) and no tensors.</summary>
    public double CallScalar(params ReadOnlySpan<NativeArg> args)
    {
        Span<NativeRet> rets = Invoke(args, stackalloc NativeRet[4]);
        NativeRet first = rets.Length > 0 ? rets[0] : default;
        ReleaseAll(rets);
        return rets.Length < 1
            ? throw new TorchException($"{this} returned nothing")
            : first.Tag switch
            {
                RetTag.Int or RetTag.Bool => first.I,
                RetTag.Double => first.D,
                _ => throw new TorchException($"{this} did not return a number"),
            };
    }

    /// <summary>(Tensor, Tensor) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallTT(Tensor a, Tensor b)
    {
        IntPtr r;
        int status = NativeMethods.slovo_op_call_tt(Handle, a.Handle, b.Handle, &r);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        NativeLibraryLoader.Check(status);
        return new Tensor(r);
    }

    /// <summary>(Tensor, Tensor, Scalar) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallTTS(Tensor a, Tensor b, double alpha, bool alphaIsInt)
    {
        IntPtr r;
        int status = NativeMethods.slovo_op_call_tts(Handle, a.Handle, b.Handle, alpha, alphaIsInt ? 1 : 0, &r);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        NativeLibraryLoader.Check(status);
        return new Tensor(r);
    }

    /// <summary>(Tensor) -> Tensor without boxing; only for operators of exactly that schema.</summary>
    internal Tensor CallT(Tensor a)
    {
        IntPtr r;
        int status = NativeMethods.slovo_op_call_t(Handle, a.Handle, &r);
        GC.KeepAlive(a);
        NativeLibraryLoader.Check(status);
        return new Tensor(r);
    }

    /// <summary>
    /// Runs the operator. Results land in <paramref name="buffer"/> or, when there are more than it holds, in a new
    /// array of exactly the right size (the shim keeps them until taken, so nothing is released twice or lost).
    /// Every argument's owner (the managed tensors) is kept reachable until the native call has returned, so a
    /// temporary such as the <c>a + b</c> in <c>(a + b).Sum()</c> cannot be finalized while libtorch reads it.
    /// </summary>
    private Span<NativeRet> Invoke(ReadOnlySpan<NativeArg> args, Span<NativeRet> buffer)
    {
        IntPtr h = Handle;
        if (args.Length > 64) throw new ArgumentException($"{this}: at most 64 arguments, got {args.Length}", nameof(args));
        NativeArgValue* raw = stackalloc NativeArgValue[args.Length];
        for (int k = 0; k < args.Length; ++k) raw[k] = args[k].Value;
        int n, status;
        fixed (NativeRet* rets = buffer)
            status = NativeMethods.slovo_op_call(h, raw, args.Length, rets, buffer.Length, &n);
        for (int k = 0; k < args.Length; ++k) GC.KeepAlive(args[k].Owner);
        NativeLibraryLoader.Check(status);
        if (n <= buffer.Length) return buffer[..n];
        var all = new NativeRet[n];
        fixed (NativeRet* rets = all)
            NativeLibraryLoader.Check(NativeMethods.slovo_op_take_results(rets, n, &n));
        return all.AsSpan(0, n);
    }

    private static void ReleaseAll(ReadOnlySpan<NativeRet> rets)
    {
        foreach (NativeRet r in rets)
            if (r.Tag == RetTag.Tensor && r.T != IntPtr.Zero)
                NativeMethods.slovo_tensor_free(r.T);
    }

    /// <inheritdoc />
    public override string ToString() => Overload.Length == 0 ? Name : $"{Name}.{Overload}";
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]
[assembly: InternalsVisibleTo("Slovo.Torch.Tests")]
[assembly: InternalsVisibleTo("Slovo.Bench")]

namespace Slovo.Torch.Native;

/// <summary>Tags of <see cref="NativeArg"/>; mirrors SlovoArgTag in native/src/slovo.h.</summary>
internal enum ArgTag : int
{
    None = 0, Tensor = 1, Int = 2, Double = 3, Bool = 4, IntList = 5, TensorList = 6, OptTensorList = 7,
    DoubleList = 8, BoolList = 9, ScalarType = 10, String = 11, Device = 12, Layout = 13, MemoryFormat = 14, Generator = 15,
}

/// <summary>Tags of <see cref="NativeRet"/>; mirrors SlovoRetTag.</summary>
internal enum RetTag : int { None = 0, Tensor = 1, Int = 2, Double = 3, Bool = 4 }

/// <summary>
/// One typed operator argument; build it with the factories. A tensor argument also holds the managed
/// <see cref="Tensor"/> (or tensor list) it came from, so that tensor cannot be finalized while the call that
/// takes this argument is still running: <see cref="Op"/> keeps every argument's owner alive until the native
/// call has returned.
/// </summary>
[StructLayout(LayoutKind.Explicit)]
public partial struct NativeArg
{
    [FieldOffset(0)] internal ArgTag Tag;
    [FieldOffset(4)] internal int Length;
    [FieldOffset(8)] internal long I;
    [FieldOffset(8)] internal double D;
    [FieldOffset(8)] internal IntPtr P;
    [FieldOffset(16)] internal object? Owner;

    /// <summary>The 16 bytes the C ABI reads (SlovoArg).</summary>
    internal readonly NativeArgValue Value => new() { Tag = Tag, Length = Length, I = I };
}

/// <summary>The C ABI's view of an argument (SlovoArg in native/src/slovo.h): tag, length and one 8-byte payload.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct NativeArgValue
{
    [FieldOffset(0)] internal ArgTag Tag;
    [FieldOffset(4)] internal int Length;
    [FieldOffset(8)] internal long I;
}

/// <summary>One operator result.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct NativeRet
{
    [FieldOffset(0)] public RetTag Tag;
    [FieldOffset(8)] public IntPtr T;
    [FieldOffset(8)] public long I;
    [FieldOffset(8)] public double D;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeTensorInfo
{
    public long Numel;
    public int Dim;
    public int DType;
    public int DeviceType;
    public int DeviceIndex;
    public int RequiresGrad;
    public int IsLeaf;
    public int IsContiguous;
    public int Pad;
}

/// <summary>The exports of libslovo_native. Every call that returns a status goes through <see cref="NativeLibraryLoader.Check"/>.</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Lib = "slovo_native";

    [DllImport(Lib)] internal static extern IntPtr slovo_last_error();
    [DllImport(Lib)] internal static extern int slovo_abi_version();
    [DllImport(Lib)] internal static extern IntPtr slovo_torch_version();
    [DllImport(Lib)] internal static extern int slovo_cpu_cache_enable(long limitBytes);
    [DllImport(Lib)] internal static extern int slovo_cpu_cache_empty();
    [DllImport(Lib)] internal static extern int slovo_cpu_cache_stats(long* result);

    [DllImport(Lib)] internal static extern void slovo_tensor_free(IntPtr t);
    [DllImport(Lib)] internal static extern int slovo_tensor_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_tensor_info(IntPtr t, NativeTensorInfo* info);
    [DllImport(Lib)] internal static extern int slovo_tensor_sizes(IntPtr t, int strides, long* result, int cap);
    [DllImport(Lib)] internal static extern int slovo_tensor_copy_to(IntPtr t, void* dst, long nbytes);
    [DllImport(Lib)] internal static extern int slovo_tensor_copy_from(IntPtr t, void* src, long nbytes);
    [DllImport(Lib)] internal static extern int slovo_tensor_data_ptr(IntPtr t, void** result);
    [DllImport(Lib)] internal static extern int slovo_tensor_item_double(IntPtr t, double* result);
    [DllImport(Lib)] internal static extern int slovo_tensor_item_int64(IntPtr t, long* result);
    [DllImport(Lib)] internal static extern int slovo_tensor_share(IntPtr t, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_tensor_set_data(IntPtr t, IntPtr src);
    [DllImport(Lib)] internal static extern int slovo_tensor_storage_use_count(IntPtr t, long* result);

    [DllImport(Lib)] internal static extern int slovo_op_find(byte* name, byte* overload, IntPtr* result, int* numArgs, int* numReturns);
    [DllImport(Lib)] internal static extern int slovo_op_schema(IntPtr op, IntPtr* result);
    [DllImport(Lib)] internal static extern void slovo_string_free(IntPtr s);
    [DllImport(Lib)] internal static extern int slovo_op_call(IntPtr op, NativeArgValue* args, int nargs, NativeRet* rets, int cap, int* nret);
    [DllImport(Lib)] internal static extern int slovo_op_take_results(NativeRet* rets, int cap, int* nret);
    [DllImport(Lib)] internal static extern int slovo_op_call_tt(IntPtr op, IntPtr a, IntPtr b, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_op_call_tts(IntPtr op, IntPtr a, IntPtr b, double alpha, int alphaIsInt, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_op_call_t(IntPtr op, IntPtr a, IntPtr* result);

    [DllImport(Lib)] internal static extern int slovo_tensor_set_requires_grad(IntPtr t, int value);
    [DllImport(Lib)] internal static extern int slovo_backward(IntPtr t, IntPtr grad, int retainGraph, int createGraph);
    [DllImport(Lib)] internal static extern int slovo_tensor_grad(IntPtr t, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_tensor_set_grad(IntPtr t, IntPtr grad);
    [DllImport(Lib)] internal static extern int slovo_tensor_zero_grad(IntPtr t, int setToNone);
    [DllImport(Lib)] internal static extern int slovo_grad_enabled();
    [DllImport(Lib)] internal static extern int slovo_set_grad_enabled(int enabled);
    [DllImport(Lib)] internal static extern int slovo_inference_mode_enter(IntPtr* guard);
    [DllImport(Lib)] internal static extern void slovo_inference_mode_exit(IntPtr guard);
    [DllImport(Lib)] internal static extern int slovo_is_inference_mode();
    [DllImport(Lib)] internal static extern int slovo_autocast_push(int deviceType, int dtype, int* prevEnabled, int* prevDtype);
    [DllImport(Lib)] internal static extern int slovo_autocast_pop(int deviceType, int prevEnabled, int prevDtype);
    [DllImport(Lib)] internal static extern int slovo_set_allow_tf32(int allow);
    [DllImport(Lib)] internal static extern int slovo_cuda_synchronize();

    [DllImport(Lib)] internal static extern int slovo_dist_has_backend(int backend);
    [DllImport(Lib)] internal static extern int slovo_store_tcp_new(byte* host, int port, int worldSize, int isServer, long timeoutMs, IntPtr* result);
    [DllImport(Lib)] internal static extern void slovo_store_free(IntPtr store);
    [DllImport(Lib)] internal static extern int slovo_pg_gloo_new(IntPtr store, int rank, int size, long timeoutMs, byte* hostname, IntPtr* result);
    [DllImport(Lib)] internal static extern void slovo_pg_free(IntPtr group);
    [DllImport(Lib)] internal static extern int slovo_pg_allreduce(IntPtr group, IntPtr* tensors, int n, int op);
    [DllImport(Lib)] internal static extern int slovo_pg_broadcast(IntPtr group, IntPtr* tensors, int n, int root);
    [DllImport(Lib)] internal static extern int slovo_pg_allgather(IntPtr group, IntPtr input, IntPtr* outputs, int n);
    [DllImport(Lib)] internal static extern int slovo_pg_barrier(IntPtr group);

    [DllImport(Lib)] internal static extern int slovo_manual_seed(ulong seed);
    [DllImport(Lib)] internal static extern int slovo_generator_new(int deviceType, int deviceIndex, ulong seed, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_generator_seed(IntPtr generator, ulong seed);
    [DllImport(Lib)] internal static extern void slovo_generator_free(IntPtr generator);
    [DllImport(Lib)] internal static extern int slovo_generator_clone(IntPtr generator, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_checkpoint(IntPtr segment, long state, IntPtr input, IntPtr* result);
    [DllImport(Lib)] internal static extern int slovo_set_num_threads(int n);
    [DllImport(Lib)] internal static extern int slovo_get_num_threads();
    [DllImport(Lib)] internal static extern int slovo_cuda_device_count();
    [DllImport(Lib)] internal static extern int slovo_set_blas_threads(int n);
}

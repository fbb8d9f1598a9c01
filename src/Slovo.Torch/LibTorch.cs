using System.Runtime.InteropServices;
using Slovo.Torch.Native;

namespace Slovo.Torch;

/// <summary>Process-wide settings and guards of the libtorch runtime.</summary>
public static class LibTorch
{
    /// <summary>The libtorch version string, e.g. "1.13.0".</summary>
    public static string Version
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return Marshal.PtrToStringUTF8(NativeMethods.slovo_torch_version()) ?? "";
        }
    }

    /// <summary>Seeds every libtorch random generator.</summary>
    public static void ManualSeed(ulong seed)
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeLibraryLoader.Check(NativeMethods.slovo_manual_seed(seed));
    }

    /// <summary>Intra-op thread count.</summary>
    public static int Threads
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.slovo_get_num_threads();
        }
        set
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "thread count must be positive");
            NativeLibraryLoader.EnsureLoaded();
            NativeLibraryLoader.Check(NativeMethods.slovo_set_num_threads(value));
        }
    }

    /// <summary>
    /// Sets OpenBLAS's own thread count; returns false when the loaded BLAS is not OpenBLAS. Slovo sets 1 at start
    /// (unless OPENBLAS_NUM_THREADS is set), since libtorch already runs <see cref="Threads"/> workers that each call BLAS.
    /// </summary>
    public static bool SetBlasThreads(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "thread count must be positive");
        NativeLibraryLoader.EnsureLoaded();
        return NativeMethods.slovo_set_blas_threads(n) != 0;
    }

    /// <summary>
    /// Makes the C allocator keep freed memory for reuse instead of handing it back to the kernel; returns false where
    /// that cannot be set (not glibc) or where the user chose otherwise (any of MALLOC_MMAP_MAX_, MALLOC_MMAP_THRESHOLD_,
    /// MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES set, or SLOVO_KEEP_FREED_MEMORY=0).
    /// </summary>
    /// <remarks>
    /// glibc's malloc maps every block of 32 MB or more on its own and unmaps it when freed, so a training step that
    /// allocates the same large buffers every step (the logits over a vocabulary, their gradients) makes the kernel map
    /// and zero those pages again every step. With this set (M_MMAP_MAX 0, M_TRIM_THRESHOLD 2 GiB), freed blocks stay in
    /// the process and the next step reuses them; the price is that the process keeps its peak size until it exits,
    /// as PyTorch's CUDA caching allocator does on a GPU. It takes effect for what the main thread allocates (glibc's main
    /// heap); other threads allocate from arenas of their own, which map large blocks regardless. Process-wide and not
    /// undone; the <c>slovo</c> command calls it at start-up, a library user opts in.
    /// </remarks>
    public static unsafe bool KeepFreedMemory()
    {
        if (Environment.GetEnvironmentVariable("SLOVO_KEEP_FREED_MEMORY") == "0") return false;
        foreach (string name in (string[])["MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"])
            if (Environment.GetEnvironmentVariable(name) is not null) return false;
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out IntPtr libc)) return false;
        if (!NativeLibrary.TryGetExport(libc, "mallopt", out IntPtr address)) return false;
        var mallopt = (delegate* unmanaged<int, int, int>)address;
        const int mTrimThreshold = -1, mMmapMax = -4; // <malloc.h>
        return mallopt(mMmapMax, 0) == 1 && mallopt(mTrimThreshold, int.MaxValue) == 1;
    }

    /// <summary>The number of CUDA devices (0 on a CPU-only build).</summary>
    public static int CudaDeviceCount
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.slovo_cuda_device_count();
        }
    }

    /// <summary>Whether a CUDA device can be used.</summary>
    public static bool CudaIsAvailable => CudaDeviceCount > 0;

    /// <summary>Lets float32 matmuls and convolutions on CUDA use TF32 tensor cores (10-bit mantissa products, float32 sums), as
    /// PyTorch's <c>allow_tf32</c> flags do; off by default. No effect on the CPU.</summary>
    public static void AllowTF32(bool allow)
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeLibraryLoader.Check(NativeMethods.slovo_set_allow_tf32(allow ? 1 : 0));
    }

    /// <summary>Waits until every kernel queued on the current CUDA device has run (for timing); returns at once without CUDA.</summary>
    public static void CudaSynchronize()
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeLibraryLoader.Check(NativeMethods.slovo_cuda_synchronize());
    }

    /// <summary>The best device here: cuda when available, else cpu.</summary>
    public static Device DefaultDevice => CudaIsAvailable ? Device.CUDA() : Device.CPU;

    /// <summary>Whether autograd records operations on this thread.</summary>
    public static bool IsGradEnabled
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.slovo_grad_enabled() != 0;
        }
    }

    /// <summary>Turns gradient recording off on this thread until the returned guard is disposed.</summary>
    public static GradModeGuard NoGrad() => new(false);

    /// <summary>Sets gradient recording on this thread until the returned guard is disposed.</summary>
    public static GradModeGuard EnableGrad(bool enabled = true) => new(enabled);

    /// <summary>
    /// Automatic mixed precision on this thread until the guard is disposed, as <c>torch.autocast(device_type, dtype)</c>:
    /// on <paramref name="device"/>'s type, the operators libtorch lists as safe in lower precision (matmul, linear,
    /// convolution, attention) run in <paramref name="dtype"/> (bfloat16 or float16), the ones that need range (softmax,
    /// log-softmax, losses, norms) in float32. Weights stay float32. Wrap the forward pass, not the backward.
    /// </summary>
    public static AutocastGuard Autocast(Device device, ScalarType dtype = ScalarType.BFloat16) => new(device.Type, dtype);

    /// <summary>Enters inference mode (no autograd, no version counters) until the guard is disposed, on this thread.</summary>
    public static InferenceModeGuard InferenceMode() => new();

    /// <summary>Whether inference mode is on for this thread.</summary>
    public static bool IsInferenceMode
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.slovo_is_inference_mode() != 0;
        }
    }
}

/// <summary>Restores the previous grad mode when disposed.</summary>
public readonly struct GradModeGuard : IDisposable
{
    private readonly bool _previous;

    internal GradModeGuard(bool enabled)
    {
        NativeLibraryLoader.EnsureLoaded();
        _previous = NativeMethods.slovo_set_grad_enabled(enabled ? 1 : 0) != 0;
    }

    /// <summary>Restores the grad mode that was in force before.</summary>
    public void Dispose() => NativeMethods.slovo_set_grad_enabled(_previous ? 1 : 0);
}

/// <summary>Ends an autocast region when disposed (on the thread that began it), restoring the state before it.</summary>
public sealed class AutocastGuard : IDisposable
{
    private readonly DeviceType _device;
    private readonly int _previousEnabled, _previousDtype;
    private bool _done;

    internal unsafe AutocastGuard(DeviceType device, ScalarType dtype)
    {
        NativeLibraryLoader.EnsureLoaded();
        int enabled, previous;
        NativeLibraryLoader.Check(NativeMethods.slovo_autocast_push((int)device, (int)dtype, &enabled, &previous));
        (_device, _previousEnabled, _previousDtype) = (device, enabled, previous);
    }

    /// <summary>Restores the autocast state from before.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        NativeLibraryLoader.Check(NativeMethods.slovo_autocast_pop((int)_device, _previousEnabled, _previousDtype));
    }
}

/// <summary>Leaves inference mode when disposed (on the thread that entered it).</summary>
public sealed class InferenceModeGuard : IDisposable
{
    private IntPtr _guard;

    internal unsafe InferenceModeGuard()
    {
        NativeLibraryLoader.EnsureLoaded();
        IntPtr g;
        NativeLibraryLoader.Check(NativeMethods.slovo_inference_mode_enter(&g));
        _guard = g;
    }

    /// <summary>Leaves inference mode.</summary>
    public void Dispose()
    {
        IntPtr g = Interlocked.Exchange(ref _guard, IntPtr.Zero);
        if (g != IntPtr.Zero) NativeMethods.slovo_inference_mode_exit(g);
    }
}

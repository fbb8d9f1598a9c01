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
    /// How many bytes of freed CPU tensor memory Slovo keeps for reuse (0: none). Setting it installs the cache if it is
    /// not installed yet, and frees the oldest cached blocks beyond the new limit.
    /// </summary>
    /// <remarks>
    /// libtorch's own CPU allocator returns every block to the C allocator, and glibc unmaps blocks of 32 MB or more when
    /// they are freed (outside the main thread, anything past a thread arena's size), so a training step that allocates
    /// the same large buffers every step (the logits over a vocabulary, their gradients) makes the kernel map and zero
    /// those pages again every step. Slovo therefore installs a caching allocator for CPU tensors when it loads: freed
    /// blocks of 1 MiB or more are kept and handed to the next request of the same size (or up to 1/8 smaller), the
    /// least recently freed ones are released first past the limit, and the whole cache is released before an
    /// allocation is allowed to fail. Smaller blocks go to libtorch's allocator unchanged. The default limit is a quarter
    /// of the memory available to the process, at most 4 GiB; the environment variable <c>SLOVO_CPU_CACHE_MB</c> sets it
    /// in MiB before the first tensor, and <c>SLOVO_CPU_CACHE_MB=0</c> leaves libtorch's allocator in place.
    /// Memory that tensors hold is unaffected: only what they freed is kept.
    /// </remarks>
    public static unsafe long CpuCacheLimit
    {
        get => CpuCache.LimitBytes;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "the CPU cache limit must be 0 or more bytes");
            NativeLibraryLoader.EnsureLoaded();
            if (value == 0 && CpuCache == default) return; // never installed: nothing to turn off
            NativeLibraryLoader.Check(NativeMethods.slovo_cpu_cache_enable(value));
        }
    }

    /// <summary>Frees every block the CPU cache holds (what live tensors hold stays); a no-op without the cache.</summary>
    public static void EmptyCpuCache()
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeLibraryLoader.Check(NativeMethods.slovo_cpu_cache_empty());
    }

    /// <summary>The CPU cache's counters now; all zero when it is not installed.</summary>
    public static unsafe CpuCacheStats CpuCache
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            long* s = stackalloc long[5];
            NativeLibraryLoader.Check(NativeMethods.slovo_cpu_cache_stats(s));
            return new CpuCacheStats(s[0], s[1], s[2], s[3], s[4]);
        }
    }

    /// <summary>The limit the cache is installed with at load: SLOVO_CPU_CACHE_MB when set, else a quarter of the memory
    /// available to the process, at most 4 GiB.</summary>
    internal static long DefaultCpuCacheLimit()
    {
        string? setting = Environment.GetEnvironmentVariable("SLOVO_CPU_CACHE_MB");
        if (setting is not null)
        {
            if (!long.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long mib) || mib > long.MaxValue >> 20)
                throw new ArgumentException(
                    $"SLOVO_CPU_CACHE_MB must be a whole number of MiB (0 turns the CPU cache off), got '{setting}'. HINT: unset it for the default");
            return mib << 20;
        }
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return Math.Min(4L << 30, available / 4);
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

/// <summary>Counters of the CPU memory cache (see <see cref="LibTorch.CpuCacheLimit"/>).</summary>
/// <param name="CachedBytes">Freed bytes kept for reuse.</param>
/// <param name="LiveBytes">Bytes that live tensors hold in blocks of 1 MiB or more.</param>
/// <param name="LimitBytes">The most bytes the cache keeps.</param>
/// <param name="Hits">Allocations of 1 MiB or more served from the cache.</param>
/// <param name="Misses">Allocations of 1 MiB or more that had to ask the C allocator.</param>
public readonly record struct CpuCacheStats(long CachedBytes, long LiveBytes, long LimitBytes, long Hits, long Misses);

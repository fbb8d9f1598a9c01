using System.Reflection;
using System.Runtime.InteropServices;

namespace Slovo.Torch.Native;

/// <summary>
/// Finds libslovo_native beside the assembly and turns a missing libtorch into a
/// <see cref="TorchNotFoundException"/> that names the install command.
/// </summary>
internal static class NativeLibraryLoader
{
    internal const int ExpectedAbiVersion = 7;
    internal const string InstallHint =
        "apt-get update && apt-get install -y libtorch-dev libopenblas0-pthread (then rebuild: dotnet build)";

    private static readonly object Gate = new();
    private static bool _ready;

    /// <summary>Loads the shim once; throws <see cref="TorchNotFoundException"/> with a fix on failure.</summary>
    internal static void EnsureLoaded()
    {
        if (_ready) return;
        lock (Gate)
        {
            if (_ready) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            int abi;
            try
            {
                abi = NativeMethods.slovo_abi_version();
            }
            catch (DllNotFoundException e)
            {
                throw new TorchNotFoundException(Describe(e), e);
            }
            if (abi != ExpectedAbiVersion)
                throw new TorchNotFoundException(
                    $"libslovo_native has ABI version {abi} but this Slovo.Torch expects {ExpectedAbiVersion}. " +
                    "HINT: rebuild the native shim: rm -rf native/build && dotnet build", null);
            // One BLAS thread per libtorch worker unless the user chose otherwise (see slovo_set_blas_threads).
            if (Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS") is null) NativeMethods.slovo_set_blas_threads(1);
            // Freed CPU tensor memory is kept for reuse unless the user chose otherwise (see LibTorch.CpuCacheLimit).
            long cacheLimit = LibTorch.DefaultCpuCacheLimit();
            // It is a speed-up only: where libtorch keeps an allocator of its own (higher priority), Slovo runs without it.
            if (cacheLimit > 0) NativeMethods.slovo_cpu_cache_enable(cacheLimit);
            _ready = true;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != NativeMethods.Lib) return IntPtr.Zero;
        string dir = AppContext.BaseDirectory;
        foreach (string candidate in new[]
                 {
                     Path.Combine(dir, "libslovo_native.so"),
                     Path.Combine(Path.GetDirectoryName(assembly.Location) ?? dir, "libslovo_native.so"),
                 })
        {
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        }
        if (NativeLibrary.TryLoad("libslovo_native.so", assembly, path, out IntPtr handle)) return handle;
        // Installed without a build step (the slovo tool): build the shipped sources once against this machine's libtorch.
        string? built = NativeShimBuilder.Find(Path.GetDirectoryName(assembly.Location) ?? dir);
        return built is not null ? NativeLibrary.Load(built) : IntPtr.Zero;
    }

    internal static string Describe(DllNotFoundException e)
    {
        string msg = e.Message;
        bool libtorchMissing = msg.Contains("libtorch", StringComparison.Ordinal) ||
                               msg.Contains("libc10", StringComparison.Ordinal);
        if (libtorchMissing || !File.Exists("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so"))
            return "libtorch is not installed, so Slovo cannot run tensors. " +
                   $"HINT: {InstallHint}. Loader said: {msg}";
        return "The native shim libslovo_native.so was not found or could not be loaded. " +
               "HINT: build it with 'dotnet build' (needs cmake and g++), or run ./scripts/setup. " +
               $"Loader said: {msg}";
    }

    /// <summary>Throws the pending native error when <paramref name="status"/> is non-zero.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void Check(int status)
    {
        if (status != 0) ThrowLastError();
    }

    internal static void ThrowLastError()
    {
        string message = Marshal.PtrToStringUTF8(NativeMethods.slovo_last_error()) ?? "unknown native error";
        throw TorchException.FromNative(message);
    }
}

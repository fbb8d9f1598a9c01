using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Slovo.Torch.Native;

/// <summary>
/// Builds libslovo_native from the sources shipped beside the assembly (<c>slovo-native/</c>) when no built shim is there:
/// a program installed without a build step (the <c>slovo</c> dotnet tool) compiles it once against this machine's libtorch
/// with CMake, into <c>~/.cache/slovo/native/</c> (or <c>$XDG_CACHE_HOME/slovo/native/</c>), keyed by the sources and
/// <c>SLOVO_TORCH_PREFIX_PATH</c> (a pip torch's cmake prefix, when set).
/// </summary>
internal static class NativeShimBuilder
{
    /// <summary>The environment variable that points CMake at a libtorch other than Debian's.</summary>
    internal const string PrefixVariable = "SLOVO_TORCH_PREFIX_PATH";

    /// <summary>The built shim for the sources under <paramref name="assemblyDir"/>, building it first if needed; null when no sources are there.</summary>
    internal static string? Find(string assemblyDir)
    {
        string source = Path.Combine(assemblyDir, "slovo-native");
        if (!File.Exists(Path.Combine(source, "CMakeLists.txt"))) return null;
        string? prefix = Environment.GetEnvironmentVariable(PrefixVariable);
        string dir = Path.Combine(CacheRoot(), "tool-" + Key(source, prefix));
        string lib = Path.Combine(dir, "libslovo_native.so");
        if (File.Exists(lib)) return lib;
        Build(source, dir, lib, prefix);
        return lib;
    }

    private static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "slovo", "native");
    }

    private static string Key(string source, string? prefix)
    {
        using var sha = SHA256.Create();
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            byte[] name = Encoding.UTF8.GetBytes(Path.GetRelativePath(source, file));
            sha.TransformBlock(name, 0, name.Length, null, 0);
            byte[] content = File.ReadAllBytes(file);
            sha.TransformBlock(content, 0, content.Length, null, 0);
        }
        byte[] tail = Encoding.UTF8.GetBytes(prefix ?? "");
        sha.TransformFinalBlock(tail, 0, tail.Length);
        return Convert.ToHexStringLower(sha.Hash!)[..16];
    }

    private static void Build(string source, string dir, string lib, string? prefix)
    {
        string build = Path.Combine(dir, "build-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(build);
        Console.Error.WriteLine($"slovo: building the native shim against this machine's libtorch (once; cached in {dir})");
        try
        {
            var configure = new List<string> { "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release" };
            if (!string.IsNullOrEmpty(prefix)) configure.Add($"-DCMAKE_PREFIX_PATH={prefix}");
            Run("cmake", configure);
            Run("cmake", ["--build", build, "-j", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            string staged = Path.Combine(dir, $"libslovo_native.so.{Guid.NewGuid():N}");
            File.Copy(Path.Combine(build, "libslovo_native.so"), staged);
            File.Move(staged, lib, overwrite: true);                                     // atomic: a concurrent loader sees all or nothing
        }
        finally
        {
            try { Directory.Delete(build, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void Run(string program, IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TorchNotFoundException($"building the native shim needs {program}, which is not installed. " +
                                             $"HINT: apt-get update && apt-get install -y cmake g++ libtorch-dev libopenblas0-pthread", e);
        }
        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync(), errors = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string log = (output.Result + errors.Result).Trim();
                if (log.Length > 2000) log = "…" + log[^2000..];
                throw new TorchNotFoundException($"building the native shim failed ({program} {string.Join(' ', args)}). " +
                                                 $"HINT: {NativeLibraryLoader.InstallHint}; for a pip torch set {PrefixVariable}. Its output: {log}", null);
            }
        }
    }
}

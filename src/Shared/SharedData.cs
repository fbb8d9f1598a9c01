namespace Slovo;

/// <summary>
/// Finds the datasets and models shipped beside the project: the folder named by the <c>SLOVO_SHARED</c> environment
/// variable, else a <c>shared</c> folder (holding <c>data/</c> or <c>models/</c>) in the working directory, the program's
/// folder, or any folder above them (a checkout at <c>work/main</c> finds <c>work/shared</c>). The CLI, recipes, tests
/// and benchmarks all look here, so one variable moves them all.
/// </summary>
internal static class SharedData
{
    /// <summary>The environment variable that names the shared folder explicitly.</summary>
    public const string EnvironmentVariable = "SLOVO_SHARED";

    /// <summary>The shared folder, or null when none is found.</summary>
    public static string? Root => Find();

    /// <summary>A path under <c>shared/data</c>, e.g. <c>SharedData.Data("arxiv", "arxivData.json")</c>.</summary>
    public static string Data(params string[] parts) => Under(["data", .. parts]);

    /// <summary>A path under <c>shared/models</c>.</summary>
    public static string Model(params string[] parts) => Under(["models", .. parts]);

    /// <summary>The shared folder, or a <see cref="DirectoryNotFoundException"/> that says where it was looked for and how to point at it.</summary>
    public static string RequireRoot() => Find() ?? throw new DirectoryNotFoundException(
        $"the shipped datasets (a 'shared' folder with data/ and models/) were not found above {Directory.GetCurrentDirectory()} " +
        $"or {AppContext.BaseDirectory}; set {EnvironmentVariable}=/path/to/shared");

    /// <summary>
    /// A path under the shared folder. When no shared folder is found the path is made under <c>../shared</c> of the working
    /// directory, so a later "file not found" names a concrete place.
    /// </summary>
    private static string Under(string[] parts) =>
        Path.GetFullPath(Path.Combine([Find() ?? Path.Combine(Directory.GetCurrentDirectory(), "..", "shared"), .. parts]));

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env);
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (string? dir = Path.GetFullPath(start); dir is not null; dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine(dir, "shared");
                if (Directory.Exists(Path.Combine(candidate, "data")) || Directory.Exists(Path.Combine(candidate, "models"))) return candidate;
            }
        return null;
    }
}

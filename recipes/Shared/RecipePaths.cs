namespace Slovo.Recipes;

/// <summary>Where a recipe finds the repository and the shipped data.</summary>
public static class RecipePaths
{
    /// <summary>The repository root, found from the program's folder (recipes/NAME/bin/Release/net10.0).</summary>
    public static string Root() => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    /// <summary>../shared/data, or an error naming where it was looked for.</summary>
    public static string SharedData()
    {
        string shared = Path.GetFullPath(Path.Combine(Root(), "..", "shared", "data"));
        if (!Directory.Exists(shared)) throw new DirectoryNotFoundException($"shipped data not found at {shared}");
        return shared;
    }
}

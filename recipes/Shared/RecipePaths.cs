namespace Slovo.Recipes;

/// <summary>Where a recipe finds the repository and the shipped data.</summary>
public static class RecipePaths
{
    /// <summary>The repository root, found from the program's folder (recipes/NAME/bin/Release/net10.0).</summary>
    public static string Root() => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    /// <summary>The shipped datasets (shared/data), found by <see cref="Slovo.SharedData"/>, or an error naming where it looked.</summary>
    public static string SharedData() => Path.Combine(Slovo.SharedData.RequireRoot(), "data");
}

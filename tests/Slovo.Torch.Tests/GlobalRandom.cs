namespace Slovo.Torch.Tests;

/// <summary>
/// Tests that seed libtorch's process-wide generator and compare what it draws. Every other test class runs in
/// parallel and may draw from that generator too (any random operator given no <see cref="RandomGenerator"/>), so
/// these run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRandom
{
    /// <summary>The collection's name.</summary>
    public const string Name = "global random generator";
}

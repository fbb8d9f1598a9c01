using Slovo.Torch;

namespace Slovo.TestSupport;

/// <summary>Randomness for tests that run in parallel.</summary>
internal static class TestRandom
{
    /// <summary>
    /// Makes a fresh generator seeded <paramref name="seed"/> the thread's current one until disposed: weight
    /// initialisation, random inputs and dropout in the test then draw from it alone, whatever other tests draw.
    /// </summary>
    public static IDisposable Use(ulong seed) => new Seeded(seed);

    private sealed class Seeded : IDisposable
    {
        private readonly RandomGenerator _generator;
        private readonly RandomGenerator.Scope _scope;

        public Seeded(ulong seed)
        {
            _generator = new RandomGenerator(seed);
            _scope = _generator.Use();
        }

        public void Dispose()
        {
            _scope.Dispose();
            _generator.Dispose();
        }
    }
}

/// <summary>
/// Tests that seed libtorch's process-wide generator, or train models that draw from it (a fused multi-layer RNN with
/// dropout): every other test runs in parallel and may draw from that generator too, so these run alone, after them.
/// </summary>
[Xunit.CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRandom
{
    /// <summary>The collection's name.</summary>
    public const string Name = "global random generator";
}

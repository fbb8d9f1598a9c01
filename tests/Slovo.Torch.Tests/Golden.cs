using Slovo.Torch.Serialization;

namespace Slovo.Torch.Tests;

/// <summary>Loads golden files made by tests/golden/make_golden.py and compares tensors with stated tolerances.</summary>
internal sealed class Golden : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    private Golden(Dictionary<string, Tensor> tensors) => _tensors = tensors;

    public static string RepoRoot => TestSupport.TestPaths.RepoRoot;

    public static string SharedDir => TestSupport.TestPaths.Shared;

    public static Golden Load(string name) =>
        new(SafeTensors.Load(Path.Combine(RepoRoot, "tests", "golden", name + ".safetensors")));

    public Tensor this[string key] => _tensors.TryGetValue(key, out Tensor? t) ? t
        : throw new KeyNotFoundException($"golden file has no '{key}'; keys: {string.Join(", ", _tensors.Keys)}");

    public IEnumerable<string> Keys => _tensors.Keys;

    /// <summary>Parameters of the reference module under their PyTorch names.</summary>
    public Dictionary<string, Tensor> Params() => _tensors.Where(kv => kv.Key.StartsWith("param.", StringComparison.Ordinal))
        .ToDictionary(kv => kv.Key["param.".Length..], kv => kv.Value);

    /// <summary>An input, made a leaf that requires grad when floating point.</summary>
    public Tensor Input(string name)
    {
        Tensor t = this["in." + name];
        if (!t.DType.IsFloatingPoint()) return t;
        Tensor leaf = t.Detach().DetachFromScope();
        leaf.RequiresGrad = true;
        return leaf;
    }

    /// <summary>Backward of Σ out·gout over the named outputs, as the script did.</summary>
    public void Backward(params (string Name, Tensor Output)[] outputs)
    {
        using var scope = DisposeScope.Begin();
        Tensor? total = null;
        foreach ((string n, Tensor o) in outputs)
        {
            Tensor term = (o * this["gout." + n]).Sum();
            total = total is null ? term : total + term;
        }
        total!.Backward();
    }

    public static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        Assert.Equal(expected.Shape, actual.Shape);
        using var scope = DisposeScope.Begin();
        Tensor e = expected.To(ScalarType.Float64), a = actual.Detach().To(ScalarType.Float64);
        double maxDiff = (e - a).Abs().Max().ToDouble();
        Assert.True(e.AllClose(a, rtol, atol), $"{what}: max |diff| = {maxDiff:E3} exceeds atol {atol:E1} + rtol {rtol:E1}·|expected|");
    }

    public void Dispose()
    {
        foreach (Tensor t in _tensors.Values) t.Dispose();
    }
}

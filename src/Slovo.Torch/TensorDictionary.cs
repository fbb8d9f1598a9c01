namespace Slovo.Torch;

/// <summary>Helpers for name → tensor dictionaries (state dicts, loaded checkpoints).</summary>
public static class TensorDictionary
{
    /// <summary>Disposes every tensor of <paramref name="tensors"/> (null is fine).</summary>
    public static void DisposeAll(IReadOnlyDictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (Tensor t in tensors.Values) t.Dispose();
    }

    /// <summary>The entries whose names start with <paramref name="prefix"/>, with the prefix removed (the tensors are shared, not copied).</summary>
    public static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> all, string prefix)
    {
        ArgumentNullException.ThrowIfNull(all);
        ArgumentNullException.ThrowIfNull(prefix);
        return all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
    }
}

using Slovo.Torch;

namespace Slovo.Training;

/// <summary>Helpers for name → tensor dictionaries (state dicts, loaded checkpoints).</summary>
internal static class TensorDictionary
{
    /// <summary>Disposes every tensor of <paramref name="tensors"/> (null is fine).</summary>
    public static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (Tensor t in tensors.Values) t.Dispose();
    }

    /// <summary>The entries whose names start with <paramref name="prefix"/>, with the prefix removed.</summary>
    public static Dictionary<string, Tensor> Prefixed(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
}

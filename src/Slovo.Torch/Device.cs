namespace Slovo.Torch;

/// <summary>Kinds of device; values are libtorch's c10::DeviceType codes.</summary>
public enum DeviceType : int
{
    /// <summary>The host CPU.</summary>
    CPU = 0,
    /// <summary>An NVIDIA GPU.</summary>
    CUDA = 1,
}

/// <summary>A device a tensor lives on.</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    /// <summary>The CPU.</summary>
    public static Device CPU => new(DeviceType.CPU);

    /// <summary>CUDA device <paramref name="index"/>.</summary>
    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        string t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return CPU;
        if (t == "cuda") return CUDA();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t[5..], out int i) && i >= 0) return CUDA(i);
        throw new ArgumentException($"unknown device '{text}'; use cpu, cuda or cuda:N", nameof(text));
    }

    /// <inheritdoc />
    public override string ToString() =>
        Type == DeviceType.CPU ? "cpu" : Index < 0 ? "cuda" : $"cuda:{Index}";
}

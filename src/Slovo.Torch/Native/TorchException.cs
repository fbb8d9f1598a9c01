namespace Slovo.Torch;

/// <summary>An error reported by libtorch; the process stays usable after it.</summary>
public class TorchException : Exception
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TorchException(string message, Exception? inner) : base(message, inner) { }

    internal static TorchException FromNative(string message)
    {
        if (message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
            return new TorchOutOfMemoryException(message);
        return new TorchException(message);
    }
}

/// <summary>libtorch ran out of memory on a device.</summary>
public sealed class TorchOutOfMemoryException : TorchException
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchOutOfMemoryException(string message) : base(message) { }
}

/// <summary>libtorch or the native shim is missing; the message names the command that fixes it.</summary>
public sealed class TorchNotFoundException : TorchException
{
    /// <summary>Creates the exception.</summary>
    public TorchNotFoundException(string message, Exception? inner) : base(message, inner) { }
}

namespace Slovo.Torch;

/// <summary>Element types; the values are libtorch's c10::ScalarType codes.</summary>
public enum ScalarType : int
{
    /// <summary>uint8.</summary>
    Byte = 0,
    /// <summary>int8.</summary>
    SByte = 1,
    /// <summary>int16.</summary>
    Int16 = 2,
    /// <summary>int32.</summary>
    Int32 = 3,
    /// <summary>int64.</summary>
    Int64 = 4,
    /// <summary>float16.</summary>
    Float16 = 5,
    /// <summary>float32.</summary>
    Float32 = 6,
    /// <summary>float64.</summary>
    Float64 = 7,
    /// <summary>bool.</summary>
    Bool = 11,
    /// <summary>bfloat16.</summary>
    BFloat16 = 15,
}

/// <summary>Facts about element types.</summary>
public static class ScalarTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.SByte or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown element type"),
    };

    /// <summary>Whether the type holds floating-point values.</summary>
    public static bool IsFloatingPoint(this ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16;

    /// <summary>The element type for a .NET type.</summary>
    public static ScalarType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? ScalarType.Float32 :
        typeof(T) == typeof(double) ? ScalarType.Float64 :
        typeof(T) == typeof(long) ? ScalarType.Int64 :
        typeof(T) == typeof(int) ? ScalarType.Int32 :
        typeof(T) == typeof(short) ? ScalarType.Int16 :
        typeof(T) == typeof(byte) ? ScalarType.Byte :
        typeof(T) == typeof(sbyte) ? ScalarType.SByte :
        typeof(T) == typeof(bool) ? ScalarType.Bool :
        typeof(T) == typeof(Half) ? ScalarType.Float16 :
        throw new NotSupportedException($"{typeof(T).Name} has no tensor element type");

    /// <summary>The safetensors / numpy-style name ("F32", "I64", ...).</summary>
    public static string SafetensorsName(this ScalarType t) => t switch
    {
        ScalarType.Byte => "U8", ScalarType.SByte => "I8", ScalarType.Int16 => "I16", ScalarType.Int32 => "I32",
        ScalarType.Int64 => "I64", ScalarType.Float16 => "F16", ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64", ScalarType.Bool => "BOOL", ScalarType.BFloat16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no safetensors name"),
    };

    /// <summary>Parses a safetensors dtype name; null when unknown.</summary>
    public static ScalarType? FromSafetensorsName(string name) => name switch
    {
        "U8" => ScalarType.Byte, "I8" => ScalarType.SByte, "I16" => ScalarType.Int16, "I32" => ScalarType.Int32,
        "I64" => ScalarType.Int64, "F16" => ScalarType.Float16, "F32" => ScalarType.Float32,
        "F64" => ScalarType.Float64, "BOOL" => ScalarType.Bool, "BF16" => ScalarType.BFloat16,
        _ => null,
    };
}

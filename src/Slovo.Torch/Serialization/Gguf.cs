using System.Buffers.Binary;
using System.Text;

namespace Slovo.Torch.Serialization;

/// <summary>The tensor types of GGUF files that Slovo reads (and, for F32, F16, BF16 and Q8_0, writes); values are ggml's.</summary>
public enum GgmlType
{
    /// <summary>32-bit floats.</summary>
    F32 = 0,
    /// <summary>16-bit IEEE floats.</summary>
    F16 = 1,
    /// <summary>Blocks of 32: a float16 scale and 4-bit values centred on 8.</summary>
    Q4_0 = 2,
    /// <summary>Blocks of 32: float16 scale and minimum, 4-bit values.</summary>
    Q4_1 = 3,
    /// <summary>Blocks of 32: a float16 scale and 5-bit values centred on 16.</summary>
    Q5_0 = 6,
    /// <summary>Blocks of 32: float16 scale and minimum, 5-bit values.</summary>
    Q5_1 = 7,
    /// <summary>Blocks of 32: a float16 scale and 8-bit values.</summary>
    Q8_0 = 8,
    /// <summary>Super-blocks of 256: 4-bit values with 6-bit scales and minimums per 32.</summary>
    Q4_K = 12,
    /// <summary>Super-blocks of 256: 5-bit values with 6-bit scales and minimums per 32.</summary>
    Q5_K = 13,
    /// <summary>Super-blocks of 256: 6-bit values with 8-bit scales per 16.</summary>
    Q6_K = 14,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>A GGUF file that breaks the format, or that Slovo cannot read; the message says where.</summary>
public sealed class GgufFormatException(string path, string problem) : Exception($"{path}: {problem}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;
}

/// <summary>One tensor of a GGUF file: its name, its shape in torch's order (GGUF stores the innermost dimension first), its type and where its data lies.</summary>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, long Offset, long Bytes)
{
    /// <summary>Elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>An array value in GGUF metadata: its element type code and the values (string[], int[], float[], ...).</summary>
public sealed record GgufArray(int ElementType, Array Values);

/// <summary>
/// Reads and writes GGUF (versions 2 and 3), llama.cpp's model format: a header of typed metadata (key → value) and tensor
/// descriptions, then aligned tensor data. Reading checks every count, length and offset against the file's size before
/// allocating, so a truncated or hostile file is a one-line error with memory bounded. Tensors are dequantized on load.
/// </summary>
public sealed class GgufFile
{
    private const uint Magic = 0x46554747; // "GGUF"
    private const int TypeUInt8 = 0, TypeInt8 = 1, TypeUInt16 = 2, TypeInt16 = 3, TypeUInt32 = 4, TypeInt32 = 5, TypeFloat32 = 6, TypeBool = 7,
        TypeString = 8, TypeArray = 9, TypeUInt64 = 10, TypeInt64 = 11, TypeFloat64 = 12;

    private GgufFile(string path, int version, Dictionary<string, object> metadata, List<GgufTensorInfo> tensors, long dataStart)
    {
        (Path, Version, Metadata, Tensors, DataStart) = (path, version, metadata, tensors, dataStart);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The format version (2 or 3).</summary>
    public int Version { get; }

    /// <summary>Metadata: strings, numbers (their CLR type is the stored one), bools, and <see cref="GgufArray"/>s.</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    /// <summary>The tensors, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Where the tensor data starts.</summary>
    public long DataStart { get; }

    /// <summary>A string value, or null when absent.</summary>
    public string? GetString(string key) => Metadata.TryGetValue(key, out object? v) ? v as string ?? throw Bad($"metadata '{key}' is not a string") : null;

    /// <summary>An integer value (any integer type), or null when absent.</summary>
    public long? GetInteger(string key) => Metadata.TryGetValue(key, out object? v) ? v switch
    {
        byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint ui => ui, int i => i, ulong ul => (long)ul, long l => l,
        _ => throw Bad($"metadata '{key}' is not an integer"),
    } : null;

    /// <summary>A floating-point value (integers accepted), or null when absent.</summary>
    public double? GetFloat(string key) => Metadata.TryGetValue(key, out object? v) ? v switch
    {
        float f => f, double d => d, _ => GetInteger(key),
    } : null;

    /// <summary>A bool value, or null when absent.</summary>
    public bool? GetBool(string key) => Metadata.TryGetValue(key, out object? v) ? v as bool? ?? throw Bad($"metadata '{key}' is not a bool") : null;

    /// <summary>An array's values as <typeparamref name="T"/>[], or null when absent.</summary>
    public T[]? GetArray<T>(string key) => Metadata.TryGetValue(key, out object? v)
        ? (v as GgufArray)?.Values as T[] ?? throw Bad($"metadata '{key}' is not an array of {typeof(T).Name}") : null;

    private GgufFormatException Bad(string problem) => new(Path, problem);

    /// <summary>Whether the file at <paramref name="path"/> starts with GGUF's magic ("GGUF").</summary>
    public static bool IsGguf(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> magic = stackalloc byte[4];
        return stream.Length >= 4 && stream.Read(magic) == 4 && BinaryPrimitives.ReadUInt32LittleEndian(magic) == Magic;
    }

    /// <summary>Reads the header (metadata and tensor descriptions) of a GGUF file; the data is read by <see cref="Load"/>.</summary>
    public static GgufFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GGUF file not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var reader = new Reader(stream, path);
        if (stream.Length < 24) throw new GgufFormatException(path, $"not a GGUF file: {stream.Length} bytes, fewer than a header");
        if (reader.U32() != Magic) throw new GgufFormatException(path, "not a GGUF file (the first four bytes are not 'GGUF')");
        uint version = reader.U32();
        if (version is not (2 or 3)) throw new GgufFormatException(path, $"GGUF version {version} is not supported (2 and 3 are)");
        long tensorCount = reader.Count(minBytesEach: 8 + 4 + 8 + 4 + 8, "tensor count"), kvCount = reader.Count(minBytesEach: 8 + 4 + 1, "metadata count");
        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; ++i)
        {
            string key = reader.Str("a metadata key");
            int type = (int)reader.U32();
            metadata[key] = reader.Value(type, key);
        }
        long alignment = 32;
        if (metadata.TryGetValue("general.alignment", out object? a))
        {
            alignment = a switch { uint u => u, int i => i, ulong ul => (long)ul, _ => 0 };
            if (alignment <= 0 || alignment > 1 << 20 || (alignment & (alignment - 1)) != 0) throw new GgufFormatException(path, $"general.alignment {a} is not a power of two");
        }
        var infos = new List<(string Name, long[] Dims, uint Type, ulong Offset)>();
        for (long i = 0; i < tensorCount; ++i)
        {
            string name = reader.Str("a tensor name");
            uint dims = reader.U32();
            if (dims is 0 or > 4) throw new GgufFormatException(path, $"tensor '{name}' has {dims} dimensions (1 to 4 are allowed)");
            var ne = new long[dims];
            for (int d = 0; d < dims; ++d)
            {
                ulong n = reader.U64();
                if (n > long.MaxValue / 8) throw new GgufFormatException(path, $"tensor '{name}' has dimension {n}, too large to address");
                ne[d] = (long)n;
            }
            infos.Add((name, ne, reader.U32(), reader.U64()));
        }
        long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        long dataLength = stream.Length - dataStart;
        var tensors = new List<GgufTensorInfo>(infos.Count);
        foreach ((string name, long[] ne, uint type, ulong offset) in infos)
        {
            if (!Enum.IsDefined(typeof(GgmlType), (int)type))
                throw new GgufFormatException(path, $"tensor '{name}' has ggml type {type}, which Slovo does not read ({string.Join(", ", Enum.GetNames<GgmlType>())} are)");
            var ggml = (GgmlType)type;
            long count = 1;
            try { foreach (long n in ne) count = checked(count * n); }
            catch (OverflowException) { throw new GgufFormatException(path, $"tensor '{name}' of shape [{string.Join(", ", ne)}] is too large to address"); }
            (int block, int blockBytes) = BlockOf(ggml);
            if (ne[0] % block != 0) throw new GgufFormatException(path, $"tensor '{name}' has rows of {ne[0]}, not a multiple of {ggml}'s block of {block}");
            long bytes;
            try { bytes = checked(count / block * blockBytes); }
            catch (OverflowException) { throw new GgufFormatException(path, $"tensor '{name}' is too large to address"); }
            if (offset > (ulong)dataLength || (long)offset > dataLength - bytes)
                throw new GgufFormatException(path, $"tensor '{name}' ({bytes} bytes at offset {offset}) runs past the end of the data ({dataLength} bytes); the file is truncated");
            if ((long)offset % alignment != 0) throw new GgufFormatException(path, $"tensor '{name}' starts at offset {offset}, not aligned to {alignment}");
            tensors.Add(new GgufTensorInfo(name, ne.Reverse().ToArray(), ggml, (long)offset, bytes));
        }
        return new GgufFile(path, (int)version, metadata, tensors, dataStart);
    }

    /// <summary>Elements per block and bytes per block of a type.</summary>
    public static (int Elements, int Bytes) BlockOf(GgmlType type) => type switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 or GgmlType.BF16 => (1, 2),
        GgmlType.Q4_0 => (32, 18),
        GgmlType.Q4_1 => (32, 20),
        GgmlType.Q5_0 => (32, 22),
        GgmlType.Q5_1 => (32, 24),
        GgmlType.Q8_0 => (32, 34),
        GgmlType.Q4_K => (256, 144),
        GgmlType.Q5_K => (256, 176),
        GgmlType.Q6_K => (256, 210),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a type Slovo reads"),
    };

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);

    /// <summary>Reads a tensor, dequantized, as <paramref name="dtype"/> (on the CPU).</summary>
    public Tensor Load(GgufTensorInfo info, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Bytes > int.MaxValue) throw new GgufFormatException(Path, $"tensor '{info.Name}' has {info.Bytes} bytes; tensors over 2 GiB are not read");
        var bytes = new byte[info.Bytes];
        using (var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            stream.Position = DataStart + info.Offset;
            stream.ReadExactly(bytes);
        }
        using var scope = DisposeScope.Begin();
        Tensor t = info.Type switch
        {
            GgmlType.F32 => Tensor.FromBytes(bytes, info.Shape, ScalarType.Float32),
            GgmlType.F16 => Tensor.FromBytes(bytes, info.Shape, ScalarType.Float16),
            GgmlType.BF16 => Tensor.FromBytes(bytes, info.Shape, ScalarType.BFloat16),
            _ => Tensor.From(GgmlQuants.Dequantize(info.Type, bytes, info.Count), info.Shape),
        };
        return (t.DType == dtype ? t : t.To(dtype)).MoveToOuterScope();
    }

    /// <summary>
    /// Writes a GGUF v3 file atomically: <paramref name="metadata"/> in order (values as <see cref="Metadata"/> holds them:
    /// string, bool, int, uint, long, ulong, float, double, or arrays of those), then each tensor stored as the type given
    /// (F32, F16, BF16 or Q8_0; rows of a Q8_0 tensor must be multiples of 32).
    /// </summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, object>> metadata, IReadOnlyList<(string Name, Tensor Tensor, GgmlType Type)> tensors)
    {
        const int alignment = 32;
        var blobs = new List<byte[]>(tensors.Count);
        foreach ((string name, Tensor t, GgmlType type) in tensors)
        {
            using var scope = DisposeScope.Begin();
            Tensor host = t.Device.Type == DeviceType.CPU ? t : t.To(Device.CPU);
            blobs.Add(type switch
            {
                GgmlType.F32 => host.To(ScalarType.Float32).Contiguous().ToBytes(),
                GgmlType.F16 => host.To(ScalarType.Float16).Contiguous().ToBytes(),
                GgmlType.BF16 => host.To(ScalarType.BFloat16).Contiguous().ToBytes(),
                GgmlType.Q8_0 when t.Size(-1) % 32 == 0 => GgmlQuants.QuantizeQ8_0(host.To(ScalarType.Float32).Contiguous().ToArray<float>()),
                GgmlType.Q8_0 => throw new ArgumentException($"'{name}' has rows of {t.Size(-1)}, not a multiple of Q8_0's block of 32; store it as F16 or F32"),
                _ => throw new NotSupportedException($"writing {type} is not supported (F32, F16, BF16, Q8_0 are)"),
            });
        }
        AtomicFile.Write(path, stream =>
        {
            var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(3u);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)metadata.Count);
            foreach ((string key, object value) in metadata)
            {
                WriteString(w, key);
                WriteValue(w, value, key);
            }
            long offset = 0;
            for (int i = 0; i < tensors.Count; ++i)
            {
                (string name, Tensor t, GgmlType type) = tensors[i];
                WriteString(w, name);
                long[] shape = t.Shape;
                w.Write((uint)shape.Length);
                for (int d = shape.Length - 1; d >= 0; --d) w.Write((ulong)shape[d]);
                w.Write((uint)type);
                w.Write((ulong)offset);
                offset += (blobs[i].Length + alignment - 1) / alignment * alignment;
            }
            w.Flush();
            Pad(stream, alignment);
            foreach (byte[] blob in blobs)
            {
                stream.Write(blob);
                Pad(stream, alignment);
            }
        });
    }

    private static void Pad(Stream stream, int alignment)
    {
        long pad = (alignment - stream.Position % alignment) % alignment;
        for (long i = 0; i < pad; ++i) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static int TypeOf(object value, string key) => value switch
    {
        byte => TypeUInt8, sbyte => TypeInt8, ushort => TypeUInt16, short => TypeInt16, uint => TypeUInt32, int => TypeInt32, float => TypeFloat32,
        bool => TypeBool, string => TypeString, ulong => TypeUInt64, long => TypeInt64, double => TypeFloat64, Array or GgufArray => TypeArray,
        _ => throw new ArgumentException($"metadata '{key}' has a value of type {value.GetType().Name}, which GGUF cannot store"),
    };

    private static void WriteValue(BinaryWriter w, object value, string key, bool typed = true)
    {
        int type = TypeOf(value, key);
        if (typed) w.Write((uint)type);
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write(v ? (byte)1 : (byte)0); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            case GgufArray a: WriteArray(w, a.Values, key); break;
            case Array a: WriteArray(w, a, key); break;
        }
    }

    private static void WriteArray(BinaryWriter w, Array values, string key)
    {
        Type element = values.GetType().GetElementType()!;
        object sample = element == typeof(string) ? "" : Activator.CreateInstance(element)!;
        w.Write((uint)TypeOf(sample, key));
        w.Write((ulong)values.Length);
        foreach (object v in values) WriteValue(w, v, key, typed: false);
    }

    /// <summary>Reads little-endian values, checking each length against what is left of the file.</summary>
    private sealed class Reader(FileStream stream, string path)
    {
        private readonly byte[] _buffer = new byte[8];

        private long Left => stream.Length - stream.Position;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (Left < n) throw new GgufFormatException(path, $"the file ends at byte {stream.Length} in the middle of the header; it is truncated");
            stream.ReadExactly(_buffer, 0, n);
            return _buffer.AsSpan(0, n);
        }

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public long Count(int minBytesEach, string what)
        {
            ulong n = U64();
            if (n > (ulong)Left / (ulong)minBytesEach) throw new GgufFormatException(path, $"the {what} {n} is larger than the file could hold; the file is corrupt");
            return (long)n;
        }

        public string Str(string what)
        {
            ulong n = U64();
            if (n > (ulong)Left) throw new GgufFormatException(path, $"{what} claims {n} bytes but only {Left} are left; the file is truncated or corrupt");
            var bytes = new byte[n];
            stream.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes);
        }

        public object Value(int type, string key) => type switch
        {
            TypeUInt8 => Take(1)[0],
            TypeInt8 => (sbyte)Take(1)[0],
            TypeUInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
            TypeInt16 => BinaryPrimitives.ReadInt16LittleEndian(Take(2)),
            TypeUInt32 => U32(),
            TypeInt32 => BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
            TypeFloat32 => BinaryPrimitives.ReadSingleLittleEndian(Take(4)),
            TypeBool => Take(1)[0] != 0,
            TypeString => Str($"the string of '{key}'"),
            TypeUInt64 => U64(),
            TypeInt64 => BinaryPrimitives.ReadInt64LittleEndian(Take(8)),
            TypeFloat64 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8)),
            TypeArray => ReadArray(key),
            _ => throw new GgufFormatException(path, $"metadata '{key}' has value type {type}, which is not a GGUF type"),
        };

        private GgufArray ReadArray(string key)
        {
            int element = (int)U32();
            if (element == TypeArray) throw new GgufFormatException(path, $"metadata '{key}' is an array of arrays, which Slovo does not read");
            int size = element switch
            {
                TypeUInt8 or TypeInt8 or TypeBool => 1, TypeUInt16 or TypeInt16 => 2, TypeUInt32 or TypeInt32 or TypeFloat32 => 4,
                TypeUInt64 or TypeInt64 or TypeFloat64 or TypeString => 8,
                _ => throw new GgufFormatException(path, $"metadata '{key}' is an array of type {element}, which is not a GGUF type"),
            };
            long n = Count(size, $"length of '{key}'");
            Array values = element switch
            {
                TypeUInt8 => new byte[n], TypeInt8 => new sbyte[n], TypeBool => new bool[n], TypeUInt16 => new ushort[n], TypeInt16 => new short[n],
                TypeUInt32 => new uint[n], TypeInt32 => new int[n], TypeFloat32 => new float[n], TypeUInt64 => new ulong[n], TypeInt64 => new long[n],
                TypeFloat64 => new double[n], _ => new string[n],
            };
            for (long i = 0; i < n; ++i) values.SetValue(Value(element, key), i);
            return new GgufArray(element, values);
        }
    }
}

using System.Text.Json;

namespace Slovo.Torch.Serialization;

/// <summary>A safetensors file that breaks the format; the message says where.</summary>
public sealed class SafeTensorsFormatException(string path, string problem)
    : Exception($"{path}: not a valid safetensors file: {problem}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the data buffer.
/// Writes are atomic (temporary file, flush to disk, rename). Reads validate everything before allocating.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Loads every tensor (on the CPU).</summary>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>Loads every tensor and the free-form metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        (List<Entry> entries, Dictionary<string, string> metadata, long dataStart) = ReadHeader(stream, path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (Entry e in entries)
            {
                var bytes = new byte[e.End - e.Begin];
                stream.Position = dataStart + e.Begin;
                stream.ReadExactly(bytes);
                tensors[e.Name] = Tensor.FromBytes(bytes, e.Shape, e.DType).DetachFromScope();
            }
        }
        catch
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    /// <summary>
    /// Reads the tensors one at a time, in file order, handing each to <paramref name="visit"/> as an entry whose data is read
    /// on demand (<see cref="SafeTensorsEntry.ReadInto"/> copies straight into a model's own tensor), so that a model can be
    /// filled from a file with only one tensor's bytes held beside it (one buffer, reused).
    /// </summary>
    public static void ForEach(string path, Action<SafeTensorsEntry> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        (List<Entry> entries, _, long dataStart) = ReadHeader(stream, path);
        long largest = entries.Count == 0 ? 0 : entries.Max(e => e.End - e.Begin);
        if (largest > Array.MaxLength) throw new SafeTensorsFormatException(path, $"a tensor of {largest} bytes is larger than one read can hold");
        var buffer = new byte[largest];
        foreach (Entry e in entries)
        {
            int length = (int)(e.End - e.Begin);
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(buffer, 0, length);
            visit(new SafeTensorsEntry(e.Name, e.DType, e.Shape, buffer.AsMemory(0, length)));
        }
    }

    /// <summary>Names, dtypes and shapes without reading the data.</summary>
    public static IReadOnlyList<(string Name, ScalarType DType, long[] Shape)> Inspect(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(stream, path).Entries.Select(e => (e.Name, e.DType, e.Shape)).ToList();
    }

    /// <summary>The free-form metadata (e.g. a format tag) without reading the data.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(stream, path).Metadata;
    }

    private sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw new SafeTensorsFormatException(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        ulong n = BitConverter.ToUInt64(lenBytes);
        if (n > MaxHeaderBytes) throw new SafeTensorsFormatException(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)n > fileLength - 8)
            throw new SafeTensorsFormatException(path, $"header length {n} runs past the end of the file ({fileLength} bytes); the file is truncated");
        var header = new byte[n];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new SafeTensorsFormatException(path, $"the header is not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new SafeTensorsFormatException(path, "the header is not a JSON object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw new SafeTensorsFormatException(path, "__metadata__ must be an object of strings");
                    foreach (JsonProperty m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw new SafeTensorsFormatException(path, $"metadata '{m.Name}' is not a string");
                    continue;
                }
                entries.Add(ParseEntry(p, path, dataLength));
            }
            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long expected = 0;
            foreach (Entry e in entries)
            {
                if (e.Begin != expected)
                    throw new SafeTensorsFormatException(path, $"tensor '{e.Name}' starts at {e.Begin} but the previous data ends at {expected} (overlap or gap)");
                expected = e.End;
            }
            if (expected != dataLength)
                throw new SafeTensorsFormatException(path, $"the tensors cover {expected} data bytes but the file holds {dataLength}; the file is truncated or padded");
            return (entries, metadata, dataStart);
        }
    }

    private static Entry ParseEntry(JsonProperty p, string path, long dataLength)
    {
        JsonElement v = p.Value;
        string where = $"tensor '{p.Name}'";
        if (v.ValueKind != JsonValueKind.Object) throw new SafeTensorsFormatException(path, $"{where} is not an object");
        if (!v.TryGetProperty("dtype", out JsonElement dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafeTensorsFormatException(path, $"{where} has no dtype");
        ScalarType dtype = ScalarTypes.FromSafetensorsName(dt.GetString()!)
                           ?? throw new SafeTensorsFormatException(path, $"{where} has unsupported dtype '{dt.GetString()}'");
        if (!v.TryGetProperty("shape", out JsonElement sh) || sh.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsFormatException(path, $"{where} has no shape");
        var shape = new List<long>();
        long numel = 1;
        foreach (JsonElement d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long size) || size < 0)
                throw new SafeTensorsFormatException(path, $"{where} has an invalid dimension {d}");
            shape.Add(size);
            try { numel = checked(numel * size); }
            catch (OverflowException) { throw new SafeTensorsFormatException(path, $"{where} has a shape too large to address"); }
        }
        if (!v.TryGetProperty("data_offsets", out JsonElement off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end))
            throw new SafeTensorsFormatException(path, $"{where} has no valid data_offsets [begin, end]");
        if (begin < 0 || end < begin || end > dataLength)
            throw new SafeTensorsFormatException(path, $"{where} has data_offsets [{begin}, {end}] outside the {dataLength}-byte data buffer; the file is truncated or its header is wrong");
        long need;
        try { need = checked(numel * dtype.ElementSize()); }
        catch (OverflowException) { throw new SafeTensorsFormatException(path, $"{where} has a shape too large to address"); }
        if (end - begin != need)
            throw new SafeTensorsFormatException(path, $"{where} of shape [{string.Join(", ", shape)}] and dtype {dt.GetString()} needs {need} bytes but its offsets span {end - begin}");
        return new Entry(p.Name, dtype, shape.ToArray(), begin, end);
    }

    /// <summary>Writes tensors (any device; copied to host) and optional metadata atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (names.Contains("__metadata__")) throw new ArgumentException("'__metadata__' is reserved", nameof(tensors));
        var blobs = new List<byte[]>(names.Count);
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (string name in names)
        {
            Tensor t = tensors[name];
            byte[] bytes = t.ToBytes();
            blobs.Add(bytes);
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = t.DType.SafetensorsName(),
                ["shape"] = t.Shape,
                ["data_offsets"] = new[] { offset, offset + bytes.Length },
            };
            offset += bytes.Length;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            for (int k = json.Length; k < padded; ++k) stream.WriteByte((byte)' ');
            foreach (byte[] b in blobs) stream.Write(b);
        });
    }
}

/// <summary>One tensor of a safetensors file being read by <see cref="SafeTensors.ForEach"/>; valid only during the visit.</summary>
public sealed class SafeTensorsEntry
{
    private readonly ReadOnlyMemory<byte> _bytes;

    internal SafeTensorsEntry(string name, ScalarType dtype, long[] shape, ReadOnlyMemory<byte> bytes) => (Name, DType, Shape, _bytes) = (name, dtype, shape, bytes);

    /// <summary>The tensor's name.</summary>
    public string Name { get; }

    /// <summary>The stored type.</summary>
    public ScalarType DType { get; }

    /// <summary>The shape.</summary>
    public long[] Shape { get; }

    /// <summary>A new CPU tensor holding the data.</summary>
    public Tensor Read() => Tensor.FromBytes(_bytes.Span, Shape, DType);

    /// <summary>
    /// Copies the data into <paramref name="target"/> (same shape; any dtype and device): straight into its memory when it is
    /// a contiguous CPU tensor of the stored type, else through one temporary tensor of the stored type.
    /// </summary>
    public void ReadInto(Tensor target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.Shape.SequenceEqual(Shape))
            throw new ArgumentException($"'{Name}' is [{string.Join(", ", Shape)}] in the file but [{string.Join(", ", target.Shape)}] in the model", nameof(target));
        using var noGrad = LibTorch.NoGrad();
        if (target.DType == DType && target.Device.Type == DeviceType.CPU && target.IsContiguous)
        {
            target.CopyFromBytes(_bytes.Span);
            return;
        }
        using Tensor source = Read();
        target.Copy_(source);
    }
}

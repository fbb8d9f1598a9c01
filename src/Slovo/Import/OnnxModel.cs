using Google.Protobuf;

namespace Slovo.Import;

/// <summary>An ONNX tensor: its name, element type (ONNX TensorProto.DataType), shape and little-endian bytes.</summary>
public sealed record OnnxTensor(string Name, int DataType, long[] Dims, byte[] Data)
{
    /// <summary>ONNX's codes of the element types read here.</summary>
    public const int Float = 1, Int32 = 6, Int64 = 7, Double = 11;

    /// <summary>The values as floats (float32 or float64 tensors).</summary>
    public float[] Floats() => DataType switch
    {
        Float => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data).ToArray(),
        Double => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(Data).ToArray().Select(d => (float)d).ToArray(),
        _ => throw new InvalidDataException($"ONNX tensor '{Name}' holds type {DataType}, not floats"),
    };

    /// <summary>The values as integers (int32 or int64 tensors).</summary>
    public long[] Longs() => DataType switch
    {
        Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(Data).ToArray(),
        Int32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Data).ToArray().Select(i => (long)i).ToArray(),
        _ => throw new InvalidDataException($"ONNX tensor '{Name}' holds type {DataType}, not integers"),
    };
}

/// <summary>An ONNX graph node: operator, inputs, outputs, and its tensor attributes (a Constant's value) and integer attributes.</summary>
public sealed record OnnxNode(string OpType, string Name, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
                              IReadOnlyDictionary<string, OnnxTensor> TensorAttributes, IReadOnlyDictionary<string, long> IntAttributes);

/// <summary>
/// The parts of an ONNX model (protobuf ModelProto) that weight import needs: the graph's initializers (weights), nodes,
/// and input and output names. Read field by field with Google.Protobuf's wire reader; tensors stored in external files
/// are refused with a clear error.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Weights by name.</summary>
    public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>Nodes in graph order.</summary>
    public List<OnnxNode> Nodes { get; } = [];

    /// <summary>The graph's input names.</summary>
    public List<string> Inputs { get; } = [];

    /// <summary>The graph's output names.</summary>
    public List<string> Outputs { get; } = [];

    /// <summary>Reads <paramref name="path"/>; a file that is not an ONNX model is an <see cref="InvalidDataException"/> naming it.</summary>
    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no ONNX file at {Path.GetFullPath(path)}", path);
        try { return Parse(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"{path}: not a readable ONNX model ({e.Message})", e);
        }
    }

    /// <summary>Reads a serialized ModelProto.</summary>
    public static OnnxModel Parse(byte[] bytes)
    {
        var model = new OnnxModel();
        bool graph = false;
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 7 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                model.ReadGraph(input.ReadBytes());
                graph = true;
            }
            else input.SkipLastField();
        }
        if (!graph) throw new InvalidDataException("no graph (ModelProto field 7)");
        return model;
    }

    private void ReadGraph(ByteString bytes)
    {
        var g = bytes.CreateCodedInput();
        uint tag;
        while ((tag = g.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: Nodes.Add(ReadNode(g.ReadBytes())); break;
                case 5:
                    OnnxTensor t = ReadTensor(g.ReadBytes());
                    Initializers[t.Name] = t;
                    break;
                case 11: Inputs.Add(ReadValueInfoName(g.ReadBytes())); break;
                case 12: Outputs.Add(ReadValueInfoName(g.ReadBytes())); break;
                default: g.SkipLastField(); break;
            }
        }
    }

    private static string ReadValueInfoName(ByteString bytes)
    {
        var v = bytes.CreateCodedInput();
        uint tag;
        while ((tag = v.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) return v.ReadString();
            v.SkipLastField();
        }
        return "";
    }

    private static OnnxNode ReadNode(ByteString bytes)
    {
        var n = bytes.CreateCodedInput();
        var inputs = new List<string>();
        var outputs = new List<string>();
        var tensors = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        string op = "", name = "";
        uint tag;
        while ((tag = n.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: inputs.Add(n.ReadString()); break;
                case 2: outputs.Add(n.ReadString()); break;
                case 3: name = n.ReadString(); break;
                case 4: op = n.ReadString(); break;
                case 5:
                {
                    var a = n.ReadBytes().CreateCodedInput();
                    string attr = "";
                    OnnxTensor? t = null;
                    long? i = null;
                    uint at;
                    while ((at = a.ReadTag()) != 0)
                    {
                        switch (WireFormat.GetTagFieldNumber(at))
                        {
                            case 1: attr = a.ReadString(); break;
                            case 3: i = a.ReadInt64(); break;
                            case 5: t = ReadTensor(a.ReadBytes()); break;
                            default: a.SkipLastField(); break;
                        }
                    }
                    if (t is not null) tensors[attr] = t;
                    if (i is not null) ints[attr] = i.Value;
                    break;
                }
                default: n.SkipLastField(); break;
            }
        }
        return new OnnxNode(op, name, inputs, outputs, tensors, ints);
    }

    private static OnnxTensor ReadTensor(ByteString bytes)
    {
        var t = bytes.CreateCodedInput();
        var dims = new List<long>();
        int type = 0;
        string name = "";
        byte[]? raw = null;
        var floats = new List<float>();
        var longs = new List<long>();
        var ints = new List<int>();
        var doubles = new List<double>();
        uint tag;
        while ((tag = t.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            bool packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (field)
            {
                case 1: ReadRepeated(t, packed, s => s.ReadInt64(), dims); break;
                case 2: type = t.ReadInt32(); break;
                case 4: ReadRepeated(t, packed, s => s.ReadFloat(), floats); break;
                case 5: ReadRepeated(t, packed, s => s.ReadInt32(), ints); break;
                case 7: ReadRepeated(t, packed, s => s.ReadInt64(), longs); break;
                case 8: name = t.ReadString(); break;
                case 9: raw = t.ReadBytes().ToByteArray(); break;
                case 10: ReadRepeated(t, packed, s => s.ReadDouble(), doubles); break;
                case 14:
                    if (t.ReadInt32() == 1)
                        throw new InvalidDataException($"tensor '{name}' is stored in an external file; save the model with its weights inside (onnx.save(..., save_as_external_data=False))");
                    break;
                default: t.SkipLastField(); break;
            }
        }
        byte[] data = raw ?? type switch
        {
            OnnxTensor.Float => System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.ToArray().AsSpan()).ToArray(),
            OnnxTensor.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(longs.ToArray().AsSpan()).ToArray(),
            OnnxTensor.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(ints.ToArray().AsSpan()).ToArray(),
            OnnxTensor.Double => System.Runtime.InteropServices.MemoryMarshal.AsBytes(doubles.ToArray().AsSpan()).ToArray(),
            _ => [],
        };
        return new OnnxTensor(name, type, dims.ToArray(), data);
    }

    /// <summary>A repeated scalar field: packed (one length-delimited run) or one value per tag.</summary>
    private static void ReadRepeated<T>(CodedInputStream s, bool packed, Func<CodedInputStream, T> read, List<T> into)
    {
        if (!packed)
        {
            into.Add(read(s));
            return;
        }
        CodedInputStream inner = s.ReadBytes().CreateCodedInput();
        while (!inner.IsAtEnd) into.Add(read(inner));
    }
}

using Google.Protobuf;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Import;

/// <summary>
/// Builds an ONNX model (protobuf ModelProto, ONNX's default operator set at <see cref="Opset"/>) node by node and writes it
/// with Google.Protobuf's wire writer, field by field as onnx.proto numbers them; <see cref="OnnxModel"/> reads the same fields
/// back. Float weights are stored inside the file as raw little-endian bytes.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly List<byte[]> _nodes = [], _initializers = [], _inputs = [], _outputs = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _next;

    /// <summary>The operator set the graph is written for (17: LayerNormalization is an operator of its own).</summary>
    public const int Opset = 17;

    /// <summary>A graph input of <paramref name="elementType"/> (an <see cref="OnnxTensor"/> type code) whose dimensions are
    /// symbolic names (e.g. "batch", "sequence").</summary>
    public string Input(string name, int elementType, params string[] dims)
    {
        _inputs.Add(ValueInfo(name, elementType, dims));
        return Claim(name);
    }

    /// <summary>Marks <paramref name="value"/> as a graph output named <paramref name="name"/> (an Identity when the names differ).</summary>
    public void Output(string value, string name, int elementType, params string[] dims)
    {
        if (value != name) Node("Identity", [value], name: name);
        _outputs.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>A float32 weight (any shape), copied from <paramref name="tensor"/>.</summary>
    public string Weight(string name, Tensor tensor)
    {
        using Tensor host = tensor.To(Device.CPU).To(ScalarType.Float32).Contiguous();
        return Initializer(name, OnnxTensor.Float, host.Shape, host.ToBytes());
    }

    /// <summary>A constant int64 tensor (a 1-D list, or a scalar when <paramref name="scalar"/>).</summary>
    public string Longs(long[] values, bool scalar = false) =>
        Initializer(Fresh("const"), OnnxTensor.Int64, scalar ? [] : [values.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A constant float32 scalar.</summary>
    public string Scalar(float value) => Initializer(Fresh("const"), OnnxTensor.Float, [], BitConverter.GetBytes(value));

    /// <summary>A node of <paramref name="op"/> over <paramref name="inputs"/>; returns its (first) output's name.</summary>
    public string Node(string op, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes = null, string? name = null)
    {
        string output = Claim(name ?? Fresh(op));
        var w = new Writer();
        foreach (string i in inputs) w.String(1, i);
        w.String(2, output);
        w.String(3, output + "_node");
        w.String(4, op);
        foreach ((string key, object value) in attributes ?? new Dictionary<string, object>())
        {
            var a = new Writer();
            a.String(1, key);
            switch (value)
            {
                case float f: a.Float(2, f); a.Int(20, 1); break;
                case long l: a.Int(3, l); a.Int(20, 2); break;
                case int n: a.Int(3, n); a.Int(20, 2); break;
                case long[] ls: foreach (long l in ls) a.Int(8, l); a.Int(20, 7); break;
                default: throw new ArgumentException($"attribute '{key}' has a type ONNX export does not write ({value.GetType().Name})", nameof(attributes));
            }
            w.Message(5, a);
        }
        _nodes.Add(w.ToArray());
        return output;
    }

    /// <summary>The serialized ModelProto.</summary>
    public byte[] ToBytes(string producer, string graphName)
    {
        var g = new Writer();
        foreach (byte[] n in _nodes) g.Bytes(1, n);
        g.String(2, graphName);
        foreach (byte[] t in _initializers) g.Bytes(5, t);
        foreach (byte[] i in _inputs) g.Bytes(11, i);
        foreach (byte[] o in _outputs) g.Bytes(12, o);
        var opset = new Writer();
        opset.String(1, "");
        opset.Int(2, Opset);
        var m = new Writer();
        m.Int(1, 8);                // ir_version 8 (ONNX 1.10+), which opset 17 needs at least
        m.String(2, producer);
        m.Message(7, g);
        m.Message(8, opset);
        return m.ToArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> atomically.</summary>
    public void Save(string path, string producer, string graphName)
    {
        byte[] bytes = ToBytes(producer, graphName);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private string Initializer(string name, int type, long[] dims, byte[] data)
    {
        var t = new Writer();
        foreach (long d in dims) t.Int(1, d);
        t.Int(2, type);
        t.String(8, name);
        t.Bytes(9, data);
        _initializers.Add(t.ToArray());
        return Claim(name);
    }

    private static byte[] ValueInfo(string name, int elementType, string[] dims)
    {
        var shape = new Writer();
        foreach (string d in dims)
        {
            var dim = new Writer();
            dim.String(2, d);
            shape.Message(1, dim);
        }
        var tensor = new Writer();
        tensor.Int(1, elementType);
        tensor.Message(2, shape);
        var type = new Writer();
        type.Message(1, tensor);
        var v = new Writer();
        v.String(1, name);
        v.Message(2, type);
        return v.ToArray();
    }

    // An unused name (not yet claimed: the caller claims it).
    private string Fresh(string stem)
    {
        string name;
        do name = $"{stem}_{_next++}"; while (_names.Contains(name));
        return name;
    }

    private string Claim(string name) => _names.Add(name) ? name : throw new ArgumentException($"the ONNX graph already has a value named '{name}'", nameof(name));

    /// <summary>One protobuf message being written.</summary>
    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();
        private readonly CodedOutputStream _out;

        public Writer() => _out = new CodedOutputStream(_stream, leaveOpen: true);

        public void Int(int field, long value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteInt64(value);
        }

        public void Float(int field, float value)
        {
            _out.WriteTag(field, WireFormat.WireType.Fixed32);
            _out.WriteFloat(value);
        }

        public void String(int field, string value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteString(value);
        }

        public void Bytes(int field, byte[] value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteBytes(ByteString.CopyFrom(value));
        }

        public void Message(int field, Writer message) => Bytes(field, message.ToArray());

        public byte[] ToArray()
        {
            _out.Flush();
            return _stream.ToArray();
        }
    }
}

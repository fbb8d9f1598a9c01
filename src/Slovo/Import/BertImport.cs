using Slovo.Encoders;
using Slovo.Torch;

namespace Slovo.Import;

/// <summary>
/// A BERT-shaped encoder (BERT, MiniLM) from an ONNX export, as Hugging Face's exporters write them: named initializers for
/// embeddings, biases, LayerNorms and the pooler; projection matrices constant-folded under numeric names and used by
/// MatMul nodes in (in, out) layout. Each such matrix is named after the bias its MatMul's output is added to
/// (encoder.layer.0.attention.self.query.bias → …query.weight) and transposed to (out, in). The shape comes from the
/// weights; the heads from the scaling of the attention scores (a division by √D or multiplication by 1/√D); the
/// LayerNorm epsilon and activation from the graph.
/// </summary>
public static class BertImport
{
    /// <summary>The model in <paramref name="onnx"/>; <paramref name="heads"/> overrides the head count read from the graph.</summary>
    public static BertModel FromOnnx(OnnxModel onnx, int? heads = null)
    {
        Dictionary<string, OnnxTensor> init = onnx.Initializers;
        OnnxTensor Need(string name) => init.TryGetValue(name, out OnnxTensor? t) ? t
            : throw new InvalidDataException($"the ONNX graph has no initializer '{name}'; it is not a BERT-shaped encoder (BERT, MiniLM) exported from Hugging Face");
        OnnxTensor words = Need("embeddings.word_embeddings.weight");
        int width = (int)words.Dims[1];
        var weights = new Dictionary<string, (float[] Values, long[] Shape)>(StringComparer.Ordinal);
        foreach ((string name, OnnxTensor t) in init)
            if (t.DataType == OnnxTensor.Float && (name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal)
                                                   || name.StartsWith("pooler.", StringComparison.Ordinal)))
                weights[name] = (t.Floats(), t.Dims);

        // Projection matrices: MatMul(x, W) → Add(·, bias) with a named bias.
        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (OnnxNode n in onnx.Nodes)
            foreach (string i in n.Inputs) (consumers.TryGetValue(i, out var l) ? l : consumers[i] = []).Add(n);
        foreach (OnnxNode mm in onnx.Nodes.Where(n => n.OpType == "MatMul"))
        {
            string? w = mm.Inputs.FirstOrDefault(i => init.ContainsKey(i) && init[i].Dims.Length == 2);
            if (w is null) continue;
            string? bias = consumers.GetValueOrDefault(mm.Outputs[0])?.Where(n => n.OpType == "Add")
                .SelectMany(n => n.Inputs).FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && init.ContainsKey(i));
            if (bias is null) throw new InvalidDataException($"MatMul '{mm.Name}' with weight '{w}' is not followed by a named bias; this export's layout is not supported");
            OnnxTensor m = init[w];
            weights[bias[..^".bias".Length] + ".weight"] = (Transpose(m.Floats(), (int)m.Dims[0], (int)m.Dims[1]), [m.Dims[1], m.Dims[0]]);
        }

        int layers = weights.Keys.Where(k => k.StartsWith("encoder.layer.", StringComparison.Ordinal))
            .Select(k => int.Parse(k.Split('.')[2], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        if (layers == 0) throw new InvalidDataException("the ONNX graph has no encoder.layer.* weights");
        int h = heads ?? HeadsFromScale(onnx, width)
            ?? throw new InvalidDataException("could not read the number of attention heads from the graph; give it (--heads N)");
        var config = new BertConfig
        {
            VocabSize = (int)words.Dims[0], Width = width, Layers = layers, Heads = h,
            Intermediate = (int)Need("encoder.layer.0.intermediate.dense.bias").Dims[0],
            Positions = (int)Need("embeddings.position_embeddings.weight").Dims[0],
            TypeVocabSize = init.TryGetValue("embeddings.token_type_embeddings.weight", out OnnxTensor? types) ? (int)types.Dims[0] : 2,
            LayerNormEpsilon = Epsilon(onnx) is { } eps ? double.Parse(((float)eps).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : 1e-12,
            Activation = onnx.Nodes.Any(n => n.OpType == "Erf") ? "gelu" : onnx.Nodes.Any(n => n.OpType == "Tanh" && onnx.Nodes.Count(x => x.OpType == "Tanh") > 1) ? "gelu_new" : "gelu",
        };
        bool pooler = weights.ContainsKey("pooler.dense.weight");
        if (pooler && init.TryGetValue("pooler.dense.weight", out OnnxTensor? pw) && GemmTransB(onnx, "pooler.dense.weight") == false)
            weights["pooler.dense.weight"] = (Transpose(pw.Floats(), (int)pw.Dims[0], (int)pw.Dims[1]), [pw.Dims[1], pw.Dims[0]]);
        var model = new BertModel(config, pooler);
        try
        {
            using var scope = DisposeScope.Begin();
            var state = weights.Where(kv => !kv.Key.EndsWith("position_ids", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => Tensor.From(kv.Value.Values, kv.Value.Shape));
            model.LoadStateDict(state);
            model.Eval();
            return model;
        }
        catch (ArgumentException e)
        {
            model.Dispose();
            throw new InvalidDataException($"the ONNX weights do not make a BERT model ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    private static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
        return t;
    }

    /// <summary>A scalar float constant (from a Constant node or an initializer) by value name.</summary>
    private static float? Scalar(OnnxModel onnx, string name)
    {
        if (onnx.Initializers.TryGetValue(name, out OnnxTensor? t) && t.DataType is OnnxTensor.Float or OnnxTensor.Double && t.Dims.Aggregate(1L, (a, b) => a * b) == 1)
            return t.Floats()[0];
        OnnxNode? c = onnx.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs.Contains(name));
        if (c is not null && c.TensorAttributes.TryGetValue("value", out OnnxTensor? v) && v.DataType is OnnxTensor.Float or OnnxTensor.Double
            && v.Dims.Aggregate(1L, (a, b) => a * b) == 1)
            return v.Floats()[0];
        return null;
    }

    /// <summary>Heads from the score scaling: Div by √D, or Mul by 1/√D (or by D^-¼ on each of q and k), with D dividing the width.</summary>
    private static int? HeadsFromScale(OnnxModel onnx, int width)
    {
        foreach (OnnxNode n in onnx.Nodes.Where(n => n.OpType is "Div" or "Mul"))
        {
            foreach (string input in n.Inputs)
            {
                if (Scalar(onnx, input) is not { } v || v <= 0) continue;
                double d = n.OpType == "Div" ? v * v : 1.0 / (v * v);
                foreach (double candidate in new[] { d, d * d }) // D^-¼ applied to q and k each
                {
                    int head = (int)Math.Round(candidate);
                    if (head >= 8 && Math.Abs(candidate - head) < 1e-3 * head && width % head == 0) return width / head;
                }
            }
        }
        return null;
    }

    /// <summary>The LayerNorm epsilon: the small constant added to the variance before the square root.</summary>
    private static double? Epsilon(OnnxModel onnx)
    {
        foreach (OnnxNode sqrt in onnx.Nodes.Where(n => n.OpType == "Sqrt"))
        {
            OnnxNode? add = onnx.Nodes.FirstOrDefault(n => n.OpType == "Add" && n.Outputs.Contains(sqrt.Inputs[0]));
            if (add is null) continue;
            foreach (string i in add.Inputs)
                if (Scalar(onnx, i) is { } e && e > 0 && e < 1e-3) return e;
        }
        return null;
    }

    /// <summary>Whether the Gemm that uses <paramref name="weight"/> transposes it (null when no Gemm uses it).</summary>
    private static bool? GemmTransB(OnnxModel onnx, string weight)
    {
        OnnxNode? g = onnx.Nodes.FirstOrDefault(n => n.OpType == "Gemm" && n.Inputs.Count > 1 && n.Inputs[1] == weight);
        return g is null ? null : g.IntAttributes.GetValueOrDefault("transB") == 1;
    }
}

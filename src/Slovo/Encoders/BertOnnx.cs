using Slovo.Import;
using Slovo.Torch;

namespace Slovo.Encoders;

/// <summary>
/// Writes a <see cref="BertModel"/> as an ONNX graph with the interface of Hugging Face's BERT exports: inputs
/// <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c> (int64, batch × sequence), output
/// <c>last_hidden_state</c> (float32, batch × sequence × width). The operators are ONNX's own (opset 17): Gather embeddings,
/// LayerNormalization, MatMul/Add projections, softmax attention with padding masked out, and GELU written with Erf (or its
/// tanh form, or ReLU, as the config says), so any ONNX runtime runs it.
/// </summary>
public static class BertOnnx
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (atomically).</summary>
    public static void Export(BertModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        BertConfig c = model.Config;
        if (c.Activation is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
            throw new NotSupportedException($"hidden_act '{c.Activation}' has no ONNX form here (gelu, gelu_new, relu)");
        Dictionary<string, Tensor> w = model.StateDict();
        var g = new OnnxGraphBuilder();
        string ids = g.Input("input_ids", OnnxTensor.Int64, "batch", "sequence");
        string mask = g.Input("attention_mask", OnnxTensor.Int64, "batch", "sequence");
        string types = g.Input("token_type_ids", OnnxTensor.Int64, "batch", "sequence");
        string W(string name) => g.Weight(name, w[name]);
        string WT(string name)
        {
            using Tensor t = w[name].T();     // (out, in) → (in, out): MatMul's right operand
            return g.Weight(name + ".T", t);
        }
        string Linear(string x, string prefix) => g.Node("Add", [g.Node("MatMul", [x, WT(prefix + ".weight")]), W(prefix + ".bias")]);
        string Norm(string x, string prefix) =>
            g.Node("LayerNormalization", [x, W(prefix + ".weight"), W(prefix + ".bias")], new Dictionary<string, object> { ["axis"] = -1L, ["epsilon"] = (float)c.LayerNormEpsilon });

        // Embeddings: words + positions 0..T-1 + token types, then LayerNorm.
        string seqLen = g.Node("Gather", [g.Node("Shape", [ids]), g.Longs([1], scalar: true)], new Dictionary<string, object> { ["axis"] = 0L });
        string positions = g.Node("Range", [g.Longs([0], scalar: true), seqLen, g.Longs([1], scalar: true)]);
        string x = g.Node("Add", [g.Node("Add", [g.Node("Gather", [W("embeddings.word_embeddings.weight"), ids]),
                                                 g.Node("Gather", [W("embeddings.position_embeddings.weight"), positions])]),
                                  g.Node("Gather", [W("embeddings.token_type_embeddings.weight"), types])]);
        x = Norm(x, "embeddings.LayerNorm");

        // Padding: 0 where the mask is 1, a large negative number where it is 0; (B, 1, 1, T) so it adds to every head and query.
        string keep = g.Node("Cast", [mask], new Dictionary<string, object> { ["to"] = (long)OnnxTensor.Float });
        string bias = g.Node("Mul", [g.Node("Sub", [g.Scalar(1f), keep]), g.Scalar(-1e30f)]);
        bias = g.Node("Unsqueeze", [bias, g.Longs([1, 2])]);

        int h = c.Heads, d = c.Width / c.Heads;
        string headsShape = g.Longs([0, 0, h, d]), widthShape = g.Longs([0, 0, c.Width]);
        string scale = g.Scalar((float)(1 / Math.Sqrt(d)));
        var toHeads = new Dictionary<string, object> { ["perm"] = new long[] { 0, 2, 1, 3 } };
        var toKeysT = new Dictionary<string, object> { ["perm"] = new long[] { 0, 2, 3, 1 } };
        for (int l = 0; l < c.Layers; ++l)
        {
            string p = $"encoder.layer.{l}.";
            string q = g.Node("Transpose", [g.Node("Reshape", [Linear(x, p + "attention.self.query"), headsShape])], toHeads);     // (B, H, T, D)
            string k = g.Node("Transpose", [g.Node("Reshape", [Linear(x, p + "attention.self.key"), headsShape])], toKeysT);       // (B, H, D, T)
            string v = g.Node("Transpose", [g.Node("Reshape", [Linear(x, p + "attention.self.value"), headsShape])], toHeads);     // (B, H, T, D)
            string scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, k]), scale]), bias]);                              // (B, H, T, T)
            string probs = g.Node("Softmax", [scores], new Dictionary<string, object> { ["axis"] = -1L });
            string ctx = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [probs, v])], toHeads), widthShape]);          // (B, T, C)
            string a = Norm(g.Node("Add", [Linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm");
            string up = Linear(a, p + "intermediate.dense");
            up = c.Activation switch
            {
                "gelu" => g.Node("Mul", [g.Node("Mul", [up, g.Scalar(0.5f)]),
                                         g.Node("Add", [g.Node("Erf", [g.Node("Div", [up, g.Scalar(MathF.Sqrt(2f))])]), g.Scalar(1f)])]),
                "relu" => g.Node("Relu", [up]),
                _ => TanhGelu(g, up),
            };
            x = Norm(g.Node("Add", [Linear(up, p + "output.dense"), a]), p + "output.LayerNorm");
        }
        g.Output(x, "last_hidden_state", OnnxTensor.Float, "batch", "sequence", "width");
        g.Save(path, "slovo", "bert");
    }

    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    private static string TanhGelu(OnnxGraphBuilder g, string x)
    {
        string cube = g.Node("Mul", [g.Node("Mul", [x, x]), x]);
        string inner = g.Node("Mul", [g.Node("Add", [x, g.Node("Mul", [cube, g.Scalar(0.044715f)])]), g.Scalar(MathF.Sqrt(2f / MathF.PI))]);
        return g.Node("Mul", [g.Node("Mul", [x, g.Scalar(0.5f)]), g.Node("Add", [g.Node("Tanh", [inner]), g.Scalar(1f)])]);
    }
}

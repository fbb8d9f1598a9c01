using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.Encoders;

// Shapes: B texts, T positions, C width (hidden_size), H heads, D = C / H.

/// <summary>A BERT encoder's shape and settings under Hugging Face BertConfig's names, so config.json reads and writes as is.</summary>
public sealed record BertConfig
{
    /// <summary>Token ids.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30522;

    /// <summary>Width C.</summary>
    [JsonPropertyName("hidden_size")] public int Width { get; init; } = 768;

    /// <summary>Encoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")] public int Layers { get; init; } = 12;

    /// <summary>Attention heads.</summary>
    [JsonPropertyName("num_attention_heads")] public int Heads { get; init; } = 12;

    /// <summary>Width of the feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")] public int Intermediate { get; init; } = 3072;

    /// <summary>"gelu" (exact, with erf), "gelu_new" / "gelu_pytorch_tanh" (tanh form) or "relu".</summary>
    [JsonPropertyName("hidden_act")] public string Activation { get; init; } = "gelu";

    /// <summary>Dropout on embeddings and sublayer outputs.</summary>
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropout { get; init; } = 0.1;

    /// <summary>Dropout on attention weights.</summary>
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Positions the model can read.</summary>
    [JsonPropertyName("max_position_embeddings")] public int Positions { get; init; } = 512;

    /// <summary>Token types (segments).</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEpsilon { get; init; } = 1e-12;

    /// <summary>Padding id.</summary>
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }

    /// <summary>Always "bert".</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "bert";

    /// <summary>The Hugging Face class that loads the folder.</summary>
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["BertModel"];
}

/// <summary>
/// BERT (and MiniLM, which is BERT-shaped): token, position and token-type embeddings with LayerNorm, post-LayerNorm encoder
/// layers of bidirectional self-attention and a feed-forward layer, and an optional pooler (tanh over the first token).
/// Parameter names are Hugging Face BertModel's, so its model.safetensors loads key for key (with or without the "bert."
/// prefix of task models).
/// </summary>
public sealed class BertModel : Module
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly Group _embeddings;
    private readonly Embedding _words, _positions, _types;
    private readonly LayerNorm _embeddingNorm;
    private readonly Layer[] _layers;
    private readonly Linear? _pooler;

    /// <summary>A model with initial weights (normal(0, 0.02) as BERT initialises; LayerNorms 1 and 0).</summary>
    public BertModel(BertConfig config, bool pooler = true)
    {
        if (config.Width % config.Heads != 0) throw new ArgumentException($"hidden_size {config.Width} does not split into {config.Heads} heads", nameof(config));
        Config = config;
        _embeddings = RegisterModule("embeddings", new Group());
        _words = _embeddings.Add("word_embeddings", new Embedding(config.VocabSize, config.Width));
        _positions = _embeddings.Add("position_embeddings", new Embedding(config.Positions, config.Width));
        _types = _embeddings.Add("token_type_embeddings", new Embedding(config.TypeVocabSize, config.Width));
        _embeddingNorm = _embeddings.Add("LayerNorm", new LayerNorm(config.Width, config.LayerNormEpsilon));
        var encoder = RegisterModule("encoder", new Group());
        _layers = Enumerable.Range(0, config.Layers).Select(_ => new Layer(config)).ToArray();
        encoder.Add("layer", new ModuleList(_layers));
        if (pooler) _pooler = RegisterModule("pooler", new Group()).Add("dense", new Linear(config.Width, config.Width));
        using var noGrad = LibTorch.NoGrad();
        foreach ((string name, Tensor p) in NamedParameters())
            if (name.EndsWith("weight", StringComparison.Ordinal) && !name.Contains("LayerNorm", StringComparison.Ordinal)) Init.Normal_(p, 0, 0.02);
            else if (name.EndsWith("bias", StringComparison.Ordinal)) Init.Zeros_(p);
    }

    /// <summary>The settings.</summary>
    public BertConfig Config { get; }

    /// <summary>Whether the model has a pooler.</summary>
    public bool HasPooler => _pooler is not null;

    /// <summary>
    /// The last hidden states (B, T, C) for <paramref name="ids"/> (B, T), where <paramref name="attentionMask"/> (B, T) marks real
    /// tokens (1) and padding (0; never attended to), and the pooled output (B, C) (tanh of the pooler over the first
    /// token) when the model has a pooler. <paramref name="tokenTypes"/> defaults to zeros.
    /// </summary>
    public (Tensor LastHidden, Tensor? Pooled) Forward(Tensor ids, Tensor? attentionMask = null, Tensor? tokenTypes = null)
    {
        long b = ids.Size(0), t = ids.Size(1);
        if (t > Config.Positions) throw new ArgumentException($"{t} positions exceed the model's {Config.Positions} (max_position_embeddings); truncate the texts", nameof(ids));
        using var scope = DisposeScope.Begin();
        Tensor positions = Tensor.Arange(0, t, 1, ScalarType.Int64, ids.Device);                                  // (T)
        Tensor types = tokenTypes ?? Tensor.Zeros([b, t], ScalarType.Int64, ids.Device);
        Tensor x = _words.Forward(ids).Add(_positions.Forward(positions)).Add(_types.Forward(types));              // (B, T, C)
        x = Dropout.Functional(_embeddingNorm.Forward(x), Config.HiddenDropout, Training);
        Tensor? keep = attentionMask?.To(ScalarType.Bool).View(b, 1, 1, t);                                        // (B, 1, 1, T)
        foreach (Layer layer in _layers) x = layer.Forward(x, keep);
        Tensor? pooled = _pooler?.Forward(x[.., 0]).Tanh();                                                          // (B, C)
        return (x.MoveToOuterScope(), pooled?.MoveToOuterScope());
    }

    /// <summary>A container that names its children (Hugging Face's nesting: embeddings, encoder.layer, attention.self, ...).</summary>
    private sealed class Group : Module
    {
        public T Add<T>(string name, T module) where T : Module => RegisterModule(name, module);
    }

    /// <summary>One post-LayerNorm encoder layer.</summary>
    private sealed class Layer : Module
    {
        private readonly BertConfig _c;
        private readonly Linear _query, _key, _value, _attnOut, _up, _down;
        private readonly LayerNorm _attnNorm, _outNorm;

        public Layer(BertConfig c)
        {
            _c = c;
            var attention = RegisterModule("attention", new Group());
            var self = attention.Add("self", new Group());
            (_query, _key, _value) = (self.Add("query", new Linear(c.Width, c.Width)), self.Add("key", new Linear(c.Width, c.Width)), self.Add("value", new Linear(c.Width, c.Width)));
            var output = attention.Add("output", new Group());
            (_attnOut, _attnNorm) = (output.Add("dense", new Linear(c.Width, c.Width)), output.Add("LayerNorm", new LayerNorm(c.Width, c.LayerNormEpsilon)));
            _up = RegisterModule("intermediate", new Group()).Add("dense", new Linear(c.Width, c.Intermediate));
            var o = RegisterModule("output", new Group());
            (_down, _outNorm) = (o.Add("dense", new Linear(c.Intermediate, c.Width)), o.Add("LayerNorm", new LayerNorm(c.Width, c.LayerNormEpsilon)));
        }

        public Tensor Forward(Tensor x, Tensor? keep)
        {
            long b = x.Size(0), t = x.Size(1), h = _c.Heads, d = _c.Width / _c.Heads;
            using var scope = DisposeScope.Begin();
            Tensor Heads(Tensor z) => z.View(b, t, h, d).Transpose(1, 2);                                           // (B, H, T, D)
            Tensor ctx = Attention.ScaledDotProduct(Heads(_query.Forward(x)), Heads(_key.Forward(x)), Heads(_value.Forward(x)), keep,
                dropout: _c.AttentionDropout, training: Training);                                                // (B, H, T, D)
            Tensor a = _attnOut.Forward(ctx.Transpose(1, 2).Reshape(b, t, _c.Width));
            a = _attnNorm.Forward(Dropout.Functional(a, _c.HiddenDropout, Training).Add(x));
            Tensor up = _up.Forward(a);
            up = _c.Activation switch
            {
                "gelu" => up.Gelu(),
                "gelu_new" or "gelu_pytorch_tanh" => up.Gelu("tanh"),
                "relu" => up.Relu(),
                _ => throw new NotSupportedException($"hidden_act '{_c.Activation}' is not supported (gelu, gelu_new, relu)"),
            };
            Tensor y = _outNorm.Forward(Dropout.Functional(_down.Forward(up), _c.HiddenDropout, Training).Add(a));
            return y.MoveToOuterScope();
        }

        public override bool DrawsFromGlobalGenerator => Attention.DrawsFromGlobalGenerator(_c.AttentionDropout) || base.DrawsFromGlobalGenerator;
    }

    /// <summary>The parameters trained without weight decay, as for transformers generally: biases and LayerNorm weights.</summary>
    public IEnumerable<Tensor> NoWeightDecayParameters() =>
        NamedParameters().Where(p => p.Name.EndsWith("bias", StringComparison.Ordinal) || p.Name.Contains("LayerNorm", StringComparison.Ordinal)).Select(p => p.Parameter);

    /// <summary>
    /// Reads a Hugging Face BERT folder (config.json and model.safetensors; keys with or without "bert.", task heads and the
    /// position_ids buffer skipped). A folder whose weights have no pooler gives a model without one.
    /// </summary>
    public static BertModel FromPretrained(string dir)
    {
        string configPath = Path.Combine(dir, "config.json"), weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"no config.json in {Path.GetFullPath(dir)}; give a Hugging Face BERT folder", configPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"no model.safetensors in {Path.GetFullPath(dir)}", weights);
        BertConfig config;
        try { config = JsonSerializer.Deserialize<BertConfig>(File.ReadAllText(configPath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: not a BERT config ({e.Message})", e); }
        if (config.ModelType is not ("bert" or "minilm")) throw new InvalidDataException($"{configPath}: model_type is '{config.ModelType}', not bert");
        Dictionary<string, Tensor> raw = SafeTensors.Load(weights);
        try
        {
            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach ((string key, Tensor value) in raw)
            {
                string name = key.StartsWith("bert.", StringComparison.Ordinal) ? key["bert.".Length..] : key;
                if (name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal) || name.StartsWith("pooler.", StringComparison.Ordinal))
                    if (!name.EndsWith("position_ids", StringComparison.Ordinal)) state[name] = value;
            }
            var model = new BertModel(config, pooler: state.ContainsKey("pooler.dense.weight"));
            try
            {
                model.LoadStateDict(state);
                model.Eval();
                return model;
            }
            catch (ArgumentException e)
            {
                model.Dispose();
                throw new InvalidDataException($"{weights}: the weights do not fit the config ({e.Message.ReplaceLineEndings(" ")})", e);
            }
        }
        finally { TensorDictionary.DisposeAll(raw); }
    }

    /// <summary>Writes config.json and model.safetensors (atomically), as Hugging Face BertModel saves them.</summary>
    public void SavePretrained(string dir)
    {
        Directory.CreateDirectory(dir);
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(Config, Json));
    }
}

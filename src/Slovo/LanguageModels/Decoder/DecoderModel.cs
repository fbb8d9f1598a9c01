using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

// Shapes: B rows, T new positions, P cached positions, K = P + T keys, C width, H query heads, G key/value heads, D head size,
// V vocabulary.

/// <summary>
/// The Llama-architecture decoder of every open family Slovo reads (<see cref="DecoderConfig.ModelTypes"/>): token
/// embeddings (scaled by √C for Gemma), blocks of RMSNorm, grouped-query self-attention with rotary positions (optional
/// q/k/v/o biases, q/k norms, a sliding window on chosen layers, soft-capped scores) and a gated MLP (SwiGLU or GeGLU),
/// Gemma's extra norms after attention and MLP, a final RMSNorm and an output layer (tied or not; soft-capped logits for
/// Gemma 2). Parameter names are Hugging Face's (model.layers.0.self_attn.q_proj.weight, ...); the key/value cache holds
/// only the G key/value heads. Decoding, left-padded batches and continuous batching come from <see cref="CachedDecoder"/>.
/// </summary>
public sealed partial class DecoderModel : CachedDecoder
{
    private readonly Embedding _tokens;
    private readonly DecoderLayer[] _layers;
    private readonly RmsNorm _norm;
    private readonly Linear? _head;
    private readonly Rope _globalRope, _localRope;

    /// <summary>A model with freshly initialised weights (normal, std 0.02), its floating-point tensors in <paramref name="dtype"/>
    /// (each layer converted as it is made, so a large model never holds a float32 copy of the whole).</summary>
    public DecoderModel(DecoderConfig config, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        var body = RegisterModule("model", new Body());
        _tokens = body.Add("embed_tokens", new Embedding(config.VocabSize, config.Width, dtype), dtype);
        _layers = Enumerable.Range(0, config.Layers).Select(i => Initialised(new DecoderLayer(config, i, dtype), dtype)).ToArray();
        body.Add("layers", new ModuleList(_layers), dtype);
        _norm = body.Add("norm", new RmsNorm(config.Width, config.NormEpsilon, config.NormPlusOne), dtype);
        if (!config.TieEmbeddings) _head = RegisterModule("lm_head", Initialised(new Linear(config.Width, config.VocabSize, false, dtype), dtype));
        _globalRope = new Rope(config.RotaryDim, config.RopeTheta, config.RopeScaling, config.MaxPositions);
        _localRope = config.LocalRopeTheta is { } local ? new Rope(config.RotaryDim, local, null, config.MaxPositions) : _globalRope;
        DType = dtype;
    }

    /// <summary>The settings.</summary>
    public DecoderConfig Config { get; }

    /// <summary>The type of the floating-point weights.</summary>
    public ScalarType DType { get; private set; }

    /// <inheritdoc />
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public override int ContextLength => Config.MaxPositions;

    /// <inheritdoc />
    public override string Kind => Config.ModelType;

    /// <inheritdoc />
    public override object ConfigRecord => Config.ToHuggingFace();

    /// <inheritdoc />
    public override void SaveFolder(string dir) => SavePretrained(dir);

    /// <inheritdoc />
    public override void LoadFolderWeights(string dir)
    {
        DecoderConfig saved = ReadConfig(dir);
        if (saved.ToHuggingFace().ToJsonString() != Config.ToHuggingFace().ToJsonString())
            throw new InvalidDataException($"{dir} holds a model of another config; its weights do not fit this one");
        var loader = BeginLoad();
        foreach (string file in WeightFiles(dir)) SafeTensors.ForEach(file, entry => loader.Load(entry));
        loader.Finish(dir);
    }

    /// <summary>Converts the weights to <paramref name="dtype"/> (float32, bfloat16 or float16).</summary>
    public DecoderModel ToDType(ScalarType dtype)
    {
        To(dtype);
        DType = dtype;
        return this;
    }

    // Set while a model whose weights will all be read from a file is made: the draws would be overwritten.
    [ThreadStatic] private static bool t_skipDraw;

    /// <summary>A model whose weights will all be read from a file: the N(0, 0.02) draws are skipped.</summary>
    internal static DecoderModel ForLoading(DecoderConfig config, ScalarType dtype)
    {
        t_skipDraw = true;
        try { return new DecoderModel(config, dtype); }
        finally { t_skipDraw = false; }
    }

    internal static T Initialised<T>(T module, ScalarType dtype) where T : Module
    {
        if (!t_skipDraw)
            using (LibTorch.NoGrad())
                foreach ((string name, Tensor p) in module.NamedParameters())
                    if (p.Dim == 2) p.Normal_(0, 0.02);                                   // in place, in the tensor's own type
                    else if (name.EndsWith("bias", StringComparison.Ordinal)) p.Zero_();
        if (dtype != ScalarType.Float32) module.To(dtype);
        return module;
    }

    /// <inheritdoc />
    public override (Tensor Logits, KvCache Cache) Forward(Tensor ids, KvCache? cache, Tensor? keep, Tensor? positionIds, bool lastOnly)
    {
        long b = ids.Size(0), t = ids.Size(1), past = cache?.Length ?? 0, keys = past + t;
        using var scope = DisposeScope.Begin();
        Tensor positions = positionIds ?? Tensor.Arange(past, keys, 1, ScalarType.Int64, ids.Device);              // (T) or (B, T)
        Tensor x = _tokens.Forward(ids);                                                                           // (B, T, C)
        if (Config.ScaleEmbeddings) x = x.Mul(Tensor.Scalar(Math.Sqrt(Config.Width), x.DType).To(x.Device));
        (Tensor Cos, Tensor Sin) global = _globalRope.Table(positions, x.DType);
        (Tensor Cos, Tensor Sin) local = ReferenceEquals(_localRope, _globalRope) ? global : _localRope.Table(positions, x.DType);
        Tensor? fullMask = null, slidingMask = null;
        // No mask at all where causality is the whole rule (no padding, no window, and either one new position or none cached):
        // attention then takes it as is_causal, which libtorch 2.x runs with its fused kernels.
        if (keep is not null || (t > 1 && past > 0) || Config.SlidingWindow is not null)
        {
            // Which keys each query sees, (B or 1, 1, T, K): causal by column, real (not padding) keys, and for sliding layers
            // keys fewer than the window's positions back (position ids, which count from each row's first real token).
            Tensor causal = Attention.CausalMask(t, keys, ids.Device).View(1, 1, t, keys);
            fullMask = keep is null ? causal : causal.LogicalAnd(keep.View(b, 1, 1, keys));
            if (Config.SlidingWindow is { } window)
            {
                Tensor keyPositions = keep is null ? Tensor.Arange(0, keys, 1, ScalarType.Int64, ids.Device).View(1, keys)
                                                   : keep.To(ScalarType.Int64).CumSum(1).Sub(1);               // (B or 1, K)
                Tensor queryPositions = positions.Dim == 1 ? positions.View(1, t) : positions;                   // (B or 1, T)
                Tensor near = queryPositions.Unsqueeze(-1).Sub(keyPositions.Unsqueeze(1)).Lt(window);         // (B or 1, T, K)
                slidingMask = fullMask.LogicalAnd(near.Unsqueeze(1));
            }
        }
        var presents = new KeyValue[_layers.Length];
        bool checkpointing = Checkpointing(cache);
        for (int i = 0; i < _layers.Length; ++i)
        {
            bool sliding = Config.IsSliding(i);
            (Tensor cos, Tensor sin) = sliding ? local : global;
            Tensor? mask = sliding ? slidingMask : fullMask;
            if (checkpointing)
            {
                DecoderLayer layer = _layers[i];
                (x, Tensor[] kv) = Checkpoint.Run(x, [mask, cos, sin], (h, c) =>
                {
                    (Tensor o, KeyValue p) = layer.Forward(h, null, c[0], c[1]!, c[2]!);
                    return (o, [p.Key, p.Value]);
                });
                presents[i] = new KeyValue(kv[0], kv[1]);
            }
            else (x, presents[i]) = _layers[i].Forward(x, cache?.Layers[i], mask, cos, sin);
        }
        if (lastOnly && t > 1) x = x.Narrow(1, t - 1, 1);
        x = _norm.Forward(x);
        Tensor logits = _head is not null ? _head.Forward(x) : Linear.Functional(x, _tokens.Weight, null);          // (B, T, V)
        if (Config.FinalSoftcap is { } cap) logits = logits.Div(cap).Tanh().Mul(cap);
        foreach (KeyValue kv in presents)
        {
            kv.Key.MoveToOuterScope();
            kv.Value.MoveToOuterScope();
        }
        return (logits.MoveToOuterScope(), new KvCache(presents));
    }

    /// <summary>Parameters trained without weight decay: norms, biases and the token embedding.</summary>
    public override IEnumerable<Tensor> NoWeightDecayParameters() =>
        NamedParameters().Where(p => p.Parameter.Dim < 2 || p.Name.Contains("embed_tokens", StringComparison.Ordinal)).Select(p => p.Parameter);

    private sealed class Body : Module
    {
        public T Add<T>(string name, T module, ScalarType dtype) where T : Module => RegisterModule(name, Initialised(module, dtype));
    }
}

/// <summary>One block of a <see cref="DecoderModel"/>.</summary>
internal sealed class DecoderLayer : Module
{
    private readonly RmsNorm _inputNorm, _postAttentionNorm;
    private readonly RmsNorm? _preMlpNorm, _postMlpNorm;
    private readonly Linear _q, _k, _v, _o, _gate, _up, _down;
    private readonly RmsNorm? _qNorm, _kNorm;
    private readonly DecoderConfig _config;
    private readonly double _scale;

    public DecoderLayer(DecoderConfig c, int index, ScalarType dtype = ScalarType.Float32)
    {
        _config = c;
        var attention = RegisterModule("self_attn", new Holder());
        _q = attention.Add("q_proj", new Linear(c.Width, c.Heads * c.HeadDim, c.QkvBias, dtype));
        _k = attention.Add("k_proj", new Linear(c.Width, c.KvHeads * c.HeadDim, c.QkvBias, dtype));
        _v = attention.Add("v_proj", new Linear(c.Width, c.KvHeads * c.HeadDim, c.QkvBias, dtype));
        _o = attention.Add("o_proj", new Linear(c.Heads * c.HeadDim, c.Width, c.OutputBias, dtype));
        if (c.QkNorm)
        {
            _qNorm = attention.Add("q_norm", new RmsNorm(c.HeadDim, c.NormEpsilon, c.NormPlusOne));
            _kNorm = attention.Add("k_norm", new RmsNorm(c.HeadDim, c.NormEpsilon, c.NormPlusOne));
        }
        var mlp = RegisterModule("mlp", new Holder());
        _gate = mlp.Add("gate_proj", new Linear(c.Width, c.Intermediate, c.MlpBias, dtype));
        _up = mlp.Add("up_proj", new Linear(c.Width, c.Intermediate, c.MlpBias, dtype));
        _down = mlp.Add("down_proj", new Linear(c.Intermediate, c.Width, c.MlpBias, dtype));
        _inputNorm = RegisterModule("input_layernorm", new RmsNorm(c.Width, c.NormEpsilon, c.NormPlusOne));
        _postAttentionNorm = RegisterModule("post_attention_layernorm", new RmsNorm(c.Width, c.NormEpsilon, c.NormPlusOne));
        if (c.SandwichNorms)
        {
            _preMlpNorm = RegisterModule("pre_feedforward_layernorm", new RmsNorm(c.Width, c.NormEpsilon, c.NormPlusOne));
            _postMlpNorm = RegisterModule("post_feedforward_layernorm", new RmsNorm(c.Width, c.NormEpsilon, c.NormPlusOne));
        }
        _scale = 1 / Math.Sqrt(c.QueryPreAttentionScalar ?? c.HeadDim);
    }

    public (Tensor Output, KeyValue Present) Forward(Tensor x, KeyValue? past, Tensor? mask, Tensor cos, Tensor sin)
    {
        using var scope = DisposeScope.Begin();
        (Tensor a, KeyValue present) = Attend(_inputNorm.Forward(x), past, mask, cos, sin);
        if (_config.SandwichNorms) a = _postAttentionNorm.Forward(a);
        Tensor h = x.Add(a);
        Tensor m = Mlp((_config.SandwichNorms ? _preMlpNorm! : _postAttentionNorm).Forward(h));
        if (_config.SandwichNorms) m = _postMlpNorm!.Forward(m);
        h = h.Add(m);
        present.Key.MoveToOuterScope();
        present.Value.MoveToOuterScope();
        return (h.MoveToOuterScope(), present);
    }

    private Tensor Mlp(Tensor x)
    {
        Tensor gate = _gate.Forward(x);
        gate = _config.Activation == "silu" ? gate.Silu() : gate.Gelu(_config.Activation == "gelu" ? "none" : "tanh");
        return _down.Forward(gate.Mul(_up.Forward(x)));
    }

    private (Tensor, KeyValue) Attend(Tensor x, KeyValue? past, Tensor? mask, Tensor cos, Tensor sin)
    {
        long b = x.Size(0), t = x.Size(1);
        int h = _config.Heads, g = _config.KvHeads, d = _config.HeadDim;
        Tensor q = _q.Forward(x).View(b, t, h, d).Transpose(1, 2);                                          // (B, H, T, D)
        Tensor k = _k.Forward(x).View(b, t, g, d).Transpose(1, 2);                                          // (B, G, T, D)
        Tensor v = _v.Forward(x).View(b, t, g, d).Transpose(1, 2);
        if (_qNorm is not null) { q = _qNorm.Forward(q); k = _kNorm!.Forward(k); }
        q = Rope.Apply(q, cos, sin);
        k = Rope.Apply(k, cos, sin);
        var present = KeyValue.Append(past, k, v);                                                          // (B, G, K, D)
        (k, v) = (present.Key, present.Value);
        long keys = k.Size(2);
        if (g != h)
        {
            k = k.Unsqueeze(2).Expand(b, g, h / g, keys, d).Reshape(b, h, keys, d);                          // (B, H, K, D)
            v = v.Unsqueeze(2).Expand(b, g, h / g, keys, d).Reshape(b, h, keys, d);
        }
        Tensor y;
        if (_config.AttentionSoftcap is { } cap)
        {
            Tensor scores = q.MatMul(k.Transpose(-1, -2)).Mul(_scale);                                        // (B, H, T, K)
            scores = scores.Div(cap).Tanh().Mul(cap);
            Tensor? allowed = mask ?? (t > 1 ? Attention.CausalMask(t, keys, x.Device).View(1, 1, t, keys) : null);
            if (allowed is not null) scores = scores.MaskedFill(allowed.LogicalNot(), Attention.LowestOf(scores.DType));
            y = scores.Softmax(-1, ScalarType.Float32).To(q.DType).MatMul(v);
        }
        else
        {
            // The shared kernel divides by √D; a query scale of its own (Gemma's query_pre_attn_scalar) goes into q.
            Tensor scaled = _config.QueryPreAttentionScalar is null ? q : q.Mul(_scale * Math.Sqrt(d));
            y = Attention.ScaledDotProduct(scaled, k, v, mask, causal: mask is null && t > 1);
        }
        y = _o.Forward(y.Transpose(1, 2).Reshape(b, t, h * d));                                               // (B, T, C)
        return (y, present);
    }

    private sealed class Holder : Module
    {
        public T Add<T>(string name, T module) where T : Module => RegisterModule(name, module);
    }
}

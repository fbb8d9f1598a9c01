using System.Text.Json.Nodes;

namespace Slovo.LanguageModels;

/// <summary>
/// How rotary position frequencies are stretched for contexts longer than the model trained on (Hugging Face's
/// <c>rope_scaling</c>): "linear" (positions divided by <see cref="Factor"/>), "dynamic" (NTK: θ grows once a sequence passes
/// the trained length), "llama3" (low frequencies divided by the factor, high ones kept, a smooth band between) and "yarn"
/// (a ramp between interpolated and extrapolated frequencies, with attention scaled by <see cref="AttentionFactor"/>) and
/// "longrope" (Phi-3.5/Phi-4: per-frequency divisors, <see cref="ShortFactor"/> within the trained context and
/// <see cref="LongFactor"/> once a sequence passes it, attention scaled by √(1 + ln(factor) / ln(trained))).
/// </summary>
public sealed record RopeScaling(string Type, double Factor)
{
    /// <summary>The context the model trained on (llama3, yarn; default: the config's max_position_embeddings).</summary>
    public int? OriginalMaxPositions { get; init; }

    /// <summary>llama3: wavelengths longer than original / this are divided by the factor (default 1).</summary>
    public double LowFreqFactor { get; init; } = 1;

    /// <summary>llama3: wavelengths shorter than original / this are kept (default 4).</summary>
    public double HighFreqFactor { get; init; } = 4;

    /// <summary>yarn: the ramp's fast boundary, in rotations (default 32).</summary>
    public double BetaFast { get; init; } = 32;

    /// <summary>yarn: the ramp's slow boundary, in rotations (default 1).</summary>
    public double BetaSlow { get; init; } = 1;

    /// <summary>yarn, longrope: the scale of cos and sin (default: yarn 0.1 ln(factor) + 1, longrope √(1 + ln(factor) / ln(trained))).</summary>
    public double? AttentionFactor { get; init; }

    /// <summary>longrope: the divisors of the rotary frequencies within the trained context.</summary>
    public IReadOnlyList<double>? ShortFactor { get; init; }

    /// <summary>longrope: the divisors once a sequence passes the trained context.</summary>
    public IReadOnlyList<double>? LongFactor { get; init; }

    /// <summary>The rope types Slovo reads.</summary>
    public static IReadOnlyList<string> Types { get; } = ["linear", "dynamic", "llama3", "yarn", "longrope"];

    /// <summary>Equal when every setting is, the factor lists element by element.</summary>
    public bool Equals(RopeScaling? other) =>
        other is not null && Type == other.Type && Factor == other.Factor && OriginalMaxPositions == other.OriginalMaxPositions
        && LowFreqFactor == other.LowFreqFactor && HighFreqFactor == other.HighFreqFactor && BetaFast == other.BetaFast && BetaSlow == other.BetaSlow
        && AttentionFactor == other.AttentionFactor && Same(ShortFactor, other.ShortFactor) && Same(LongFactor, other.LongFactor);

    private static bool Same(IReadOnlyList<double>? a, IReadOnlyList<double>? b) => a is null ? b is null : b is not null && a.SequenceEqual(b);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, Factor, OriginalMaxPositions);
}

/// <summary>
/// The settings of a Llama-architecture decoder, one record for every open family Slovo reads (Llama, Mistral, Qwen2,
/// Qwen3, Gemma 2, Gemma 3, Phi-3): pre-normalised blocks of grouped-query attention with rotary positions and a gated MLP,
/// with each family's variations as options. <see cref="FromHuggingFace"/> reads a config.json; <see cref="ToHuggingFace"/>
/// writes one back for <see cref="ModelType"/>.
/// </summary>
public sealed record DecoderConfig
{
    /// <summary>The Hugging Face model_type: llama, mistral, qwen2, qwen3, gemma2, gemma3_text or phi3.</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary>Token ids.</summary>
    public int VocabSize { get; init; } = 32000;

    /// <summary>Model width (hidden_size).</summary>
    public int Width { get; init; } = 64;

    /// <summary>The MLP's inner width (intermediate_size).</summary>
    public int Intermediate { get; init; } = 176;

    /// <summary>Blocks.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Query heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads (fewer than <see cref="Heads"/>: grouped-query attention; one: multi-query).</summary>
    public int KvHeads { get; init; } = 4;

    /// <summary>Channels per head (default width / heads; Gemma and Qwen3 set it).</summary>
    public int HeadDim { get; init; } = 16;

    /// <summary>Positions the model was made for (max_position_embeddings).</summary>
    public int MaxPositions { get; init; } = 2048;

    /// <summary>RMSNorm's ε.</summary>
    public double NormEpsilon { get; init; } = 1e-6;

    /// <summary>RoPE's θ.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Gemma 3: θ of the sliding-window layers (which take no scaling); null: <see cref="RopeTheta"/>.</summary>
    public double? LocalRopeTheta { get; init; }

    /// <summary>Context stretching, or null.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>The share of each head's channels that rotate (Phi: partial_rotary_factor; default 1).</summary>
    public double PartialRotary { get; init; } = 1;

    /// <summary>The MLP's gate activation: "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU).</summary>
    public string Activation { get; init; } = "silu";

    /// <summary>Biases on the query, key and value projections (Qwen2; attention_bias).</summary>
    public bool QkvBias { get; init; }

    /// <summary>A bias on the attention's output projection (Llama's attention_bias).</summary>
    public bool OutputBias { get; init; }

    /// <summary>Biases on the MLP's projections (mlp_bias).</summary>
    public bool MlpBias { get; init; }

    /// <summary>RMSNorm of each query and key head before RoPE (Qwen3, Gemma 3).</summary>
    public bool QkNorm { get; init; }

    /// <summary>Gemma's RMSNorm, scaling by (1 + w).</summary>
    public bool NormPlusOne { get; init; }

    /// <summary>Gemma: embeddings multiplied by √width.</summary>
    public bool ScaleEmbeddings { get; init; }

    /// <summary>Gemma 2/3: norms after attention and after the MLP as well as before each.</summary>
    public bool SandwichNorms { get; init; }

    /// <summary>Phi-3: stored with fused qkv_proj and gate_up_proj.</summary>
    public bool FusedProjections { get; init; }

    /// <summary>The output layer is the token embedding.</summary>
    public bool TieEmbeddings { get; init; }

    /// <summary>Keys further back than this many positions are not attended to in sliding layers; null: no window.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Which layers use the window (null with a window: every layer, as Mistral).</summary>
    public IReadOnlyList<bool>? SlidingLayers { get; init; }

    /// <summary>Gemma 2: attention scores soft-capped as cap·tanh(s / cap).</summary>
    public double? AttentionSoftcap { get; init; }

    /// <summary>Gemma 2: logits soft-capped as cap·tanh(l / cap).</summary>
    public double? FinalSoftcap { get; init; }

    /// <summary>Gemma: scores scaled by query_pre_attn_scalar^−½ instead of head_dim^−½.</summary>
    public double? QueryPreAttentionScalar { get; init; }

    /// <summary>The start token id, or null.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>Ids that end a reply (config.json and generation_config.json together).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>The padding id, or null.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>The model types this record reads.</summary>
    public static IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3"];

    /// <summary>Channels of each head that rotate (even).</summary>
    public int RotaryDim => (int)(HeadDim * PartialRotary) / 2 * 2;

    /// <summary>Whether layer <paramref name="layer"/> attends through the sliding window.</summary>
    public bool IsSliding(int layer) => SlidingWindow is not null && (SlidingLayers is null || SlidingLayers[layer]);

    /// <summary>Checks the shape; a bad value is an error naming it.</summary>
    public DecoderConfig Validate()
    {
        if (!ModelTypes.Contains(ModelType)) throw new NotSupportedException($"model_type '{ModelType}' is not a decoder family Slovo reads ({string.Join(", ", ModelTypes)})");
        void Positive(int v, string name) { if (v <= 0) throw new InvalidDataException($"{name} must be positive, got {v}"); }
        Positive(VocabSize, "vocab_size"); Positive(Width, "hidden_size"); Positive(Intermediate, "intermediate_size"); Positive(Layers, "num_hidden_layers");
        Positive(Heads, "num_attention_heads"); Positive(KvHeads, "num_key_value_heads"); Positive(HeadDim, "head_dim"); Positive(MaxPositions, "max_position_embeddings");
        if (Heads % KvHeads != 0) throw new InvalidDataException($"num_attention_heads {Heads} is not a multiple of num_key_value_heads {KvHeads}");
        if (RotaryDim <= 0) throw new InvalidDataException($"no channel of a {HeadDim}-channel head rotates (partial_rotary_factor {PartialRotary})");
        if (Activation is not ("silu" or "gelu_pytorch_tanh" or "gelu"))
            throw new NotSupportedException($"hidden_act '{Activation}' is not supported (silu, gelu_pytorch_tanh, gelu are)");
        if (RopeScaling is { } rs && !RopeScaling.Types.Contains(rs.Type))
            throw new NotSupportedException($"rope_scaling type '{rs.Type}' is not supported ({string.Join(", ", RopeScaling.Types)} are)");
        if (RopeScaling is { Type: "longrope" } lr && (lr.ShortFactor?.Count != RotaryDim / 2 || lr.LongFactor?.Count != RotaryDim / 2))
            throw new InvalidDataException($"longrope needs short_factor and long_factor of {RotaryDim / 2} values each (one per rotary frequency)");
        if (SlidingLayers is { } sl && sl.Count != Layers) throw new InvalidDataException($"{sl.Count} layer types for {Layers} layers");
        if (SlidingWindow is <= 0) throw new InvalidDataException($"sliding_window must be positive, got {SlidingWindow}");
        return this;
    }

    private static T? Get<T>(JsonObject o, string key) where T : struct =>
        o[key] is JsonValue v && v.TryGetValue(out T value) ? value : null;

    private static int Need(JsonObject o, string key, string path) =>
        Get<int>(o, key) ?? throw new InvalidDataException($"{path}: '{key}' is missing or not an integer");

    private static IReadOnlyList<int> Ids(JsonNode? n) => n switch
    {
        JsonArray a => a.Select(x => x!.GetValue<int>()).ToArray(),
        JsonValue v when v.TryGetValue(out int id) => [id],
        _ => [],
    };

    /// <summary>
    /// Reads a Hugging Face config.json (and, when given, generation_config.json's eos ids) for one of
    /// <see cref="ModelTypes"/>; anything it cannot honour (an unknown rope type, a missing size) is an error naming the key.
    /// </summary>
    public static DecoderConfig FromHuggingFace(JsonObject o, JsonObject? generation = null, string path = "config.json")
    {
        string type = o["model_type"] is JsonValue mt && mt.TryGetValue(out string? t) ? t : throw new InvalidDataException($"{path}: no model_type");
        if (!ModelTypes.Contains(type)) throw new NotSupportedException($"{path}: model_type '{type}' is not a decoder family Slovo reads ({string.Join(", ", ModelTypes)})");
        int width = Need(o, "hidden_size", path), heads = Need(o, "num_attention_heads", path), layers = Need(o, "num_hidden_layers", path);
        bool gemma = type.StartsWith("gemma", StringComparison.Ordinal);
        RopeScaling? scaling = null;
        if (o["rope_scaling"] is JsonObject rs)
        {
            string rtype = (rs["rope_type"] ?? rs["type"])?.GetValue<string>() ?? "default";
            if (rtype == "su") rtype = "longrope";
            static IReadOnlyList<double>? List(JsonNode? n) => n is JsonArray a ? a.Select(x => x!.GetValue<double>()).ToArray() : null;
            int? original = Get<int>(rs, "original_max_position_embeddings") ?? Get<int>(o, "original_max_position_embeddings");
            double? factor = Get<double>(rs, "factor");
            if (rtype == "longrope" && original is { } trained) factor ??= (double)(Get<int>(o, "max_position_embeddings") ?? trained) / trained;
            if (rtype != "default")
                scaling = new RopeScaling(rtype, factor ?? 1)
                {
                    OriginalMaxPositions = original,
                    ShortFactor = List(rs["short_factor"]),
                    LongFactor = List(rs["long_factor"]),
                    LowFreqFactor = Get<double>(rs, "low_freq_factor") ?? 1,
                    HighFreqFactor = Get<double>(rs, "high_freq_factor") ?? 4,
                    BetaFast = Get<double>(rs, "beta_fast") ?? 32,
                    BetaSlow = Get<double>(rs, "beta_slow") ?? 1,
                    AttentionFactor = Get<double>(rs, "attention_factor"),
                };
        }
        int? window = Get<int>(o, "sliding_window");
        if (type == "qwen2" || type == "qwen3") window = (Get<bool>(o, "use_sliding_window") ?? false) ? window : null;
        IReadOnlyList<bool>? slidingLayers = null;
        if (o["layer_types"] is JsonArray lt) slidingLayers = lt.Select(x => x!.GetValue<string>() == "sliding_attention").ToArray();
        else if (type == "gemma2") slidingLayers = Enumerable.Range(0, layers).Select(i => i % 2 == 0).ToArray();
        else if (type == "gemma3_text")
        {
            int pattern = Get<int>(o, "sliding_window_pattern") ?? 6;
            slidingLayers = Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0).ToArray();
        }
        else if ((type == "qwen2" || type == "qwen3") && window is not null && Get<int>(o, "max_window_layers") is int maxWindow)
            slidingLayers = Enumerable.Range(0, layers).Select(i => i >= maxWindow).ToArray();
        if (slidingLayers is not null && !slidingLayers.Any(s => s)) window = null;
        if (window is null) slidingLayers = null;
        bool attentionBias = Get<bool>(o, "attention_bias") ?? false;
        var eos = new List<int>(Ids(o["eos_token_id"]));
        if (generation is not null) eos.AddRange(Ids(generation["eos_token_id"]).Where(id => !eos.Contains(id)));
        string activation = (o["hidden_activation"] ?? o["hidden_act"])?.GetValue<string>() ?? (gemma ? "gelu_pytorch_tanh" : "silu");
        return new DecoderConfig
        {
            ModelType = type,
            VocabSize = Need(o, "vocab_size", path),
            Width = width,
            Intermediate = Need(o, "intermediate_size", path),
            Layers = layers,
            Heads = heads,
            KvHeads = Get<int>(o, "num_key_value_heads") ?? heads,
            HeadDim = Get<int>(o, "head_dim") ?? width / heads,
            MaxPositions = Get<int>(o, "max_position_embeddings") ?? 2048,
            NormEpsilon = Get<double>(o, "rms_norm_eps") ?? 1e-6,
            RopeTheta = Get<double>(o, "rope_theta") ?? 10000,
            LocalRopeTheta = type == "gemma3_text" ? Get<double>(o, "rope_local_base_freq") ?? 10000 : null,
            RopeScaling = scaling,
            PartialRotary = Get<double>(o, "partial_rotary_factor") ?? 1,
            Activation = activation,
            QkvBias = type == "qwen2" || attentionBias,
            OutputBias = type != "qwen2" && attentionBias,
            MlpBias = Get<bool>(o, "mlp_bias") ?? false,
            QkNorm = type is "qwen3" or "gemma3_text",
            NormPlusOne = gemma,
            ScaleEmbeddings = gemma,
            SandwichNorms = gemma,
            FusedProjections = type == "phi3",
            TieEmbeddings = Get<bool>(o, "tie_word_embeddings") ?? gemma,
            SlidingWindow = window,
            SlidingLayers = slidingLayers,
            AttentionSoftcap = type == "gemma2" ? Get<double>(o, "attn_logit_softcapping") : null,
            FinalSoftcap = type == "gemma2" ? Get<double>(o, "final_logit_softcapping") : null,
            QueryPreAttentionScalar = gemma ? Get<double>(o, "query_pre_attn_scalar") : null,
            BosTokenId = Get<int>(o, "bos_token_id"),
            EosTokenIds = eos,
            PadTokenId = Get<int>(o, "pad_token_id"),
        }.Validate();
    }

    /// <summary>The config.json Hugging Face transformers reads for this model.</summary>
    public JsonObject ToHuggingFace()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType switch
            {
                "llama" => "LlamaForCausalLM", "mistral" => "MistralForCausalLM", "qwen2" => "Qwen2ForCausalLM", "qwen3" => "Qwen3ForCausalLM",
                "gemma2" => "Gemma2ForCausalLM", "gemma3_text" => "Gemma3ForCausalLM", _ => "Phi3ForCausalLM",
            }),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = Width,
            ["intermediate_size"] = Intermediate,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["head_dim"] = HeadDim,
            ["max_position_embeddings"] = MaxPositions,
            ["rms_norm_eps"] = NormEpsilon,
            ["rope_theta"] = RopeTheta,
            [ModelType.StartsWith("gemma", StringComparison.Ordinal) ? "hidden_activation" : "hidden_act"] = Activation,
            ["tie_word_embeddings"] = TieEmbeddings,
            ["torch_dtype"] = "float32",
        };
        if (ModelType != "qwen2") o["attention_bias"] = QkvBias || OutputBias;
        if (MlpBias) o["mlp_bias"] = true;
        if (PartialRotary != 1) o["partial_rotary_factor"] = PartialRotary;
        if (LocalRopeTheta is { } local) o["rope_local_base_freq"] = local;
        if (RopeScaling is { } rs)
        {
            var r = new JsonObject { ["rope_type"] = rs.Type, ["factor"] = rs.Factor };
            if (rs.OriginalMaxPositions is { } omp) r["original_max_position_embeddings"] = omp;
            if (rs.Type == "llama3") { r["low_freq_factor"] = rs.LowFreqFactor; r["high_freq_factor"] = rs.HighFreqFactor; }
            if (rs.Type == "yarn") { r["beta_fast"] = rs.BetaFast; r["beta_slow"] = rs.BetaSlow; if (rs.AttentionFactor is { } af) r["attention_factor"] = af; }
            if (rs.Type == "longrope")
            {
                r.Remove("original_max_position_embeddings");
                r.Remove("factor");
                r["short_factor"] = new JsonArray(rs.ShortFactor!.Select(x => (JsonNode)x).ToArray());
                r["long_factor"] = new JsonArray(rs.LongFactor!.Select(x => (JsonNode)x).ToArray());
                if (rs.AttentionFactor is { } af) r["attention_factor"] = af;
                if (rs.OriginalMaxPositions is { } trained) o["original_max_position_embeddings"] = trained;
            }
            o["rope_scaling"] = r;
        }
        if (SlidingWindow is { } w)
        {
            o["sliding_window"] = w;
            if (ModelType is "qwen2" or "qwen3") o["use_sliding_window"] = true;
            if (SlidingLayers is { } sl) o["layer_types"] = new JsonArray(sl.Select(s => (JsonNode)(s ? "sliding_attention" : "full_attention")).ToArray());
        }
        else if (ModelType is "mistral" or "gemma2" or "gemma3_text" or "phi3") o["sliding_window"] = null;
        if (AttentionSoftcap is { } ac) o["attn_logit_softcapping"] = ac;
        if (FinalSoftcap is { } fc) o["final_logit_softcapping"] = fc;
        if (QueryPreAttentionScalar is { } q) o["query_pre_attn_scalar"] = q;
        if (BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray());
        if (PadTokenId is { } pad) o["pad_token_id"] = pad;
        return o;
    }
}

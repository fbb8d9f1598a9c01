using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Generation;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.LanguageModels;

// Shapes: B batch, T new positions, P cached positions, C width (n_embd), V vocabulary.

/// <summary>The settings of a <see cref="GptModel"/>, under Hugging Face GPT2Config's names (config.json reads and writes as is).</summary>
public sealed record GptConfig
{
    /// <summary>Transformer blocks.</summary>
    [JsonPropertyName("n_layer")] public int Layers { get; init; } = 12;

    /// <summary>Attention heads per block.</summary>
    [JsonPropertyName("n_head")] public int Heads { get; init; } = 12;

    /// <summary>Width of the residual stream.</summary>
    [JsonPropertyName("n_embd")] public int Width { get; init; } = 768;

    /// <summary>Longest context (learned positions).</summary>
    [JsonPropertyName("n_positions")] public int Positions { get; init; } = 1024;

    /// <summary>Vocabulary size.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50257;

    /// <summary>Width of each block's MLP (null: 4 × <see cref="Width"/>).</summary>
    [JsonPropertyName("n_inner")] public int? Inner { get; init; }

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary>"gelu_new" (GPT-2's tanh form) or "gelu" (exact).</summary>
    [JsonPropertyName("activation_function")] public string Activation { get; init; } = "gelu_new";

    /// <summary>Dropout on the summed token and position embeddings.</summary>
    [JsonPropertyName("embd_pdrop")] public double EmbeddingDropout { get; init; } = 0.1;

    /// <summary>Dropout on attention weights.</summary>
    [JsonPropertyName("attn_pdrop")] public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Dropout on each residual branch.</summary>
    [JsonPropertyName("resid_pdrop")] public double ResidualDropout { get; init; } = 0.1;

    /// <summary>Whether the output layer is the token embedding (GPT-2: yes).</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Begin-of-sequence id.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence id.</summary>
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }

    /// <summary>Padding id (Hugging Face writes it where the tokenizer has one).</summary>
    [JsonPropertyName("pad_token_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? PadTokenId { get; init; }

    /// <summary>Always "gpt2".</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "gpt2";

    /// <summary>The Hugging Face class that loads the folder.</summary>
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["GPT2LMHeadModel"];
}

/// <summary>
/// The keys and values of every layer for the positions read so far: the generation state of a <see cref="GptModel"/>.
/// A batch of left-padded prompts also carries which cached positions are real (<see cref="Keep"/>, (B, P) bool) and
/// each row's next position id (<see cref="Next"/>, (B) int64); a single sequence has neither.
/// </summary>
public sealed record GptCache(IReadOnlyList<KeyValue> Layers, Tensor? Keep = null, Tensor? Next = null)
{
    /// <summary>Positions read.</summary>
    public long Length => Layers.Count == 0 ? 0 : Layers[0].Length;
}

/// <summary>
/// GPT-2: token and learned position embeddings, pre-LayerNorm transformer blocks with causal self-attention, a final
/// LayerNorm and an output layer tied to the token embedding. Reads and writes Hugging Face folders
/// (<see cref="FromPretrained(string)"/>, <see cref="SavePretrained"/>), and generates through <see cref="IIncrementalModel{TState}"/>
/// with a key/value cache, so every decoding strategy of <see cref="Generator"/> works with it.
/// </summary>
public sealed class GptModel : Module, IContinuousBatchModel<GptCache>
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly Embedding _tokens, _positions;
    private readonly TransformerBlock[] _blocks;
    private readonly LayerNorm _final;
    private readonly Linear? _head;

    /// <summary>A model with freshly initialised weights (normal, std 0.02, as GPT-2 starts).</summary>
    public GptModel(GptConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Activation is not ("gelu_new" or "gelu" or "gelu_pytorch_tanh"))
            throw new NotSupportedException($"activation_function '{config.Activation}' is not supported; use gelu_new or gelu");
        Config = config;
        _tokens = RegisterModule("wte", new Embedding(config.VocabSize, config.Width));
        _positions = RegisterModule("wpe", new Embedding(config.Positions, config.Width));
        _blocks = Enumerable.Range(0, config.Layers).Select(i => new TransformerBlock(config.Width, config.Heads, config.LayerNormEpsilon,
            tanhGelu: config.Activation != "gelu", config.AttentionDropout, config.ResidualDropout, config.Inner)).ToArray();
        RegisterModule("h", new ModuleList(_blocks));
        _final = RegisterModule("ln_f", new LayerNorm([config.Width], config.LayerNormEpsilon));
        if (!config.TieWordEmbeddings) _head = RegisterModule("lm_head", new Linear(config.Width, config.VocabSize, bias: false));
        using var noGrad = LibTorch.NoGrad();
        foreach ((string name, Tensor p) in NamedParameters())
            if (name.EndsWith(".weight", StringComparison.Ordinal) && p.Dim == 2) p.Normal_(0, 0.02);
    }

    /// <summary>The settings.</summary>
    public GptConfig Config { get; }

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <summary>
    /// Logits (B, T, V) for <paramref name="ids"/> (B, T) read after the cached positions <paramref name="cache"/>, and
    /// the cache after them. <paramref name="keep"/> (B, P + T) marks real positions (false: padding, never attended to);
    /// <paramref name="positionIds"/> (B, T) gives each position's id (default: P, P + 1, …), so left-padded rows count
    /// from their first real token. Reading past <see cref="GptConfig.Positions"/> is an error (no sliding window).
    /// </summary>
    public (Tensor Logits, GptCache Cache) Forward(Tensor ids, GptCache? cache = null, Tensor? keep = null, Tensor? positionIds = null) =>
        Forward(ids, cache, keep, positionIds, lastOnly: false);

    /// <summary>As <see cref="Forward(Tensor, GptCache?, Tensor?, Tensor?)"/>; with <paramref name="lastOnly"/> only the last position
    /// gets logits (B, 1, V), which is all generation needs from a prompt (the output layer is the costliest part of a wide vocabulary).</summary>
    public (Tensor Logits, GptCache Cache) Forward(Tensor ids, GptCache? cache, Tensor? keep, Tensor? positionIds, bool lastOnly)
    {
        long t = ids.Size(1), past = cache?.Length ?? 0;
        if (past + t > Config.Positions)
            throw new ArgumentException($"{past + t} positions exceed the model's context of {Config.Positions} (n_positions); shorten the prompt or generate fewer tokens", nameof(ids));
        using var scope = DisposeScope.Begin();
        Tensor positions = positionIds ?? Tensor.Arange(past, past + t, 1, ScalarType.Int64, ids.Device);        // (T) or (B, T)
        Tensor x = _tokens.Forward(ids).Add(_positions.Forward(positions));                                       // (B, T, C)
        x = Dropout.Functional(x, Config.EmbeddingDropout, Training);
        var presents = new KeyValue[_blocks.Length];
        for (int i = 0; i < _blocks.Length; ++i)
            (x, presents[i]) = _blocks[i].Forward(x, cache?.Layers[i], keep);
        if (lastOnly && t > 1) x = x.Narrow(1, t - 1, 1);
        x = _final.Forward(x);
        Tensor logits = _head is not null ? _head.Forward(x) : Linear.Functional(x, _tokens.Weight, null);       // (B, T, V)
        foreach (KeyValue kv in presents)
        {
            kv.Key.MoveToOuterScope();
            kv.Value.MoveToOuterScope();
        }
        return (logits.MoveToOuterScope(), new GptCache(presents));
    }

    /// <inheritdoc />
    public (GptCache State, float[] Logits) Start(IReadOnlyList<int> prompt)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token (e.g. <|endoftext|>)", nameof(prompt));
        return Step(prompt, null);
    }

    /// <inheritdoc />
    public (GptCache State, float[] Logits) Advance(GptCache state, int token) => Step([token], state);

    /// <summary>Reads prompts of different lengths as one left-padded batch, with an attention mask and position ids that
    /// start at each row's first real token, so every row gets what it would alone.</summary>
    public (GptCache State, float[][] Logits) StartBatch(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        int b = prompts.Count, length = prompts.Max(p => p.Count);
        var ids = new long[b * length];
        var keep = new bool[b * length];
        var positions = new long[b * length];
        var next = new long[b];
        for (int r = 0; r < b; ++r)
        {
            int pad = length - prompts[r].Count;
            for (int i = 0; i < prompts[r].Count; ++i)
            {
                ids[r * length + pad + i] = prompts[r][i];
                keep[r * length + pad + i] = true;
                positions[r * length + pad + i] = i;
            }
            next[r] = prompts[r].Count;
        }
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        return BatchStep(ToDevice(Tensor.From(ids, b, length)), null, ToDevice(Tensor.From(keep, b, length)), ToDevice(Tensor.From(positions, b, length)),
                         ToDevice(Tensor.From(next)));
    }

    /// <summary>Reads one more token per row of a batch started by <see cref="StartBatch"/>.</summary>
    public (GptCache State, float[][] Logits) AdvanceBatch(GptCache state, IReadOnlyList<int> tokens)
    {
        if (state.Keep is null || state.Next is null) throw new ArgumentException("the state did not come from StartBatch", nameof(state));
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        int b = tokens.Count;
        Tensor keep = Tensor.Cat([state.Keep, Tensor.Ones([b, 1], ScalarType.Bool, Device)], 1);                 // (B, P + 1)
        return BatchStep(ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), b, 1)), state, keep, state.Next.View(b, 1), state.Next.Add(1));
    }

    /// <summary>Joins two batched states: the one with fewer cached positions is left-padded (masked out) to the other's length.</summary>
    public GptCache Concat(GptCache first, GptCache second)
    {
        if (first.Keep is null || first.Next is null || second.Keep is null || second.Next is null)
            throw new ArgumentException("both states must come from StartBatch");
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        long length = Math.Max(first.Length, second.Length);
        Tensor Pad(Tensor t, long positions, int dim)
        {
            if (positions == 0) return t;
            long[] shape = t.Shape;
            shape[dim] = positions;
            return Tensor.Cat([Tensor.Zeros(shape, t.DType, t.Device), t], dim);
        }
        var layers = new KeyValue[first.Layers.Count];
        for (int i = 0; i < layers.Length; ++i)
        {
            KeyValue a = first.Layers[i], b = second.Layers[i];
            layers[i] = new KeyValue(Tensor.Cat([Pad(a.Key, length - a.Length, 2), Pad(b.Key, length - b.Length, 2)], 0).DetachFromScope(),
                                     Tensor.Cat([Pad(a.Value, length - a.Length, 2), Pad(b.Value, length - b.Length, 2)], 0).DetachFromScope());
        }
        Tensor keep = Tensor.Cat([Pad(first.Keep, length - first.Length, 1), Pad(second.Keep, length - second.Length, 1)], 0);
        return new GptCache(layers, keep.DetachFromScope(), Tensor.Cat([first.Next, second.Next], 0).DetachFromScope());
    }

    /// <summary>Keeps the given rows of a batched state, dropping the leading positions that are padding in every kept row.</summary>
    public GptCache Select(GptCache state, IReadOnlyList<int> rows)
    {
        if (state.Keep is null || state.Next is null) throw new ArgumentException("the state did not come from StartBatch", nameof(state));
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        Tensor index = Tensor.From(rows.Select(r => (long)r).ToArray()).To(state.Keep.Device);
        Tensor keep = state.Keep.IndexSelect(0, index);
        bool[] flags = keep.ToArray<bool>();                                                                     // (B, P), small
        long positions = state.Length;
        int start = (int)positions;
        for (int r = 0; r < rows.Count; ++r)
            for (int j = 0; j < start; ++j)
                if (flags[r * positions + j]) { start = j; break; }
        if (start == positions) start = 0;
        long length = state.Length - start;
        var layers = state.Layers.Select(kv => new KeyValue(kv.Key.IndexSelect(0, index).Narrow(2, start, length).Contiguous().DetachFromScope(),
                                                            kv.Value.IndexSelect(0, index).Narrow(2, start, length).Contiguous().DetachFromScope())).ToArray();
        return new GptCache(layers, keep.Narrow(1, start, length).Contiguous().DetachFromScope(), state.Next.IndexSelect(0, index).DetachFromScope());
    }

    /// <inheritdoc />
    public void Release(GptCache state)
    {
        foreach (KeyValue kv in state.Layers)
        {
            kv.Key.Dispose();
            kv.Value.Dispose();
        }
        state.Keep?.Dispose();
        state.Next?.Dispose();
    }

    private (GptCache, float[][]) BatchStep(Tensor ids, GptCache? cache, Tensor keep, Tensor positions, Tensor next)
    {
        (Tensor logits, GptCache after) = Forward(ids, cache, keep, positions, lastOnly: true);                   // (B, 1, V)
        float[] last = logits.Narrow(1, logits.Size(1) - 1, 1).Contiguous().ToArray<float>();              // (B, 1, V)
        var rows = new float[ids.Size(0)][];
        for (int r = 0; r < rows.Length; ++r) rows[r] = last.AsSpan(r * VocabSize, VocabSize).ToArray();
        foreach (KeyValue kv in after.Layers)
        {
            kv.Key.DetachFromScope();
            kv.Value.DetachFromScope();
        }
        return (new GptCache(after.Layers, keep.DetachFromScope(), next.DetachFromScope()), rows);
    }

    private (GptCache, float[]) Step(IReadOnlyList<int> tokens, GptCache? cache)
    {
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        Tensor ids = ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), 1, tokens.Count));              // (1, T)
        (Tensor logits, GptCache next) = Forward(ids, cache, null, null, lastOnly: true);
        float[] last = logits[0, -1].ToArray<float>();                                                            // (V)
        foreach (KeyValue kv in next.Layers)
        {
            kv.Key.DetachFromScope();
            kv.Value.DetachFromScope();
        }
        return (next, last);
    }

    /// <summary>
    /// The parameters that transformers are trained without weight decay: biases, LayerNorm scales and the token and
    /// position embeddings (pass them as AdamW's noWeightDecay); only the blocks' projection matrices decay.
    /// </summary>
    public IEnumerable<Tensor> NoWeightDecayParameters() =>
        NamedParameters().Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal) || p.Name.Contains("ln_", StringComparison.Ordinal)
                                     || p.Name.StartsWith("wte.", StringComparison.Ordinal) || p.Name.StartsWith("wpe.", StringComparison.Ordinal))
            .Select(p => p.Parameter);

    /// <summary>Parameters whose Hugging Face (Conv1D) weight is stored transposed relative to <see cref="Linear"/>'s (out, in).</summary>
    private static bool IsConv1D(string key) =>
        key.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal) || key.EndsWith(".attn.c_proj.weight", StringComparison.Ordinal)
        || key.EndsWith(".mlp.c_fc.weight", StringComparison.Ordinal) || key.EndsWith(".mlp.c_proj.weight", StringComparison.Ordinal);

    /// <summary>
    /// Reads a Hugging Face GPT-2 folder (config.json and model.safetensors): keys with or without the "transformer."
    /// prefix, Conv1D weights transposed, the attention-mask buffers of older files skipped, lm_head tied to wte.
    /// </summary>
    public static GptModel FromPretrained(string dir) => FromPretrained(dir, null);

    /// <summary>Reads a Hugging Face GPT-2 folder as <see cref="FromPretrained(string)"/>, with its config first changed by
    /// <paramref name="adjust"/> (e.g. other dropout rates for fine-tuning; the shape must stay).</summary>
    public static GptModel FromPretrained(string dir, Func<GptConfig, GptConfig>? adjust)
    {
        string configPath = Path.Combine(dir, "config.json"), weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"no config.json in {Path.GetFullPath(dir)}; give a Hugging Face GPT-2 folder", configPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"no model.safetensors in {Path.GetFullPath(dir)}; save the model with safe_serialization (the default)", weights);
        GptConfig config;
        try { config = JsonSerializer.Deserialize<GptConfig>(File.ReadAllText(configPath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: not a GPT-2 config ({e.Message})", e); }
        if (config.ModelType != "gpt2") throw new InvalidDataException($"{configPath}: model_type is '{config.ModelType}', not gpt2");
        if (adjust is not null) config = adjust(config);
        Dictionary<string, Tensor> raw = SafeTensors.Load(weights);
        var model = new GptModel(config);
        try
        {
            var state = new Dictionary<string, Tensor>();
            using var scope = DisposeScope.Begin();
            foreach ((string key, Tensor t) in raw)
            {
                string name = key.StartsWith("transformer.", StringComparison.Ordinal) ? key["transformer.".Length..] : key;
                if (name.EndsWith(".attn.bias", StringComparison.Ordinal) && t.Dim == 4 || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)) continue;
                if (name == "lm_head.weight" && config.TieWordEmbeddings) continue;
                state[name] = IsConv1D(name) ? t.T().Contiguous() : t;
            }
            model.LoadStateDict(state);
            model.Eval();
            return model;
        }
        catch (Exception e) when (e is TorchException or ArgumentException or KeyNotFoundException)
        {
            model.Dispose();
            throw new InvalidDataException($"{weights}: the weights do not fit the config ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        finally { TensorDictionary.DisposeAll(raw); }
    }

    /// <summary>
    /// Writes a folder that Hugging Face transformers loads key for key: config.json and model.safetensors ("transformer."
    /// prefix, Conv1D layout), atomically; <paramref name="tokenizerJson"/>, when given, is copied beside them.
    /// </summary>
    public void SavePretrained(string dir, string? tokenizerJson = null)
    {
        Directory.CreateDirectory(dir);
        using var scope = DisposeScope.Begin();
        var tensors = new Dictionary<string, Tensor>();
        foreach ((string name, Tensor t) in StateDict())
            tensors[name.StartsWith("lm_head.", StringComparison.Ordinal) ? name : "transformer." + name] = IsConv1D(name) ? t.T().Contiguous() : t;
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(Config, Json));
        if (tokenizerJson is not null) File.Copy(tokenizerJson, Path.Combine(dir, "tokenizer.json"), overwrite: true);
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Generation;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.LanguageModels;

// Shapes: B batch, T new positions, P cached positions, C width (n_embd), V vocabulary.


/// <summary>
/// GPT-2: token and learned position embeddings, pre-LayerNorm transformer blocks with causal self-attention, a final
/// LayerNorm and an output layer tied to the token embedding. Reads and writes Hugging Face folders
/// (<see cref="FromPretrained(string)"/>, <see cref="SavePretrained"/>), and generates through <see cref="IIncrementalModel{TState}"/>
/// with a key/value cache, so every decoding strategy of <see cref="Generator"/> works with it.
/// </summary>
public sealed partial class GptModel : CachedDecoder
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
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public override int ContextLength => Config.Positions;

    /// <inheritdoc />
    public override string Kind => "gpt";

    /// <inheritdoc />
    public override object ConfigRecord => Config;

    /// <inheritdoc />
    public override void SaveFolder(string dir) => SavePretrained(dir);

    /// <inheritdoc />
    public override void LoadFolderWeights(string dir)
    {
        using GptModel saved = FromPretrained(dir);
        LoadStateDict(saved.StateDict());
    }

    /// <inheritdoc />
    /// <remarks>Reading past <see cref="GptConfig.Positions"/> is an error (no sliding window).</remarks>
    public override (Tensor Logits, KvCache Cache) Forward(Tensor ids, KvCache? cache, Tensor? keep, Tensor? positionIds, bool lastOnly)
    {
        long t = ids.Size(1), past = cache?.Length ?? 0;
        if (past + t > Config.Positions)
            throw new ArgumentException($"{past + t} positions exceed the model's context of {Config.Positions} (n_positions); shorten the prompt or generate fewer tokens", nameof(ids));
        using var scope = DisposeScope.Begin();
        Tensor positions = positionIds ?? Tensor.Arange(past, past + t, 1, ScalarType.Int64, ids.Device);        // (T) or (B, T)
        Tensor x = _tokens.Forward(ids).Add(_positions.Forward(positions));                                       // (B, T, C)
        x = Dropout.Functional(x, Config.EmbeddingDropout, Training);
        var presents = new KeyValue[_blocks.Length];
        bool checkpointing = Checkpointing(cache);
        for (int i = 0; i < _blocks.Length; ++i)
        {
            if (checkpointing)
            {
                TransformerBlock block = _blocks[i];
                (x, Tensor[] kv) = Checkpoint.Run(x, [keep], (h, c) =>
                {
                    (Tensor o, KeyValue p) = block.Forward(h, null, c[0]);
                    return (o, [p.Key, p.Value]);
                });
                presents[i] = new KeyValue(kv[0], kv[1]);
            }
            else (x, presents[i]) = _blocks[i].Forward(x, cache?.Layers[i], keep);
        }
        if (lastOnly && t > 1) x = x.Narrow(1, t - 1, 1);
        x = _final.Forward(x);
        Tensor logits = _head is not null ? _head.Forward(x) : Linear.Functional(x, _tokens.Weight, null);       // (B, T, V)
        foreach (KeyValue kv in presents)
        {
            kv.Key.MoveToOuterScope();
            kv.Value.MoveToOuterScope();
        }
        return (logits.MoveToOuterScope(), new KvCache(presents));
    }

    /// <inheritdoc />
    public override string HuggingFaceName(string name) => name.StartsWith("lm_head", StringComparison.Ordinal) ? name : "transformer." + name;

    /// <summary>
    /// The parameters that transformers are trained without weight decay: biases, LayerNorm scales and the token and
    /// position embeddings (pass them as AdamW's noWeightDecay); only the blocks' projection matrices decay.
    /// </summary>
    public override IEnumerable<Tensor> NoWeightDecayParameters() =>
        NamedParameters().Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal) || p.Name.Contains("ln_", StringComparison.Ordinal)
                                     || p.Name.StartsWith("wte.", StringComparison.Ordinal) || p.Name.StartsWith("wpe.", StringComparison.Ordinal))
            .Select(p => p.Parameter);
}

using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.Models;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.LanguageModels;

/// <summary>
/// A trained language model with its vocabulary, whatever it was saved as: a recurrent model (a run folder of
/// <c>slovo lm train</c> or its model.safetensors), a GPT run folder (<c>model/</c> + vocab.json), or a Hugging Face GPT-2
/// folder (config.json, model.safetensors, tokenizer.json). Commands that generate, evaluate or complete text take any of them.
/// </summary>
public abstract class LanguageModel : IDisposable
{
    private protected LanguageModel(Module module, Vocabulary vocabulary, bool promptsStartWithSos, string source)
    {
        (Module, Vocabulary, PromptsStartWithSos, Source) = (module, vocabulary, promptsStartWithSos, source);
    }

    /// <summary>The network.</summary>
    public Module Module { get; }

    /// <summary>Text to ids and back; its start, end and padding ids.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>
    /// Whether a prompt is read after the start token, as Slovo's models were trained. A Hugging Face folder reads prompts as
    /// Hugging Face encodes them, without one (an empty prompt starts from it).
    /// </summary>
    public bool PromptsStartWithSos { get; }

    /// <summary>"lstm", "gru", "rnn", "gpt", or an open family's model type ("llama", "qwen2", ...).</summary>
    public abstract string Kind { get; }

    /// <summary>Positions the model can read at most (a GPT's n_positions); null when unbounded.</summary>
    public abstract int? Context { get; }

    /// <summary>Where the model was read from.</summary>
    public string Source { get; }

    /// <summary>The device the model runs on.</summary>
    public Device Device => Module.Device;

    /// <summary>The ids a prompt is read as (see <see cref="PromptsStartWithSos"/>).</summary>
    public IReadOnlyList<int> EncodePrompt(string prompt) =>
        PromptsStartWithSos || prompt.Length == 0 ? [Vocabulary.SosId, .. Vocabulary.Encode(prompt)] : Vocabulary.Encode(prompt);

    /// <summary>Text of ids (special tokens dropped).</summary>
    public string Decode(IEnumerable<int> ids) => Vocabulary.Decode(ids);

    /// <summary>Where decoding gets the next-token scores: the torch module by default; another engine can stand in
    /// (<see cref="UseBackend"/>).</summary>
    public IDecodingBackend Backend { get; private set; } = null!;

    private IDecodingBackend? _own;

    /// <summary>Decodes with <paramref name="backend"/> from now on (it must score the same vocabulary).</summary>
    public void UseBackend(IDecodingBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (Backend is { } current && backend.VocabSize != current.VocabSize)
            throw new ArgumentException($"the backend scores {backend.VocabSize} tokens, the model {current.VocabSize}", nameof(backend));
        _own ??= backend; // the first backend is the model's own (torch)
        Backend = backend;
    }

    /// <summary>
    /// The log-probability of each token of <paramref name="ids"/> after the tokens before it, for ids[1..] (the first token
    /// has no context and no entry), each with the <paramref name="top"/> most likely tokens at its position. A transformer
    /// on the torch engine reads the sequence in one pass; other models and engines read it token by token. Not thread-safe
    /// with other calls on the model (a server runs it on its decoding thread).
    /// </summary>
    public IReadOnlyList<TokenLogprob> ScoreTokens(IReadOnlyList<int> ids, int top = 0)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (top < 0 || top > Vocabulary.Size) throw new ArgumentOutOfRangeException(nameof(top), top, $"must be between 0 and the vocabulary's {Vocabulary.Size}");
        foreach (int id in ids)
            if (id < 0 || id >= Vocabulary.Size) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token ids must be in [0, {Vocabulary.Size})");
        if (Context is int context && ids.Count > context) throw new ArgumentException($"{ids.Count} tokens exceed the model's context of {context}", nameof(ids));
        var result = new List<TokenLogprob>(Math.Max(0, ids.Count - 1));
        if (ids.Count < 2) return result;
        if (Module is CachedDecoder decoder && ReferenceEquals(Backend, _own))
        {
            using var noGrad = LibTorch.NoGrad();
            using var scope = DisposeScope.Begin();
            long t = ids.Count;
            Tensor input = Tensor.From(ids.Select(i => (long)i).ToArray(), 1, t).To(Device);
            (Tensor logits, KvCache cache) = decoder.Forward(input);
            decoder.Release(cache);
            Tensor logp = logits[0].Narrow(0, 0, t - 1).To(ScalarType.Float32).LogSoftmax(-1);                      // (T − 1, V)
            float[] chosen = logp.Gather(1, input[0].Narrow(0, 1, t - 1).View(t - 1, 1)).To(Device.CPU).ToArray<float>();
            float[] topValues = [];
            long[] topIds = [];
            if (top > 0)
            {
                (Tensor values, Tensor indices) = logp.TopK(top, -1);
                topValues = values.To(Device.CPU).ToArray<float>();
                topIds = indices.To(Device.CPU).ToArray<long>();
            }
            for (int i = 0; i < t - 1; ++i)
                result.Add(new TokenLogprob(ids[i + 1], chosen[i],
                    Enumerable.Range(i * top, top).Select(j => ((int)topIds[j], topValues[j])).ToArray()));
            return result;
        }
        using IDecodingBatch batch = OpenBatch();
        float[] scores = batch.Add([ids.Take(1).ToArray()])[0];
        for (int i = 1; i < ids.Count; ++i)
        {
            result.Add(TokenLogprob.Of(scores, ids[i], top));
            if (i < ids.Count - 1) scores = batch.Step([ids[i]])[0];
        }
        return result;
    }

    /// <summary>One continuation of <paramref name="prompt"/> (ids); <paramref name="onToken"/> receives each token as it comes.</summary>
    public GenerationResult Generate(IReadOnlyList<int> prompt, GenerationOptions options, Action<int>? onToken = null, PrefixConstraint? prefix = null) =>
        Generator.Generate(Backend, prompt, options, ids => Decode(ids), onToken, prefix);

    /// <summary>Continuations of every prompt, stepped together as one batch (row i samples with seed Seed + i), each
    /// optionally made to start with a text (<paramref name="prefixes"/>, for token healing).</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
                                                         IReadOnlyList<PrefixConstraint?>? prefixes = null) =>
        Generator.GenerateBatch(Backend, prompts, options, ids => Decode(ids), prefixes: prefixes);

    /// <summary>An empty batch for decoding many sequences that join and leave between steps (continuous batching; a server's scheduler).</summary>
    public IDecodingBatch OpenBatch() => Backend.OpenBatch();

    private string[]? _tokenTexts;

    /// <summary>The text of every token id on its own (empty for special tokens), for <see cref="PrefixConstraint"/>.</summary>
    public IReadOnlyList<string> TokenTexts => _tokenTexts ??= Enumerable.Range(0, Vocabulary.Size).Select(i => Vocabulary.IsSpecial(i) ? "" : Vocabulary.Decode([i])).ToArray();

    /// <summary>Validation figures over <paramref name="texts"/>, each read as start token, text, end token, in batches of
    /// <paramref name="batchSize"/> (default: 32 sequences for recurrent models, 8 context windows for a GPT).</summary>
    public abstract LmEvaluation Evaluate(IReadOnlyList<string> texts, int? batchSize = null);

    /// <summary>Positions per window when a GPT is evaluated (default: its n_positions; a run folder loads with its training context).</summary>
    public int? EvaluationContext { get; set; }

    /// <summary>How a GPT's validation texts are laid into rows (default packed; a run folder loads with the rows it trained on).</summary>
    public GptRows EvaluationRows { get; set; }

    /// <summary>Moves the model to <paramref name="device"/>.</summary>
    public LanguageModel To(Device device)
    {
        Module.To(device);
        return this;
    }

    // Moves a model just loaded to the device asked; a failure (e.g. no CUDA) disposes it.
    internal LanguageModel OnDevice(Device device)
    {
        if (device == Device.CPU) return this;
        try { return To(device); }
        catch { Dispose(); throw; }
    }

    /// <summary>The LoRA adapter attached at load (<see cref="ModelLoadOptions.Adapter"/>), or null. The model owns it.</summary>
    public LoraAdapter? Adapter { get; private set; }

    /// <summary>Attaches the PEFT LoRA adapter in <paramref name="dir"/> to this transformer decoder as <see cref="Adapter"/>: it applies
    /// wherever no other choice is made (<see cref="Slovo.Torch.NN.LoraLayer.Select"/>). The model owns it from then on.</summary>
    public LoraAdapter AttachAdapter(string dir)
    {
        if (Adapter is not null) throw new InvalidOperationException("the model has an adapter already; add more with LoadAdapter");
        return Adapter = ReadAdapter(dir);
    }

    /// <summary>
    /// Loads one more PEFT LoRA adapter onto the same base weights, applied only on threads that select it (<see cref="LoraAdapter.Use"/>):
    /// a server holds one base model with several adapters this way. The model owns it from then on.
    /// </summary>
    public LoraAdapter LoadAdapter(string dir)
    {
        LoraAdapter adapter = ReadAdapter(dir);
        _extraAdapters.Add(adapter);
        return adapter;
    }

    private LoraAdapter ReadAdapter(string dir) => Module is CachedDecoder decoder ? LoraAdapter.Load(dir, decoder)
        : throw new InvalidOperationException($"LoRA adapters fit transformer decoders (GPT-2, the open families); this is a {Kind} model");

    private readonly List<LoraAdapter> _extraAdapters = [];

    /// <summary>Every LoRA adapter on the model: <see cref="Adapter"/> and those of <see cref="LoadAdapter"/>.</summary>
    public IReadOnlyList<LoraAdapter> Adapters => Adapter is null ? _extraAdapters : [Adapter, .. _extraAdapters];

    /// <inheritdoc />
    public void Dispose()
    {
        Adapter?.Dispose();
        foreach (LoraAdapter a in _extraAdapters) a.Dispose();
        Module.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Reads whichever kind of language model <paramref name="path"/> holds (see the class summary) onto
    /// <paramref name="device"/> (default: the CPU), through <see cref="ModelRegistry"/>. A folder that is none of them is an
    /// error that says what was looked for.
    /// </summary>
    public static LanguageModel Load(string path, Device? device = null) => ModelRegistry.Default.LoadLanguageModel(path, device);

    /// <summary>A recurrent model in memory (e.g. one being trained) with its vocabulary; disposing the result disposes the model.</summary>
    public static LanguageModel Of(RnnLanguageModel model, Vocabulary vocabulary) => new Recurrent(model, vocabulary, "memory");

    /// <summary>A GPT in memory with its vocabulary (prompts read after the start token, as Slovo trains); disposing the result
    /// disposes the model.</summary>
    public static LanguageModel Of(GptModel model, Vocabulary vocabulary) => new Gpt(model, vocabulary, promptsStartWithSos: true, "memory");

    internal static LanguageModel Of(RnnLanguageModel model, Vocabulary vocabulary, string source) => new Recurrent(model, vocabulary, source);

    internal static LanguageModel Of(GptModel model, Vocabulary vocabulary, bool promptsStartWithSos, string source) => new Gpt(model, vocabulary, promptsStartWithSos, source);

    /// <summary>An open-family decoder (a Llama trained here, say) with its vocabulary: prompts start with the start token when
    /// <paramref name="addBos"/>. Disposing the result disposes the model.</summary>
    public static LanguageModel Of(DecoderModel model, Vocabulary vocabulary, bool addBos = true) => Of(model, vocabulary, addBos, "memory", null);

    /// <summary>An open-family decoder with its vocabulary, whether prompts start with the start token, and its chat template.</summary>
    internal static LanguageModel Of(DecoderModel model, Vocabulary vocabulary, bool addBos, string source, string? chatTemplate) =>
        new Decoder(model, vocabulary, addBos, source) { ChatTemplate = chatTemplate, EndIds = model.Config.EosTokenIds.Count > 0 ? model.Config.EosTokenIds : [vocabulary.EosId] };

    /// <summary>The chat template (Jinja) the model was trained to read conversations in, or null (a model without one).</summary>
    public string? ChatTemplate { get; internal init; }

    /// <summary>The ids that end a reply: the model's end-of-sequence ids (a chat model often has several).</summary>
    public IReadOnlyList<int> EndIds { get => _endIds ?? [Vocabulary.EosId]; internal init => _endIds = value; }

    private readonly IReadOnlyList<int>? _endIds;

    /// <summary>The sampling settings the model was published with (generation_config.json), each null when not given.</summary>
    public GenerationDefaults GenerationDefaults { get; internal set; } = new();

    private sealed class Decoder(DecoderModel model, Vocabulary vocab, bool addBos, string source)
        : Typed<KvCache>(model, model, vocab, addBos, source)
    {
        public override string Kind => model.Config.ModelType;
        public override int? Context => model.Config.MaxPositions;

        public override LmEvaluation Evaluate(IReadOnlyList<string> texts, int? batchSize = null) =>
            GptTrainer.Evaluate(model, Sequences(texts), Chars(texts), EvaluationContext ?? Math.Min(model.Config.MaxPositions, 1024), batchSize ?? 8, EvaluationRows);
    }

    private sealed class Gpt(GptModel model, Vocabulary vocab, bool promptsStartWithSos, string source)
        : Typed<KvCache>(model, model, vocab, promptsStartWithSos, source)
    {
        public override string Kind => "gpt";
        public override int? Context => model.Config.Positions;

        public override LmEvaluation Evaluate(IReadOnlyList<string> texts, int? batchSize = null) =>
            GptTrainer.Evaluate(model, Sequences(texts), Chars(texts), EvaluationContext ?? model.Config.Positions, batchSize ?? 8, EvaluationRows);
    }

    private sealed class Recurrent(RnnLanguageModel model, Vocabulary vocab, string source)
        : Typed<(Tensor H, Tensor? C)>(model, model, vocab, promptsStartWithSos: true, source)
    {
        public override string Kind => RecurrentLmTrainer.Kind(model);
        public override int? Context => null;

        public override LmEvaluation Evaluate(IReadOnlyList<string> texts, int? batchSize = null) =>
            RecurrentLmTrainer.Evaluate(model, Sequences(texts), Chars(texts), Vocabulary.PadId, batchSize ?? 32);
    }

    private abstract class Typed<TState> : LanguageModel
    {
        protected Typed(Module module, IContinuousBatchModel<TState> model, Vocabulary vocab, bool promptsStartWithSos, string source)
            : base(module, vocab, promptsStartWithSos, source) => UseBackend(DecodingBackend.Of(model));

        protected int[][] Sequences(IReadOnlyList<string> texts)
        {
            var result = new int[texts.Count][];
            Parallel.For(0, texts.Count, i => result[i] = Vocabulary.EncodeSequence(texts[i]));
            return result;
        }

        protected static long Chars(IReadOnlyList<string> texts) => texts.Sum(t => (long)t.Length + 1);
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Embeddings;
using Slovo.Generation;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Slovo.Text;

namespace Slovo.LanguageModels;

// Shapes: B batch, T time steps, E embedding size, H hidden size, V vocabulary, L·D layers × directions.

/// <summary>Settings of <see cref="RnnLanguageModel"/>.</summary>
public sealed record RnnLanguageModelOptions
{
    /// <summary>Vocabulary size V.</summary>
    public required int VocabSize { get; init; }

    /// <summary>The recurrence.</summary>
    public RecurrentKind Kind { get; init; } = RecurrentKind.Lstm;

    /// <summary>Embedding size E.</summary>
    public int EmbeddingSize { get; init; } = 128;

    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Stacked layers.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Dropout on embeddings, between layers and before the output layer.</summary>
    public double Dropout { get; init; }

    /// <summary>Share the input embedding with the output layer (needs E = H).</summary>
    public bool TieWeights { get; init; }

    /// <summary>The padding id: its embedding is zero and its targets are ignored.</summary>
    public int PadId { get; init; }
}

/// <summary>
/// A recurrent language model: embedding → RNN/LSTM/GRU → linear layer over the vocabulary, with optionally tied input
/// and output weights. It is an <see cref="IIncrementalModel{TState}"/>, so generation carries the recurrent state.
/// </summary>
public sealed class RnnLanguageModel : Module, IContinuousBatchModel<(Tensor H, Tensor? C)>
{
    private readonly Embedding _embedding;
    private readonly Recurrent _rnn;
    private readonly Linear? _head;
    private readonly Tensor? _tiedBias;

    /// <summary>The settings.</summary>
    public RnnLanguageModelOptions Options { get; }

    /// <inheritdoc />
    public int VocabSize => Options.VocabSize;

    /// <summary>Creates the model with PyTorch's default initialisation.</summary>
    public RnnLanguageModel(RnnLanguageModelOptions options)
    {
        if (options.TieWeights && options.EmbeddingSize != options.HiddenSize)
            throw new ArgumentException($"tied weights need equal embedding and hidden sizes (got {options.EmbeddingSize} and {options.HiddenSize})", nameof(options));
        Options = options;
        _embedding = RegisterModule("embedding", new Embedding(options.VocabSize, options.EmbeddingSize, paddingIdx: options.PadId));
        _rnn = RegisterModule("rnn", new Recurrent(options.Kind, options.EmbeddingSize, options.HiddenSize, options.Layers,
            batchFirst: true, dropout: options.Layers > 1 ? options.Dropout : 0));
        if (options.TieWeights)
            _tiedBias = RegisterParameter("head_bias", Tensor.Zeros(options.VocabSize));
        else
            _head = RegisterModule("head", new Linear(options.HiddenSize, options.VocabSize));
    }

    /// <summary>
    /// Copies pretrained vectors into the embedding for every vocabulary word found in <paramref name="vectors"/>
    /// (their dimension must equal E); returns how many were found. <paramref name="freeze"/> stops them from training.
    /// </summary>
    public int InitializeEmbeddings(KeyedVectors vectors, IReadOnlyList<string> vocabulary, bool freeze = false) =>
        PretrainedEmbeddings.Copy(_embedding, vectors, vocabulary, Options.PadId, freeze);

    /// <summary>Stops (or restarts) training of the input embedding, e.g. to keep pretrained vectors fixed.</summary>
    public void FreezeEmbeddings(bool freeze = true) => _embedding.Frozen = freeze;

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The model file of a recurrent language model (<c>model.safetensors</c> of a run folder).</summary>
    public static readonly ModelArchiveKind Archive = new("slovo-rnn-lm", "language model", "train one with 'slovo lm train'");

    /// <summary>Writes the model and <paramref name="vocabulary"/> to one safetensors file (atomically) that <see cref="Load"/> reads.</summary>
    public void Save(string path, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ModelArchive.Save(path, Archive, Options, StateDict(), new Dictionary<string, string> { ["vocab"] = vocabulary.ToJson() }, Json);
    }

    /// <summary>Reads a model written by <see cref="Save"/> (or a run folder holding one), in evaluation mode, with its vocabulary.</summary>
    public static (RnnLanguageModel Model, Vocabulary Vocabulary) Load(string path) =>
        ModelArchive.Load<RnnLanguageModelOptions, (RnnLanguageModel, Vocabulary)>(path, Archive, a =>
        {
            Vocabulary vocab = Vocabulary.FromJson(a.Field("vocab"));
            var model = new RnnLanguageModel(a.Options);
            try { model.LoadStateDict(a.Tensors); }
            catch { model.Dispose(); throw; }
            model.Eval();
            return (model, vocab);
        }, Json);

    /// <summary>Logits (B, T, V) for ids (B, T) and the state after them; <paramref name="state"/> continues a previous call.</summary>
    public (Tensor Logits, (Tensor H, Tensor? C) State) Forward(Tensor ids, (Tensor H, Tensor? C)? state = null)
    {
        using var scope = DisposeScope.Begin();
        (Tensor hidden, (Tensor H, Tensor? C) next) = Hidden(ids, state);
        Tensor logits = Head(hidden);                                                                 // (B, T, V)
        scope.Keep(logits);
        scope.Keep(next.H);
        if (next.C is not null) scope.Keep(next.C);
        return (logits, next);
    }

    /// <summary>The features (B, T, H) the output layer reads (dropout applied while training), and the state after
    /// them. With <see cref="Head"/>, training can score only the positions that have a real target.</summary>
    public (Tensor Hidden, (Tensor H, Tensor? C) State) Hidden(Tensor ids, (Tensor H, Tensor? C)? state = null)
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Dropout.Functional(_embedding.Forward(ids), Options.Dropout, Training);          // (B, T, E)
        (Tensor output, Tensor h, Tensor? c) = _rnn.Run(x, state?.H, state?.C);                      // (B, T, H), (L·D, B, H)
        output = Dropout.Functional(output, Options.Dropout, Training);
        scope.Keep(output);
        scope.Keep(h);
        if (c is not null) scope.Keep(c);
        return (output, (h, c));
    }

    /// <summary>The output layer: logits over the vocabulary for features (…, H).</summary>
    public Tensor Head(Tensor hidden) => _head is not null ? _head.Forward(hidden) : Linear.Functional(hidden, _embedding.Weight, _tiedBias);

    /// <inheritdoc />
    public ((Tensor H, Tensor? C) State, float[] Logits) Start(IReadOnlyList<int> prompt)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token (e.g. a start-of-sequence id)", nameof(prompt));
        return Step(prompt, null);
    }

    /// <inheritdoc />
    public ((Tensor H, Tensor? C) State, float[] Logits) Advance((Tensor H, Tensor? C) state, int token) => Step([token], state);

    /// <inheritdoc />
    public ((Tensor H, Tensor? C) State, float[][] Logits) StartBatch(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        // A recurrence's final state depends on where a row ends, so prompts are read in groups of equal length (padding would
        // run into the state); the groups' states are then put back in the prompts' order along the batch axis.
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        var logits = new float[prompts.Count][];
        var order = new List<int>();
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        foreach (IGrouping<int, int> group in Enumerable.Range(0, prompts.Count).GroupBy(i => prompts[i].Count))
        {
            int[] rows = group.ToArray();
            long[] flat = rows.SelectMany(r => prompts[r].Select(t => (long)t)).ToArray();
            Tensor ids = ToDevice(Tensor.From(flat, rows.Length, group.Key));                                       // (G, T)
            (Tensor hidden, (Tensor H, Tensor? C) next) = Hidden(ids);
            float[] last = Head(hidden.Narrow(1, group.Key - 1, 1)).ToArray<float>();                              // (G, 1, V)
            for (int g = 0; g < rows.Length; ++g) logits[rows[g]] = last.AsSpan(g * VocabSize, VocabSize).ToArray();
            order.AddRange(rows);
            hs.Add(next.H);
            if (next.C is not null) cs.Add(next.C);
        }
        var back = new long[prompts.Count];                                 // position in the grouped order of each prompt
        for (int k = 0; k < order.Count; ++k) back[order[k]] = k;
        Tensor index = ToDevice(Tensor.From(back));
        Tensor h = Tensor.Cat(hs, 1).IndexSelect(1, index);                                                        // (L·D, B, H)
        Tensor? c = cs.Count > 0 ? Tensor.Cat(cs, 1).IndexSelect(1, index) : null;
        return ((h.DetachFromScope(), c?.DetachFromScope()), logits);
    }

    /// <inheritdoc />
    public ((Tensor H, Tensor? C) State, float[][] Logits) AdvanceBatch((Tensor H, Tensor? C) state, IReadOnlyList<int> tokens)
    {
        using var noGrad = LibTorch.NoGrad();
        using Tensor ids = ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), tokens.Count, 1)); // (B, 1)
        (Tensor logits, (Tensor H, Tensor? C) next) = Forward(ids, state);
        using (logits)
        {
            float[] flat = logits.ToArray<float>();                                                     // (B, 1, V)
            var rows = new float[tokens.Count][];
            for (int b = 0; b < rows.Length; ++b) rows[b] = flat.AsSpan(b * VocabSize, VocabSize).ToArray();
            return ((next.H.DetachFromScope(), next.C?.DetachFromScope()), rows);
        }
    }

    /// <inheritdoc />
    public (Tensor H, Tensor? C) Concat((Tensor H, Tensor? C) first, (Tensor H, Tensor? C) second)
    {
        using var noGrad = LibTorch.NoGrad();
        return (Tensor.Cat([first.H, second.H], 1), first.C is null ? null : Tensor.Cat([first.C, second.C!], 1));
    }

    /// <inheritdoc />
    public (Tensor H, Tensor? C) Select((Tensor H, Tensor? C) state, IReadOnlyList<int> rows)
    {
        using var noGrad = LibTorch.NoGrad();
        using Tensor index = Tensor.From(rows.Select(r => (long)r).ToArray()).To(state.H.Device);
        return (state.H.IndexSelect(1, index), state.C?.IndexSelect(1, index));
    }

    /// <inheritdoc />
    public void Release((Tensor H, Tensor? C) state)
    {
        state.H.Dispose();
        state.C?.Dispose();
    }

    private ((Tensor H, Tensor? C), float[]) Step(IReadOnlyList<int> tokens, (Tensor H, Tensor? C)? state)
    {
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        Tensor ids = ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), 1, tokens.Count)); // (1, T)
        (Tensor hidden, (Tensor H, Tensor? C) next) = Hidden(ids, state);
        float[] last = Head(hidden[0, -1]).ToArray<float>();                                         // (V): only the last position is scored
        return ((next.H.DetachFromScope(), next.C?.DetachFromScope()), last);
    }
}

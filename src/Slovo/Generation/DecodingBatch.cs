namespace Slovo.Generation;

/// <summary>
/// An <see cref="IBatchedIncrementalModel{TState}"/> whose batched state can be joined and split row-wise, so that sequences
/// can join a running batch and leave it between steps (continuous batching).
/// </summary>
public interface IContinuousBatchModel<TState> : IBatchedIncrementalModel<TState>
{
    /// <summary>A state holding the rows of <paramref name="first"/> and then those of <paramref name="second"/> (both stay valid).</summary>
    TState Concat(TState first, TState second);

    /// <summary>A state holding only <paramref name="rows"/> of <paramref name="state"/>, in that order (a row may be taken more than once;
    /// the input stays valid).</summary>
    TState Select(TState state, IReadOnlyList<int> rows);

    /// <summary>Frees a state's memory now (it must not be used afterwards).</summary>
    void Release(TState state);
}

/// <summary>
/// Where the decoding engine gets next-token scores: a torch module carrying its state (<see cref="DecodingBackend.Of{TState}"/>),
/// or any other engine that can keep rows of sequences and step them. Every decoding strategy (<see cref="Generator"/>: greedy,
/// sampling, beams; completions; a server's scheduler) steps through the batches a backend opens, and nothing else.
/// </summary>
public interface IDecodingBackend
{
    /// <summary>The number of scores per row (the vocabulary size).</summary>
    int VocabSize { get; }

    /// <summary>
    /// Whether the scores are log-probabilities (normalised over the vocabulary) rather than raw logits. The samplers read
    /// either the same way (a softmax of log-probabilities gives the probabilities back); a server's logprobs need to know.
    /// </summary>
    bool ScoresAreLogProbabilities { get; }

    /// <summary>An empty batch of rows to decode.</summary>
    IDecodingBatch OpenBatch();
}

/// <summary>
/// Rows of sequences being decoded together, whatever the backend: rows are added (their prompts read), stepped one token
/// each, and kept or dropped (or copied, as beam search branches), between steps. Each row gets the scores it would get alone.
/// </summary>
public interface IDecodingBatch : IDisposable
{
    /// <summary>Rows in the batch.</summary>
    int Count { get; }

    /// <summary>Reads the prompts as new rows at the end of the batch; returns their next-token scores (an engine may reuse
    /// the arrays: they hold these scores until the batch's next call).</summary>
    IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts);

    /// <summary>Reads one token per row (in row order); returns every row's next-token scores (valid until the batch's next call).</summary>
    IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens);

    /// <summary>Keeps only <paramref name="rows"/>, in that order (a row may be named more than once: it is copied), dropping the others.</summary>
    void Retain(IReadOnlyList<int> rows);
}

/// <summary>Backends over Slovo's own models.</summary>
public static class DecodingBackend
{
    /// <summary>
    /// The backend of an incremental model: batches of a <see cref="IContinuousBatchModel{TState}"/> step all rows in one
    /// batched call; any other <see cref="IIncrementalModel{TState}"/> steps its rows one by one.
    /// </summary>
    public static IDecodingBackend Of<TState>(IIncrementalModel<TState> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Incremental<TState>(model);
    }

    private sealed class Incremental<TState>(IIncrementalModel<TState> model) : IDecodingBackend
    {
        public int VocabSize => model.VocabSize;
        public bool ScoresAreLogProbabilities => false;

        public IDecodingBatch OpenBatch() =>
            model is IContinuousBatchModel<TState> continuous ? new DecodingBatch<TState>(continuous) : new RowwiseDecodingBatch<TState>(model);
    }
}

/// <summary>The <see cref="IDecodingBatch"/> of any <see cref="IContinuousBatchModel{TState}"/>: one batched state for all rows.</summary>
public sealed class DecodingBatch<TState>(IContinuousBatchModel<TState> model) : IDecodingBatch
{
    private TState? _state;

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) return [];
        (TState added, float[][] logits) = model.StartBatch(prompts);
        if (Count == 0) _state = added;
        else
        {
            TState joined = model.Concat(_state!, added);
            model.Release(_state!);
            model.Release(added);
            _state = joined;
        }
        Count += prompts.Count;
        return logits;
    }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count != Count) throw new ArgumentException($"{tokens.Count} tokens for {Count} rows", nameof(tokens));
        if (Count == 0) return [];
        (TState next, float[][] logits) = model.AdvanceBatch(_state!, tokens);
        model.Release(_state!);
        _state = next;
        return logits;
    }

    /// <inheritdoc />
    public void Retain(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Any(r => r < 0 || r >= Count)) throw new ArgumentOutOfRangeException(nameof(rows), $"rows must be in [0, {Count})");
        if (rows.Count == Count && rows.Select((r, i) => r == i).All(x => x)) return;
        if (rows.Count == 0)
        {
            Dispose();
            return;
        }
        TState kept = model.Select(_state!, rows);
        model.Release(_state!);
        _state = kept;
        Count = rows.Count;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Count > 0) model.Release(_state!);
        _state = default;
        Count = 0;
    }
}

/// <summary>The <see cref="IDecodingBatch"/> of a model that steps one sequence at a time: each row keeps its own state.</summary>
internal sealed class RowwiseDecodingBatch<TState>(IIncrementalModel<TState> model) : IDecodingBatch
{
    private List<TState> _states = [];

    public int Count => _states.Count;

    public IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var logits = new float[prompts.Count][];
        for (int i = 0; i < prompts.Count; ++i)
        {
            (TState state, logits[i]) = model.Start(prompts[i]);
            _states.Add(state);
        }
        return logits;
    }

    public IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count != Count) throw new ArgumentException($"{tokens.Count} tokens for {Count} rows", nameof(tokens));
        var logits = new float[tokens.Count][];
        for (int i = 0; i < tokens.Count; ++i) (_states[i], logits[i]) = model.Advance(_states[i], tokens[i]);
        return logits;
    }

    public void Retain(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Any(r => r < 0 || r >= Count)) throw new ArgumentOutOfRangeException(nameof(rows), $"rows must be in [0, {Count})");
        _states = rows.Select(r => _states[r]).ToList(); // states are immutable once returned, so a copied row may share one
    }

    public void Dispose() => _states.Clear();
}

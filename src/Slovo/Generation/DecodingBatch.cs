namespace Slovo.Generation;

/// <summary>
/// An <see cref="IBatchedIncrementalModel{TState}"/> whose batched state can be joined and split row-wise, so that sequences
/// can join a running batch and leave it between steps (continuous batching).
/// </summary>
public interface IContinuousBatchModel<TState> : IBatchedIncrementalModel<TState>
{
    /// <summary>A state holding the rows of <paramref name="first"/> and then those of <paramref name="second"/> (both stay valid).</summary>
    TState Concat(TState first, TState second);

    /// <summary>A state holding only <paramref name="rows"/> of <paramref name="state"/>, in that order (the input stays valid).</summary>
    TState Select(TState state, IReadOnlyList<int> rows);

    /// <summary>Frees a state's memory now (it must not be used afterwards).</summary>
    void Release(TState state);
}

/// <summary>
/// Rows of a model being decoded together, whatever the model's state type: rows are added (their prompts read), stepped one
/// token each, and dropped, between steps. Each row gets the logits it would get alone.
/// </summary>
public interface IDecodingBatch : IDisposable
{
    /// <summary>Rows in the batch.</summary>
    int Count { get; }

    /// <summary>Reads the prompts as new rows at the end of the batch; returns their next-token logits.</summary>
    IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts);

    /// <summary>Reads one token per row (in row order); returns every row's next-token logits.</summary>
    IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens);

    /// <summary>Keeps only <paramref name="rows"/> (in that order), dropping the others.</summary>
    void Retain(IReadOnlyList<int> rows);
}

/// <summary>The <see cref="IDecodingBatch"/> of any <see cref="IContinuousBatchModel{TState}"/>.</summary>
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

namespace Slovo.Generation;

/// <summary>
/// A language model seen one token at a time, so that generation carries the model's state forward instead of re-running
/// the prefix for every new token. States must not be changed once returned (beam search keeps several alive).
/// </summary>
/// <typeparam name="TState">What the model carries between steps (e.g. an RNN's hidden and cell states).</typeparam>
public interface IIncrementalModel<TState>
{
    /// <summary>The vocabulary size.</summary>
    int VocabSize { get; }

    /// <summary>Reads the prompt; returns the state after it and the logits of the next token.</summary>
    (TState State, float[] Logits) Start(IReadOnlyList<int> prompt);

    /// <summary>Reads one more token; returns the new state and the logits of the token after it.</summary>
    (TState State, float[] Logits) Advance(TState state, int token);
}

/// <summary>An <see cref="IIncrementalModel{TState}"/> that can also step many sequences at once (one state for all rows).</summary>
public interface IBatchedIncrementalModel<TState> : IIncrementalModel<TState>
{
    /// <summary>Reads every prompt; returns the batched state and each row's next-token logits.</summary>
    (TState State, float[][] Logits) StartBatch(IReadOnlyList<IReadOnlyList<int>> prompts);

    /// <summary>Reads one more token per row; returns the new state and each row's next-token logits.</summary>
    (TState State, float[][] Logits) AdvanceBatch(TState state, IReadOnlyList<int> tokens);
}

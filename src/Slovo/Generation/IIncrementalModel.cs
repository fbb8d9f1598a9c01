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

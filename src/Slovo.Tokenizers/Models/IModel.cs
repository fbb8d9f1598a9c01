namespace Slovo.Tokenizers.Models;

/// <summary>A token found by a model: its id and its character range [Start, End) within the piece.</summary>
public readonly record struct Token(int Id, int Start, int End);

/// <summary>Turns one pre-tokenized piece into tokens. Implementations are thread-safe.</summary>
public interface IModel
{
    /// <summary>Appends the tokens of <paramref name="piece"/> to <paramref name="tokens"/>.</summary>
    void Tokenize(ReadOnlySpan<char> piece, List<Token> tokens);

    /// <summary>The id of a token, or null.</summary>
    int? TokenToId(string token);

    /// <summary>The token of an id, or null.</summary>
    string? IdToToken(int id);

    /// <summary>The number of ids (one more than the largest).</summary>
    int VocabSize { get; }

    /// <summary>The token that stands for what the vocabulary cannot spell, or null when the model has none.</summary>
    string? UnkToken { get; }

    /// <summary>Every token with its id.</summary>
    IReadOnlyDictionary<string, int> Vocab { get; }

    /// <summary>The string shown for token <paramref name="t"/> of <paramref name="piece"/>: its vocabulary entry by default.</summary>
    string TokenString(Token t, ReadOnlySpan<char> piece) => IdToToken(t.Id) ?? "";
}

using Slovo.Tokenizers.Normalizers;

namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>
/// Splits text into pieces that a model tokenizes independently. Pieces cover the text in order, without gaps.
/// A pre-tokenizer may also change the text before the split (<see cref="Prepare"/>) and the alphabet a piece reaches
/// the model in (<see cref="MapPiece"/>): the byte-level pre-tokenizer does both, and the tokenizer needs to know
/// nothing about it.
/// </summary>
public interface IPreTokenizer
{
    /// <summary>Appends (start, length) of each piece of <paramref name="text"/> to <paramref name="pieces"/>, in UTF-16 units.</summary>
    void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces);

    /// <summary>
    /// Adjusts one stretch of normalized text before it is split: <paramref name="origin"/> is where the stretch starts in
    /// the original text, <paramref name="first"/> whether it is the input's first (added tokens cut the input into
    /// stretches). Unchanged by default.
    /// </summary>
    NormalizedText Prepare(NormalizedText text, int origin, bool first) => text;

    /// <summary>
    /// The piece as the model reads it, with <paramref name="source"/>[k] the index within <paramref name="piece"/> of
    /// the character that the model's k-th character came from; null (the default) when the model reads the piece as it is.
    /// </summary>
    string? MapPiece(ReadOnlySpan<char> piece, out int[]? source)
    {
        source = null;
        return null;
    }
}

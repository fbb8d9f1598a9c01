namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>Splits text into pieces that a model tokenizes independently. Pieces cover the text in order, without gaps.</summary>
public interface IPreTokenizer
{
    /// <summary>Appends (start, length) of each piece of <paramref name="text"/> to <paramref name="pieces"/>, in UTF-16 units.</summary>
    void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces);
}

using System.Buffers;
using System.Globalization;
using System.Text;

namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>
/// GPT-2's split, equivalent to the pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>
/// evaluated on Unicode code points (so letters outside the BMP count as letters), written as a scanner
/// rather than a regex for speed. Alternatives are tried in that order at each position, as a regex would.
/// </summary>
public sealed class Gpt2PreTokenizer : IPreTokenizer
{
    private enum Kind { Letter, Number, Space, Other }

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0;
        while (i < text.Length)
        {
            int end = Match(text, i);
            pieces.Add((i, end - i));
            i = end;
        }
    }

    private static readonly Kind[] Ascii = BuildAscii();

    private static Kind[] BuildAscii()
    {
        var table = new Kind[128];
        for (int c = 0; c < 128; ++c)
            table[c] = char.IsWhiteSpace((char)c) ? Kind.Space : char.IsLetter((char)c) ? Kind.Letter : char.IsDigit((char)c) ? Kind.Number : Kind.Other;
        return table;
    }

    private static Kind Classify(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        if (c < 128)
        {
            width = 1;
            return Ascii[c];
        }
        if (Rune.DecodeFromUtf16(text[i..], out Rune r, out width) != OperationStatus.Done)
        {
            width = 1; // a lone surrogate is neither letter, number nor space
            return Kind.Other;
        }
        if (Rune.IsWhiteSpace(r)) return Kind.Space;
        switch (Rune.GetUnicodeCategory(r))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return Kind.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return Kind.Number;
            default:
                return Kind.Other;
        }
    }

    /// <summary>End of the run of <paramref name="kind"/> starting at <paramref name="i"/>.</summary>
    private static int RunEnd(ReadOnlySpan<char> text, int i, Kind kind)
    {
        while (i < text.Length && Classify(text, i, out int w) == kind) i += w;
        return i;
    }

    /// <summary>The end of the piece that starts at <paramref name="i"/>.</summary>
    internal static int Match(ReadOnlySpan<char> text, int i)
    {
        char c = text[i];
        // 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2)
        if (c == '\'' && i + 1 < text.Length)
        {
            char n = text[i + 1];
            if (n is 's' or 't' or 'm' or 'd') return i + 2;
            if (i + 2 < text.Length)
            {
                char n2 = text[i + 2];
                if ((n == 'r' && n2 == 'e') || (n == 'v' && n2 == 'e') || (n == 'l' && n2 == 'l')) return i + 3;
            }
        }
        // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space, then a run of one kind
        if (c == ' ' && i + 1 < text.Length)
        {
            Kind next = Classify(text, i + 1, out _);
            if (next != Kind.Space) return RunEnd(text, i + 1, next);
        }
        Kind kind = Classify(text, i, out _);
        if (kind != Kind.Space) return RunEnd(text, i, kind);
        // '\s+(?!\S)': a whitespace run, less its last character when a non-space follows; else '\s+'
        int spaceEnd = RunEnd(text, i, Kind.Space);
        if (spaceEnd == text.Length) return spaceEnd;
        return spaceEnd - 1 > i ? spaceEnd - 1 : spaceEnd; // White_Space characters are all in the BMP
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;

namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>Character classes shared by the pre-tokenizers.</summary>
internal static class CharClass
{
    /// <summary>A word character as regex \w in Unicode mode: letters, marks, decimal digits, connector punctuation, ZWJ/ZWNJ.</summary>
    public static bool IsWord(Rune r) => Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.LetterNumber => true,
        _ => r.Value is 0x200C or 0x200D,
    };

    /// <summary>Punctuation as Hugging Face counts it: Unicode P* categories and ASCII symbols.</summary>
    public static bool IsPunctuation(Rune r) =>
        (r.Value < 128 && (r.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126)) ||
        Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    public static Rune At(ReadOnlySpan<char> text, int i, out int width)
    {
        if (Rune.DecodeFromUtf16(text[i..], out Rune r, out width) != OperationStatus.Done) return Rune.ReplacementChar;
        return r;
    }
}

/// <summary>Hugging Face's "Whitespace": runs of word characters, and runs of other non-space characters (regex \w+|[^\w\s]+).</summary>
public sealed class WhitespacePreTokenizer : IPreTokenizer
{
    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0;
        while (i < text.Length)
        {
            Rune r = CharClass.At(text, i, out int w);
            if (Rune.IsWhiteSpace(r)) { i += w; continue; }
            bool word = CharClass.IsWord(r);
            int start = i;
            i += w;
            while (i < text.Length)
            {
                Rune n = CharClass.At(text, i, out int nw);
                if (Rune.IsWhiteSpace(n) || CharClass.IsWord(n) != word) break;
                i += nw;
            }
            pieces.Add((start, i - start));
        }
    }
}

/// <summary>Splits on whitespace only.</summary>
public sealed class WhitespaceSplitPreTokenizer : IPreTokenizer
{
    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i])) { ++i; continue; }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) ++i;
            pieces.Add((start, i - start));
        }
    }
}

/// <summary>Splits whitespace-separated words further so that every punctuation character is its own piece.</summary>
public sealed class PunctuationPreTokenizer : IPreTokenizer
{
    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0, start = 0;
        while (i < text.Length)
        {
            Rune r = CharClass.At(text, i, out int w);
            if (CharClass.IsPunctuation(r))
            {
                if (i > start) pieces.Add((start, i - start));
                pieces.Add((i, w));
                start = i + w;
            }
            i += w;
        }
        if (i > start) pieces.Add((start, i - start));
    }
}

/// <summary>Makes every decimal digit its own piece (individual digits), keeping the rest whole.</summary>
public sealed class DigitsPreTokenizer : IPreTokenizer
{
    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0, start = 0;
        while (i < text.Length)
        {
            if (char.IsDigit(text[i]))
            {
                if (i > start) pieces.Add((start, i - start));
                pieces.Add((i, 1));
                start = i + 1;
            }
            ++i;
        }
        if (i > start) pieces.Add((start, i - start));
    }
}

/// <summary>One piece per character (code point); whitespace is kept as its own piece.</summary>
public sealed class CharPreTokenizer : IPreTokenizer
{
    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        for (int i = 0; i < text.Length;)
        {
            CharClass.At(text, i, out int w);
            pieces.Add((i, w));
            i += w;
        }
    }
}

/// <summary>
/// GPT-2-style byte-level pre-tokenization: the GPT-2 split (when <see cref="UseRegex"/>), then each piece's UTF-8 bytes
/// are shown to the model as byte-level characters. With <see cref="AddPrefixSpace"/>, a space is put before text that
/// does not start with one.
/// </summary>
public sealed class ByteLevelPreTokenizer(bool addPrefixSpace = false, bool useRegex = true) : IPreTokenizer
{
    /// <summary>Whether a space is put before the text.</summary>
    public bool AddPrefixSpace { get; } = addPrefixSpace;

    /// <summary>Whether the GPT-2 split is applied (else the text is one piece).</summary>
    public bool UseRegex { get; } = useRegex;

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        if (!UseRegex)
        {
            if (!text.IsEmpty) pieces.Add((0, text.Length));
            return;
        }
        for (int i = 0; i < text.Length;)
        {
            int end = Gpt2PreTokenizer.Match(text, i);
            pieces.Add((i, end - i));
            i = end;
        }
    }

    /// <summary>With <see cref="AddPrefixSpace"/>, puts a space before the input's first stretch unless it starts with one.</summary>
    public NormalizedText Prepare(NormalizedText text, int origin, bool first) =>
        !AddPrefixSpace || !first || (text.Text.Length > 0 && text.Text[0] == ' ')
            ? text
            : new NormalizedText(" " + text.Text, [origin, .. text.Starts], [origin, .. text.Ends]);

    /// <summary>Maps the piece's UTF-8 bytes to GPT-2's printable byte alphabet.</summary>
    public string? MapPiece(ReadOnlySpan<char> piece, out int[]? source)
    {
        string mapped = ByteLevel.Map(piece, out int[] s);
        source = s;
        return mapped;
    }
}

/// <summary>Applies pre-tokenizers in turn, each splitting the previous one's pieces.</summary>
public sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    /// <summary>The steps.</summary>
    public IReadOnlyList<IPreTokenizer> Steps { get; } = steps;

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        var current = new List<(int, int)> { (0, text.Length) };
        var next = new List<(int Start, int Length)>();
        var inner = new List<(int Start, int Length)>();
        foreach (IPreTokenizer step in Steps)
        {
            next.Clear();
            foreach ((int s, int l) in current)
            {
                inner.Clear();
                step.Split(text.Slice(s, l), inner);
                foreach ((int ps, int pl) in inner) next.Add((s + ps, pl));
            }
            (current, next) = (next, current);
        }
        pieces.AddRange(current.Where(p => p.Item2 > 0));
    }

    /// <summary>Each step prepares the text in turn.</summary>
    public NormalizedText Prepare(NormalizedText text, int origin, bool first)
    {
        foreach (IPreTokenizer step in Steps) text = step.Prepare(text, origin, first);
        return text;
    }

    /// <summary>The first step that maps pieces maps them.</summary>
    public string? MapPiece(ReadOnlySpan<char> piece, out int[]? source)
    {
        foreach (IPreTokenizer step in Steps)
            if (step.MapPiece(piece, out source) is string mapped) return mapped;
        source = null;
        return null;
    }
}

/// <summary>BERT's pre-tokenizer, as Hugging Face's BertPreTokenizer: split on whitespace (dropped), every punctuation character its own piece.</summary>
public sealed class BertPreTokenizer : IPreTokenizer
{
    private static readonly SequencePreTokenizer Steps = new([new WhitespaceSplitPreTokenizer(), new PunctuationPreTokenizer()]);

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces) => Steps.Split(text, pieces);
}

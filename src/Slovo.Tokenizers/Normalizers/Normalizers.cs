using System.Globalization;
using System.Text;

namespace Slovo.Tokenizers.Normalizers;

/// <summary>Transforms text before it is split, keeping alignments to the original.</summary>
public interface INormalizer
{
    /// <summary>The normalized form of <paramref name="input"/>.</summary>
    NormalizedText Normalize(NormalizedText input);
}

/// <summary>Unicode normalization (NFC, NFD, NFKC, NFKD).</summary>
public sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    /// <summary>The form.</summary>
    public NormalizationForm Form { get; } = form;

    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input) =>
        input.Text.IsNormalized(Form) ? input : input.MapClusters(s => IsWellFormed(s) ? s.Normalize(Form) : s);

    private static bool IsWellFormed(string s)
    {
        foreach (char c in s) if (char.IsSurrogate(c)) return s.Length == 2 && char.IsSurrogatePair(s[0], s[1]);
        return true;
    }
}

/// <summary>Lower-cases (invariant culture).</summary>
public sealed class LowercaseNormalizer : INormalizer
{
    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input) => new(input.Text.ToLowerInvariant(), input.Starts, input.Ends); // UTF-16 length is kept
}

/// <summary>Removes combining marks (run after NFD / NFKD to strip accents).</summary>
public sealed class StripAccentsNormalizer : INormalizer
{
    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input)
    {
        var sb = new StringBuilder(input.Text.Length);
        var starts = new List<int>(input.Text.Length);
        var ends = new List<int>(input.Text.Length);
        for (int i = 0; i < input.Text.Length; ++i)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(input.Text[i]) == UnicodeCategory.NonSpacingMark) continue;
            sb.Append(input.Text[i]);
            starts.Add(input.Starts[i]);
            ends.Add(input.Ends[i]);
        }
        return new NormalizedText(sb.ToString(), starts.ToArray(), ends.ToArray());
    }
}

/// <summary>Replaces every occurrence of a literal string.</summary>
public sealed class ReplaceNormalizer(string pattern, string content) : INormalizer
{
    /// <summary>What is replaced.</summary>
    public string Pattern { get; } = pattern.Length > 0 ? pattern : throw new ArgumentException("the pattern may not be empty", nameof(pattern));

    /// <summary>What it is replaced with.</summary>
    public string Content { get; } = content;

    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input)
    {
        string t = input.Text;
        if (!t.Contains(Pattern, StringComparison.Ordinal)) return input;
        var sb = new StringBuilder(t.Length);
        var starts = new List<int>(t.Length);
        var ends = new List<int>(t.Length);
        int i = 0;
        while (i < t.Length)
        {
            if (string.CompareOrdinal(t, i, Pattern, 0, Pattern.Length) == 0)
            {
                int s = input.Starts[i], e = input.Ends[i + Pattern.Length - 1];
                foreach (char c in Content)
                {
                    sb.Append(c);
                    starts.Add(s);
                    ends.Add(e);
                }
                i += Pattern.Length;
            }
            else
            {
                sb.Append(t[i]);
                starts.Add(input.Starts[i]);
                ends.Add(input.Ends[i]);
                ++i;
            }
        }
        return new NormalizedText(sb.ToString(), starts.ToArray(), ends.ToArray());
    }
}

/// <summary>Applies normalizers in order.</summary>
public sealed class SequenceNormalizer(IReadOnlyList<INormalizer> normalizers) : INormalizer
{
    /// <summary>The steps.</summary>
    public IReadOnlyList<INormalizer> Steps { get; } = normalizers;

    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input)
    {
        foreach (INormalizer n in Steps) input = n.Normalize(input);
        return input;
    }
}

/// <summary>
/// BERT's normalizer, as Hugging Face's BertNormalizer: control characters (and NUL, U+FFFD) removed and whitespace made
/// a space (clean text); CJK ideographs surrounded by spaces so each becomes its own word; accents stripped (NFD, then
/// combining marks removed; by default whenever lower-casing); lower-cased.
/// </summary>
public sealed class BertNormalizer(bool cleanText = true, bool handleChineseChars = true, bool? stripAccents = null, bool lowercase = true) : INormalizer
{
    private static readonly UnicodeNormalizer Nfd = new(NormalizationForm.FormD);
    private static readonly StripAccentsNormalizer Strip = new();
    private static readonly LowercaseNormalizer Lower = new();

    /// <summary>Whether control characters are removed and whitespace made a space.</summary>
    public bool CleanText { get; } = cleanText;

    /// <summary>Whether CJK ideographs are surrounded by spaces.</summary>
    public bool HandleChineseChars { get; } = handleChineseChars;

    /// <summary>Whether accents are stripped; null: when lower-casing.</summary>
    public bool? StripAccents { get; } = stripAccents;

    /// <summary>Whether text is lower-cased.</summary>
    public bool Lowercase { get; } = lowercase;

    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input)
    {
        if (CleanText || HandleChineseChars) input = CleanAndSpace(input);
        if (StripAccents ?? Lowercase) input = Strip.Normalize(Nfd.Normalize(input));
        return Lowercase ? Lower.Normalize(input) : input;
    }

    private NormalizedText CleanAndSpace(NormalizedText input)
    {
        string t = input.Text;
        var sb = new StringBuilder(t.Length);
        var starts = new List<int>(t.Length);
        var ends = new List<int>(t.Length);
        void Add(char c, int s, int e) { sb.Append(c); starts.Add(s); ends.Add(e); }
        int i = 0;
        while (i < t.Length)
        {
            int width = char.IsSurrogatePair(t, i) ? 2 : 1;
            int cp = width == 2 ? char.ConvertToUtf32(t[i], t[i + 1]) : t[i];
            int s = input.Starts[i], e = input.Ends[i + width - 1];
            if (CleanText && (cp == 0 || cp == 0xFFFD || IsControl(cp))) { i += width; continue; }
            if (CleanText && IsWhitespace(cp)) Add(' ', s, e);
            else if (HandleChineseChars && IsChinese(cp))
            {
                Add(' ', s, e);
                for (int k = 0; k < width; ++k) Add(t[i + k], input.Starts[i + k], input.Ends[i + k]);
                Add(' ', s, e);
            }
            else for (int k = 0; k < width; ++k) Add(t[i + k], input.Starts[i + k], input.Ends[i + k]);
            i += width;
        }
        return new NormalizedText(sb.ToString(), starts.ToArray(), ends.ToArray());
    }

    private static bool IsWhitespace(int cp) => cp is '\t' or '\n' or '\r' || cp < 0x10000 && char.IsWhiteSpace((char)cp);

    /// <summary>Unicode "other" categories (Cc, Cf, Cs, Co, Cn), tab, newline and carriage return excepted.</summary>
    private static bool IsControl(int cp) => cp is not ('\t' or '\n' or '\r') && CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>The CJK Unified Ideographs blocks BERT treats as words of their own.</summary>
    private static bool IsChinese(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>Hugging Face's "Prepend": puts a string before non-empty text (SentencePiece's "▁" in Llama 2, Mistral and Gemma tokenizers).</summary>
public sealed class PrependNormalizer(string prepend) : INormalizer
{
    /// <summary>What is put in front.</summary>
    public string Prepend { get; } = prepend;

    /// <inheritdoc />
    public NormalizedText Normalize(NormalizedText input)
    {
        if (input.Text.Length == 0 || Prepend.Length == 0) return input;
        int s = input.Starts[0], e = input.Ends[0];
        return new NormalizedText(Prepend + input.Text, [.. Enumerable.Repeat(s, Prepend.Length), .. input.Starts], [.. Enumerable.Repeat(e, Prepend.Length), .. input.Ends]);
    }
}

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

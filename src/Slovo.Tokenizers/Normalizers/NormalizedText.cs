using System.Text;

namespace Slovo.Tokenizers.Normalizers;

/// <summary>
/// Text after normalization, with the original range [Start, End) of every character, so that token offsets can
/// always be cut back to the caller's text.
/// </summary>
public sealed class NormalizedText
{
    /// <summary>The normalized text.</summary>
    public string Text { get; }

    // Unnormalized text keeps no alignment arrays (character i comes from _offset + i) until someone asks for them.
    private int[]? _starts, _ends;
    private readonly int _offset;

    /// <summary>For each character of <see cref="Text"/>, where its source starts in the original.</summary>
    public int[] Starts => _starts ??= Enumerable.Range(_offset, Text.Length).ToArray();

    /// <summary>For each character of <see cref="Text"/>, where its source ends in the original.</summary>
    public int[] Ends => _ends ??= Enumerable.Range(_offset + 1, Text.Length).ToArray();

    /// <summary>Wraps text with explicit alignments.</summary>
    public NormalizedText(string text, int[] starts, int[] ends)
    {
        if (starts.Length != text.Length || ends.Length != text.Length)
            throw new ArgumentException("one alignment per character is needed");
        (Text, _starts, _ends) = (text, starts, ends);
    }

    private NormalizedText(string text, int offset) => (Text, _offset) = (text, offset);

    /// <summary>Unnormalized text: every character maps to itself, shifted by <paramref name="offset"/>.</summary>
    public static NormalizedText Identity(string text, int offset = 0) => new(text, offset);

    /// <summary>The original range covered by normalized characters [start, end).</summary>
    public (int Start, int End) OriginalRange(int start, int end)
    {
        if (_starts is null)
        {
            if (end > start) return (_offset + start, _offset + end);
            int at = start < Text.Length ? _offset + start : Text.Length > 0 ? _offset + Text.Length : 0; // as the arrays would say
            return (at, at);
        }
        if (end <= start)
        {
            int at = start < Starts.Length ? Starts[start] : Ends.Length > 0 ? Ends[^1] : 0;
            return (at, at);
        }
        return (Starts[start], Ends[end - 1]);
    }

    /// <summary>
    /// Rewrites the text cluster by cluster (a character with its combining marks, or a surrogate pair); every output
    /// character of a cluster inherits the cluster's original range. Used by normalizers that may change lengths.
    /// </summary>
    public NormalizedText MapClusters(Func<string, string> transform)
    {
        var sb = new StringBuilder(Text.Length);
        var starts = new List<int>(Text.Length);
        var ends = new List<int>(Text.Length);
        int i = 0;
        while (i < Text.Length)
        {
            int j = i + (char.IsHighSurrogate(Text[i]) && i + 1 < Text.Length && char.IsLowSurrogate(Text[i + 1]) ? 2 : 1);
            while (j < Text.Length && IsCombining(Text, j)) j += char.IsHighSurrogate(Text[j]) && j + 1 < Text.Length ? 2 : 1;
            string output = transform(Text[i..j]);
            int origStart = Starts[i], origEnd = Ends[j - 1];
            sb.Append(output);
            for (int k = 0; k < output.Length; ++k)
            {
                starts.Add(origStart);
                ends.Add(origEnd);
            }
            i = j;
        }
        return new NormalizedText(sb.ToString(), starts.ToArray(), ends.ToArray());
    }

    private static bool IsCombining(string s, int i)
    {
        if (!Rune.TryGetRuneAt(s, i, out Rune r)) return false;
        var cat = Rune.GetUnicodeCategory(r);
        return cat is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
            or System.Globalization.UnicodeCategory.EnclosingMark;
    }
}

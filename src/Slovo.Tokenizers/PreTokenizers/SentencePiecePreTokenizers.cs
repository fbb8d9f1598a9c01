using System.Text.RegularExpressions;
using Slovo.Tokenizers.Normalizers;

namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>When <see cref="MetaspacePreTokenizer"/> puts the replacement character in front of a stretch of text.</summary>
public enum PrependScheme
{
    /// <summary>Before every stretch (added tokens cut the input into stretches).</summary>
    Always,
    /// <summary>Only at the very start of the input (not after an added token).</summary>
    First,
    /// <summary>Never.</summary>
    Never,
}

/// <summary>
/// Hugging Face's "Metaspace" (SentencePiece's convention): spaces become <see cref="Replacement"/> ("▁"), the replacement is
/// put in front of text that does not start with it (per <see cref="Scheme"/>), and with <see cref="SplitPieces"/> the text
/// splits before each replacement character.
/// </summary>
public sealed class MetaspacePreTokenizer(char replacement = '▁', PrependScheme scheme = PrependScheme.Always, bool split = true) : IPreTokenizer
{
    /// <summary>The character spaces become.</summary>
    public char Replacement { get; } = replacement;

    /// <summary>When the replacement is put in front.</summary>
    public PrependScheme Scheme { get; } = scheme;

    /// <summary>Whether the text splits before each replacement character.</summary>
    public bool SplitPieces { get; } = split;

    /// <inheritdoc />
    public NormalizedText Prepare(NormalizedText text, int origin, bool first)
    {
        string t = text.Text;
        // "first" means the start of the input itself, not the first stretch after an added token (Hugging Face's rule).
        bool prepend = t.Length > 0 && (Scheme == PrependScheme.Always || Scheme == PrependScheme.First && origin == 0) && t[0] != ' ' && t[0] != Replacement;
        string replaced = t.Replace(' ', Replacement);
        if (!prepend) return replaced == t ? text : new NormalizedText(replaced, text.Starts, text.Ends);
        return new NormalizedText(Replacement + replaced, [text.Starts[0], .. text.Starts], [text.Ends[0], .. text.Ends]);
    }

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        if (text.Length == 0) return;
        if (!SplitPieces) { pieces.Add((0, text.Length)); return; }
        int start = 0;
        for (int i = 1; i < text.Length; ++i)
            if (text[i] == Replacement)
            {
                pieces.Add((start, i - start));
                start = i;
            }
        pieces.Add((start, text.Length - start));
    }
}

/// <summary>What <see cref="SplitPreTokenizer"/> does with the matches of its pattern.</summary>
public enum SplitBehavior
{
    /// <summary>Each match is a piece of its own.</summary>
    Isolated,
    /// <summary>Matches are dropped.</summary>
    Removed,
    /// <summary>Each match joins the piece before it.</summary>
    MergedWithPrevious,
    /// <summary>Each match joins the piece after it.</summary>
    MergedWithNext,
    /// <summary>Neighbouring matches form one piece.</summary>
    Contiguous,
}

/// <summary>
/// Hugging Face's "Split": cuts text at the matches of a pattern (a regular expression, or a literal string), keeping or
/// merging the matches per <see cref="Behavior"/>; with <see cref="Invert"/> the matches are the pieces. Llama 3, Qwen2 and
/// SmolLM2 split this way before their byte-level BPE.
/// </summary>
public sealed class SplitPreTokenizer : IPreTokenizer
{
    private readonly Regex _regex;

    /// <summary>Splits at <paramref name="pattern"/> (a regex when <paramref name="isRegex"/>, else a literal).</summary>
    public SplitPreTokenizer(string pattern, SplitBehavior behavior = SplitBehavior.Isolated, bool invert = false, bool isRegex = true)
    {
        (Pattern, Behavior, Invert, IsRegex) = (pattern, behavior, invert, isRegex);
        try { _regex = new Regex(isRegex ? pattern : Regex.Escape(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled); }
        catch (ArgumentException e) { throw new ArgumentException($"the Split pattern '{pattern}' is not a regular expression .NET reads ({e.Message})", nameof(pattern), e); }
    }

    /// <summary>The pattern.</summary>
    public string Pattern { get; }

    /// <summary>Whether <see cref="Pattern"/> is a regular expression (else a literal string).</summary>
    public bool IsRegex { get; }

    /// <summary>What becomes of the matches.</summary>
    public SplitBehavior Behavior { get; }

    /// <summary>Whether the matches are the pieces (and the gaps what the behavior applies to).</summary>
    public bool Invert { get; }

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        // Every stretch, in order, marked as a match or not (with Invert, the marks swap).
        var stretches = new List<(int Start, int Length, bool Match)>();
        int at = 0;
        foreach (ValueMatch m in _regex.EnumerateMatches(text))
        {
            if (m.Length == 0) continue;
            if (m.Index > at) stretches.Add((at, m.Index - at, Invert));
            stretches.Add((m.Index, m.Length, !Invert));
            at = m.Index + m.Length;
        }
        if (at < text.Length) stretches.Add((at, text.Length - at, Invert));
        int pendingStart = -1, pendingLength = 0;
        bool previousMatch = false;
        void Flush()
        {
            if (pendingLength > 0) pieces.Add((pendingStart, pendingLength));
            pendingStart = -1;
            pendingLength = 0;
        }
        void Extend(int s, int l)
        {
            if (pendingStart < 0) pendingStart = s;
            pendingLength += l;
        }
        foreach ((int s, int l, bool match) in stretches)
        {
            switch (Behavior)
            {
                case SplitBehavior.Isolated: Flush(); pieces.Add((s, l)); break;
                case SplitBehavior.Removed: if (!match) pieces.Add((s, l)); break;
                case SplitBehavior.MergedWithPrevious:
                    Extend(s, l);
                    if (match) Flush();
                    break;
                case SplitBehavior.MergedWithNext:
                    if (match) Flush();
                    Extend(s, l);
                    break;
                case SplitBehavior.Contiguous:
                    if (!(match && previousMatch)) Flush();
                    Extend(s, l);
                    break;
            }
            previousMatch = match;
        }
        Flush();
    }
}

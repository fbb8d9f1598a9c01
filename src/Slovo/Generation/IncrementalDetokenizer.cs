using System.Text;

namespace Slovo.Generation;

/// <summary>
/// Turns tokens into text as they come, for streaming: each call gives only the new text, and a character whose UTF-8 bytes
/// are split across tokens (byte-level BPE, byte fallback) is given once, whole, when its last byte arrives. It decodes a
/// short window of recent tokens, not the whole sequence, so a token costs O(new tokens), and the window keeps the context
/// a decoder needs (word-level spaces, SentencePiece's leading space).
/// </summary>
public sealed class IncrementalDetokenizer
{
    // Tokens of the context read before the window starts, as streaming detokenizers do (enough for a decoder's spacing rules).
    private const int ContextTokens = 5;

    private readonly Func<IReadOnlyList<int>, string> _decode;
    private readonly List<int> _ids;
    private readonly StringBuilder _text = new();
    private int _prefix, _read; // the window: ids[_prefix.._read] is text already given; ids[_read..] is not yet
    private string? _given;     // the text of ids[_prefix.._read], once decoded

    /// <summary>A detokenizer with <paramref name="decode"/> (special tokens dropped, as the model's vocabulary decodes), after
    /// the ids of <paramref name="context"/> (e.g. the prompt, whose text is not given).</summary>
    public IncrementalDetokenizer(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<int>? context = null)
    {
        ArgumentNullException.ThrowIfNull(decode);
        _decode = decode;
        _ids = context is null ? [] : [.. context];
        _read = _ids.Count;
        _prefix = Math.Max(0, _read - ContextTokens);
    }

    /// <summary>All the text given so far.</summary>
    public string Text => _text.ToString();

    /// <summary>The length of <see cref="Text"/>.</summary>
    public int Length => _text.Length;

    /// <summary>Reads one more token; returns the text it completes ("" while a character is still split, or for a special token).</summary>
    public string Add(int token)
    {
        _ids.Add(token);
        return Take(final: false);
    }

    /// <summary>The text still held back at the end of a sequence (an incomplete character, given as the decoder shows it).</summary>
    public string Flush() => Take(final: true);

    // The text of the tokens after the window's given part; held back while it ends inside a character, unless final.
    private string Take(bool final)
    {
        _given ??= _decode(Window(_prefix, _read)); // decoded once per window, not once per token
        string now = _decode(Window(_prefix, _ids.Count));
        if (now.Length <= _given.Length || (!final && now[^1] == '\uFFFD') || !now.StartsWith(_given, StringComparison.Ordinal)) return "";
        string added = now[_given.Length..];
        (_prefix, _read, _given) = (_read, _ids.Count, null);
        _text.Append(added);
        return added;
    }

    private List<int> Window(int from, int to) => _ids.GetRange(from, to - from);
}

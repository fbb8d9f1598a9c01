using System.Text;
using Slovo.Tokenizers.Models;

namespace Slovo.Tokenizers.Decoders;

/// <summary>Turns token strings back into text.</summary>
public interface IDecoder
{
    /// <summary>The text of <paramref name="tokens"/>.</summary>
    string Decode(IReadOnlyList<string> tokens);
}

/// <summary>Byte-level tokens → bytes → UTF-8 text (invalid sequences become U+FFFD).</summary>
public sealed class ByteLevelDecoder : IDecoder
{
    /// <inheritdoc />
    public string Decode(IReadOnlyList<string> tokens)
    {
        var bytes = new List<byte>();
        var sb = new StringBuilder();
        foreach (string t in tokens)
            foreach (char c in t)
            {
                if (ByteLevel.TryByte(c, out byte b)) bytes.Add(b);
                else
                {
                    sb.Append(System.Text.Encoding.UTF8.GetString(bytes.ToArray()));
                    bytes.Clear();
                    sb.Append(c);
                }
            }
        return sb.Append(System.Text.Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }
}

/// <summary>WordPiece: continuation pieces join their predecessor without the prefix; others are separated by spaces.</summary>
public sealed class WordPieceDecoder(string prefix = "##", bool cleanup = true) : IDecoder
{
    /// <summary>The continuation prefix.</summary>
    public string Prefix { get; } = prefix;

    /// <summary>Whether spaces before punctuation and in English contractions are removed.</summary>
    public bool Cleanup { get; } = cleanup;

    /// <inheritdoc />
    public string Decode(IReadOnlyList<string> tokens)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < tokens.Count; ++i)
        {
            string t = tokens[i];
            if (i > 0 && t.StartsWith(Prefix, StringComparison.Ordinal)) sb.Append(t, Prefix.Length, t.Length - Prefix.Length);
            else
            {
                if (i > 0) sb.Append(' ');
                sb.Append(t);
            }
        }
        return Cleanup ? CleanUp(sb.ToString()) : sb.ToString();
    }

    /// <summary>Hugging Face's tokenization clean-up.</summary>
    public static string CleanUp(string s) => s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}

/// <summary>BPE with an end-of-word suffix: the suffix becomes a space (nothing after the last token).</summary>
public sealed class BpeSuffixDecoder(string suffix = "</w>") : IDecoder
{
    /// <summary>The suffix.</summary>
    public string Suffix { get; } = suffix;

    /// <inheritdoc />
    public string Decode(IReadOnlyList<string> tokens)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < tokens.Count; ++i) sb.Append(tokens[i].Replace(Suffix, i == tokens.Count - 1 ? "" : " "));
        return sb.ToString();
    }
}

/// <summary>Joins tokens with spaces (the behaviour when no decoder is configured).</summary>
public sealed class SpaceJoinDecoder : IDecoder
{
    /// <inheritdoc />
    public string Decode(IReadOnlyList<string> tokens) => string.Join(' ', tokens);
}

/// <summary>
/// A decoder that, as Hugging Face's decoders do, turns a list of token strings into another list, so that steps chain
/// (<see cref="SequenceDecoder"/>); the text is the concatenation of what the chain leaves.
/// </summary>
public abstract class ChainDecoder : IDecoder
{
    /// <summary>The tokens after this step.</summary>
    public abstract IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens);

    /// <inheritdoc />
    public string Decode(IReadOnlyList<string> tokens) => string.Concat(DecodeChain(tokens));
}

/// <summary>Replaces a string with another in every token ("▁" → " ").</summary>
public sealed class ReplaceDecoder(string pattern, string content) : ChainDecoder
{
    /// <summary>What is replaced.</summary>
    public string Pattern { get; } = pattern;

    /// <summary>What it becomes.</summary>
    public string Content { get; } = content;

    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens) => tokens.Select(t => t.Replace(Pattern, Content, StringComparison.Ordinal)).ToList();
}

/// <summary>Byte tokens (&lt;0xXX&gt;) in a row become the UTF-8 text they spell, or one U+FFFD per byte when they spell none.</summary>
public sealed class ByteFallbackDecoder : ChainDecoder
{
    /// <summary>The byte of a &lt;0xXX&gt; token, or null.</summary>
    public static byte? ByteOf(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
        && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b) ? b : null;

    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            try { result.Add(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray())); }
            catch (DecoderFallbackException) { result.AddRange(Enumerable.Repeat("\uFFFD", bytes.Count)); }
            bytes.Clear();
        }
        foreach (string t in tokens)
        {
            if (ByteOf(t) is { } b) { bytes.Add(b); continue; }
            Flush();
            result.Add(t);
        }
        Flush();
        return result;
    }
}

/// <summary>Joins every token into one.</summary>
public sealed class FuseDecoder : ChainDecoder
{
    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Removes up to <see cref="Start"/> leading and <see cref="Stop"/> trailing <see cref="Content"/> characters from every token.</summary>
public sealed class StripDecoder(char content, int start, int stop) : ChainDecoder
{
    /// <summary>The character removed.</summary>
    public char Content { get; } = content;

    /// <summary>How many at most at the start.</summary>
    public int Start { get; } = start;

    /// <summary>How many at most at the end.</summary>
    public int Stop { get; } = stop;

    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens) => tokens.Select(t =>
    {
        int s = 0, e = t.Length;
        while (s < Start && s < e && t[s] == Content) ++s;
        while (t.Length - e < Stop && e > s && t[e - 1] == Content) --e;
        return t[s..e];
    }).ToList();
}

/// <summary>SentencePiece's "▁" back to spaces; the first token's leading space is dropped unless nothing was prepended.</summary>
public sealed class MetaspaceDecoder(char replacement = '▁', PreTokenizers.PrependScheme scheme = PreTokenizers.PrependScheme.Always, bool split = true) : ChainDecoder
{
    /// <summary>The character that stands for a space.</summary>
    public char Replacement { get; } = replacement;

    /// <summary>The pre-tokenizer's prepend scheme.</summary>
    public PreTokenizers.PrependScheme Scheme { get; } = scheme;

    /// <summary>The pre-tokenizer's split flag (written back to tokenizer.json).</summary>
    public bool SplitPieces { get; } = split;

    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens) => tokens.Select((t, i) =>
    {
        string s = t.Replace(Replacement, ' ');
        return i == 0 && Scheme != PreTokenizers.PrependScheme.Never && s.StartsWith(' ') ? s[1..] : s;
    }).ToList();
}

/// <summary>Decoders applied in order, each to what the one before left; a decoder that is not a <see cref="ChainDecoder"/> turns the list into its one text.</summary>
public sealed class SequenceDecoder(IReadOnlyList<IDecoder> steps) : ChainDecoder
{
    /// <summary>The steps.</summary>
    public IReadOnlyList<IDecoder> Steps { get; } = steps;

    /// <inheritdoc />
    public override IReadOnlyList<string> DecodeChain(IReadOnlyList<string> tokens)
    {
        foreach (IDecoder d in Steps) tokens = d is ChainDecoder c ? c.DecodeChain(tokens) : [d.Decode(tokens)];
        return tokens;
    }
}

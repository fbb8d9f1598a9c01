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

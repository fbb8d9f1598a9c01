namespace Slovo.Tokenizers;

/// <summary>The result of encoding one text, laid out as Hugging Face's <c>Encoding</c> (named apart from System.Text.Encoding).</summary>
public sealed class TokenEncoding
{
    /// <summary>Token ids.</summary>
    public int[] Ids { get; init; } = [];

    /// <summary>Token strings (as the vocabulary writes them).</summary>
    public string[] Tokens { get; init; } = [];

    /// <summary>[start, end) of each token in the original text, in UTF-16 units; (0, 0) for added special tokens.</summary>
    public (int Start, int End)[] Offsets { get; init; } = [];

    /// <summary>1 for real tokens, 0 for padding.</summary>
    public int[] AttentionMask { get; init; } = [];

    /// <summary>1 for special tokens (added by the post-processor, special added tokens, padding), else 0.</summary>
    public int[] SpecialTokensMask { get; init; } = [];

    /// <summary>Segment ids (0 for single sequences).</summary>
    public int[] TypeIds { get; init; } = [];

    /// <summary>The number of tokens.</summary>
    public int Length => Ids.Length;
}

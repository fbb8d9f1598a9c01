namespace Slovo.Tokenizers.Models;

/// <summary>
/// WordPiece: greedy longest-match-first over the piece, continuation pieces carry a prefix ("##"); a piece that cannot
/// be covered, or is longer than <see cref="MaxInputCharsPerWord"/>, becomes the unknown token.
/// </summary>
public sealed class WordPiece : IModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string?[] _idToToken;
    private readonly int _unkId;

    /// <summary>The unknown token.</summary>
    public string UnkToken { get; }

    /// <summary>The continuation prefix.</summary>
    public string ContinuingSubwordPrefix { get; }

    /// <summary>Longer pieces become the unknown token.</summary>
    public int MaxInputCharsPerWord { get; }

    /// <summary>Creates the model.</summary>
    public WordPiece(IReadOnlyDictionary<string, int> vocab, string unkToken = "[UNK]", string continuingSubwordPrefix = "##", int maxInputCharsPerWord = 100)
    {
        if (vocab.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(vocab));
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _idToToken = VocabUtil.Invert(_vocab);
        _unkId = _vocab.TryGetValue(unkToken, out int u) ? u
            : throw new ArgumentException($"the unknown token '{unkToken}' is not in the vocabulary", nameof(unkToken));
        (UnkToken, ContinuingSubwordPrefix, MaxInputCharsPerWord) = (unkToken, continuingSubwordPrefix, maxInputCharsPerWord);
    }

    /// <inheritdoc />
    public void Tokenize(ReadOnlySpan<char> piece, List<Token> tokens)
    {
        if (piece.IsEmpty) return;
        int chars = 0;
        for (int k = 0; k < piece.Length; ++k) if (!char.IsLowSurrogate(piece[k])) ++chars;
        if (chars > MaxInputCharsPerWord)
        {
            tokens.Add(new Token(_unkId, 0, piece.Length));
            return;
        }
        int mark = tokens.Count;
        int start = 0;
        while (start < piece.Length)
        {
            int end = piece.Length, found = -1;
            while (end > start)
            {
                string sub = (start > 0 ? ContinuingSubwordPrefix : "") + piece[start..end].ToString();
                if (_vocab.TryGetValue(sub, out int id))
                {
                    found = id;
                    break;
                }
                --end;
                if (end > start && char.IsLowSurrogate(piece[end])) --end; // never split a surrogate pair
            }
            if (found < 0)
            {
                tokens.RemoveRange(mark, tokens.Count - mark);
                tokens.Add(new Token(_unkId, 0, piece.Length));
                return;
            }
            tokens.Add(new Token(found, start, end));
            start = end;
        }
    }

    /// <inheritdoc />
    public int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    /// <inheritdoc />
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <inheritdoc />
    public int VocabSize => _idToToken.Length;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, int> Vocab => _vocab;
}

internal static class VocabUtil
{
    /// <summary>id → token, checking that ids are non-negative and unique.</summary>
    public static string?[] Invert(Dictionary<string, int> vocab)
    {
        var inv = new string?[vocab.Values.Max() + 1];
        foreach ((string token, int id) in vocab)
        {
            if (id < 0) throw new ArgumentException($"token '{token}' has negative id {id}");
            if (inv[id] is not null) throw new ArgumentException($"id {id} is given to both '{inv[id]}' and '{token}'");
            inv[id] = token;
        }
        return inv;
    }
}

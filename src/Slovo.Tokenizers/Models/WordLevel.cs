namespace Slovo.Tokenizers.Models;

/// <summary>One token per piece: the piece's id, or the unknown token's.</summary>
public sealed class WordLevel : IModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly string?[] _idToToken;
    private readonly int? _unkId;

    /// <summary>The unknown token.</summary>
    public string? UnkToken { get; }

    /// <summary>Creates the model; the unknown token, when given, must be in the vocabulary.</summary>
    public WordLevel(IReadOnlyDictionary<string, int> vocab, string? unkToken = "[UNK]")
    {
        if (vocab.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(vocab));
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _bySpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _idToToken = VocabUtil.Invert(_vocab);
        if (unkToken is not null)
        {
            _unkId = _vocab.TryGetValue(unkToken, out int u) ? u
                : throw new ArgumentException($"the unknown token '{unkToken}' is not in the vocabulary", nameof(unkToken));
        }
        UnkToken = unkToken;
    }

    /// <inheritdoc />
    public void Tokenize(ReadOnlySpan<char> piece, List<Token> tokens)
    {
        if (piece.IsEmpty) return;
        if (_bySpan.TryGetValue(piece, out int id)) tokens.Add(new Token(id, 0, piece.Length));
        else if (_unkId is { } u) tokens.Add(new Token(u, 0, piece.Length));
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

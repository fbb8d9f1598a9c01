namespace Slovo.Tokenizers.Models;

/// <summary>
/// Unigram language-model tokenization (Kudo 2018): each piece has a log-probability score, and a piece of text is
/// split into the pieces whose scores sum highest (Viterbi). A character no piece covers becomes the unknown token with
/// a score 10 below the lowest piece's, and consecutive unknowns are fused, as in Hugging Face and SentencePiece.
/// With byte fallback, unknown characters become their UTF-8 bytes as &lt;0xXX&gt; pieces instead.
/// </summary>
public sealed class Unigram : IModel
{
    /// <summary>The penalty below the lowest score that an unknown character gets.</summary>
    public const double UnknownPenalty = 10.0;

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly int _maxPieceLength;
    private readonly double _unkScore;

    /// <summary>Pieces and their scores, in id order.</summary>
    public IReadOnlyList<(string Piece, double Score)> Pieces { get; }

    /// <summary>The id of the unknown piece, or null.</summary>
    public int? UnkId { get; }

    /// <inheritdoc />
    public string? UnkToken => UnkId is int u ? Pieces[u].Piece : null;

    /// <summary>Whether unknown characters become byte pieces.</summary>
    public bool ByteFallback { get; }

    /// <summary>Creates the model; ids are positions in <paramref name="pieces"/>.</summary>
    public Unigram(IReadOnlyList<(string Piece, double Score)> pieces, int? unkId = null, bool byteFallback = false)
    {
        if (pieces.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(pieces));
        if (unkId is { } u && (u < 0 || u >= pieces.Count)) throw new ArgumentOutOfRangeException(nameof(unkId), unkId, $"outside the {pieces.Count} pieces");
        Pieces = pieces.ToList();
        _ids = new Dictionary<string, int>(pieces.Count, StringComparer.Ordinal);
        for (int i = 0; i < pieces.Count; ++i)
            if (!_ids.TryAdd(pieces[i].Piece, i)) throw new ArgumentException($"piece '{pieces[i].Piece}' appears twice", nameof(pieces));
        _bySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _maxPieceLength = pieces.Max(p => p.Piece.Length);
        _unkScore = pieces.Min(p => p.Score) - UnknownPenalty;
        (UnkId, ByteFallback) = (unkId, byteFallback);
    }

    /// <inheritdoc />
    public void Tokenize(ReadOnlySpan<char> piece, List<Token> tokens)
    {
        int n = piece.Length;
        if (n == 0) return;
        var best = new double[n + 1];
        var from = new int[n + 1];
        var id = new int[n + 1]; // -1: unknown
        Array.Fill(best, double.NegativeInfinity);
        best[0] = 0;
        for (int i = 0; i < n; ++i)
        {
            if (double.IsNegativeInfinity(best[i]) || char.IsLowSurrogate(piece[i]) && i > 0 && char.IsHighSurrogate(piece[i - 1])) continue;
            int charLen = char.IsHighSurrogate(piece[i]) && i + 1 < n && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            bool single = false;
            for (int len = 1; len <= _maxPieceLength && i + len <= n; ++len)
            {
                if (i + len < n && char.IsLowSurrogate(piece[i + len]) && char.IsHighSurrogate(piece[i + len - 1])) continue;
                if (!_bySpan.TryGetValue(piece.Slice(i, len), out int pid)) continue;
                if (len == charLen) single = true;
                double score = best[i] + Pieces[pid].Score;
                if (score > best[i + len]) (best[i + len], from[i + len], id[i + len]) = (score, i, pid);
            }
            if (!single)
            {
                double score = best[i] + _unkScore;
                if (score > best[i + charLen]) (best[i + charLen], from[i + charLen], id[i + charLen]) = (score, i, -1);
            }
        }
        var path = new List<Token>();
        for (int end = n; end > 0; end = from[end]) path.Add(new Token(id[end], from[end], end));
        path.Reverse();
        foreach (Token t in path)
        {
            if (t.Id >= 0) { tokens.Add(t); continue; }
            if (ByteFallback && TryBytes(piece[t.Start..t.End], t, tokens)) continue;
            if (UnkId is not { } unk) continue; // no unknown piece: the character is dropped
            if (tokens.Count > 0 && tokens[^1].Id == unk && tokens[^1].End == t.Start) tokens[^1] = tokens[^1] with { End = t.End };
            else tokens.Add(new Token(unk, t.Start, t.End));
        }
    }

    private bool TryBytes(ReadOnlySpan<char> text, Token t, List<Token> tokens)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text.ToArray());
        var ids = new int[bytes.Length];
        for (int k = 0; k < bytes.Length; ++k)
            if (!_ids.TryGetValue(Bpe.ByteToken(bytes[k]), out ids[k])) return false;
        foreach (int b in ids) tokens.Add(new Token(b, t.Start, t.End));
        return true;
    }

    /// <summary>An unknown token shows the text it stands for, as in Hugging Face; other tokens their piece.</summary>
    public string TokenString(Token t, ReadOnlySpan<char> piece) => t.Id == UnkId ? piece[t.Start..t.End].ToString() : Pieces[t.Id].Piece;

    /// <inheritdoc />
    public int? TokenToId(string token) => _ids.TryGetValue(token, out int i) ? i : null;

    /// <inheritdoc />
    public string? IdToToken(int id) => id >= 0 && id < Pieces.Count ? Pieces[id].Piece : null;

    /// <inheritdoc />
    public int VocabSize => Pieces.Count;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, int> Vocab => _ids;
}

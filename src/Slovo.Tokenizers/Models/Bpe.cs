using System.Globalization;
using System.Text;

namespace Slovo.Tokenizers.Models;

/// <summary>
/// Byte-pair encoding with Hugging Face's semantics: a piece starts as one symbol per character (a continuing-subword
/// prefix on all but the first, an end-of-word suffix on the last), then the adjacent pair with the lowest merge rank
/// is merged, leftmost first, until none is left. Unknown characters become the unknown token (fused when asked),
/// or their UTF-8 bytes as &lt;0xXX&gt; tokens with byte fallback, or are dropped when there is neither.
/// With <see cref="IgnoreMerges"/>, a piece that is itself a token maps straight to it (tiktoken's rule).
/// </summary>
public sealed class Bpe : IModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly string?[] _idToToken;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly ThreadLocal<Dictionary<string, Token[]>> _cache = new(() => new Dictionary<string, Token[]>(StringComparer.Ordinal));
    private const int CacheLimit = 200_000;

    /// <summary>The ranked merges, as pairs of token strings.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>The unknown token, or null.</summary>
    public string? UnkToken { get; }

    /// <summary>Prefix of symbols that continue a word (e.g. "##"), or null.</summary>
    public string? ContinuingSubwordPrefix { get; }

    /// <summary>Suffix of a word's last symbol (e.g. "&lt;/w&gt;"), or null.</summary>
    public string? EndOfWordSuffix { get; }

    /// <summary>Whether consecutive unknown tokens are fused into one.</summary>
    public bool FuseUnk { get; }

    /// <summary>Whether unknown characters become &lt;0xXX&gt; byte tokens.</summary>
    public bool ByteFallback { get; }

    /// <summary>Whether a piece found whole in the vocabulary skips merging.</summary>
    public bool IgnoreMerges { get; }

    /// <summary>Creates the model; every merge's parts and result must be in the vocabulary.</summary>
    public Bpe(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? unkToken = null,
               string? continuingSubwordPrefix = null, string? endOfWordSuffix = null, bool fuseUnk = false,
               bool byteFallback = false, bool ignoreMerges = false)
    {
        if (vocab.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(vocab));
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _vocabBySpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _idToToken = VocabUtil.Invert(_vocab);
        if (unkToken is not null && !_vocab.ContainsKey(unkToken))
            throw new ArgumentException($"the unknown token '{unkToken}' is not in the vocabulary", nameof(unkToken));
        Merges = merges.ToList();
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        string prefix = continuingSubwordPrefix ?? "";
        for (int rank = 0; rank < merges.Count; ++rank)
        {
            (string a, string b) = merges[rank];
            string joined = a + (b.StartsWith(prefix, StringComparison.Ordinal) ? b[prefix.Length..] : b);
            if (!_vocab.TryGetValue(a, out int ia) || !_vocab.TryGetValue(b, out int ib) || !_vocab.TryGetValue(joined, out int merged))
                throw new ArgumentException($"merge {rank + 1} ('{a} {b}') uses a token missing from the vocabulary", nameof(merges));
            _merges.TryAdd(Key(ia, ib), (rank, merged));
        }
        (UnkToken, ContinuingSubwordPrefix, EndOfWordSuffix, FuseUnk, ByteFallback, IgnoreMerges) =
            (unkToken, continuingSubwordPrefix, endOfWordSuffix, fuseUnk, byteFallback, ignoreMerges);
    }

    /// <inheritdoc />
    public int VocabSize => _idToToken.Length;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    /// <inheritdoc />
    public int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    /// <inheritdoc />
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Forgets the cached results of pieces seen on this thread (for measuring cold encoding).</summary>
    public void ClearCache() => _cache.Value!.Clear();

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <inheritdoc />
    public void Tokenize(ReadOnlySpan<char> piece, List<Token> tokens)
    {
        if (piece.IsEmpty) return;
        if (IgnoreMerges && EndOfWordSuffix is null && _vocabBySpan.TryGetValue(piece, out int whole))
        {
            tokens.Add(new Token(whole, 0, piece.Length));
            return;
        }
        Dictionary<string, Token[]> cache = _cache.Value!;
        var bySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        if (bySpan.TryGetValue(piece, out Token[]? cached))
        {
            tokens.AddRange(cached);
            return;
        }
        Token[] result = Encode(piece);
        if (cache.Count >= CacheLimit) cache.Clear();
        bySpan.TryAdd(piece, result);
        tokens.AddRange(result);
    }

    private Token[] Encode(ReadOnlySpan<char> piece)
    {
        // Initial symbols: one per code point, as (id, start, end); unknowns resolved here.
        var ids = new List<int>(piece.Length);
        var starts = new List<int>(piece.Length);
        var ends = new List<int>(piece.Length);
        int? unkId = UnkToken is null ? null : _vocab[UnkToken];
        for (int i = 0; i < piece.Length;)
        {
            int w = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            bool first = i == 0, last = i + w == piece.Length;
            int id;
            bool known = ContinuingSubwordPrefix is null && EndOfWordSuffix is null
                ? _vocabBySpan.TryGetValue(piece.Slice(i, w), out id)
                : _vocab.TryGetValue((first ? "" : ContinuingSubwordPrefix ?? "") + piece.Slice(i, w).ToString() + (last ? EndOfWordSuffix ?? "" : ""), out id);
            if (known)
            {
                Add(id, i, i + w);
            }
            else if (ByteFallback)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(piece.Slice(i, w).ToString());
                bool all = true;
                foreach (byte b in bytes) all &= _vocab.ContainsKey(ByteToken(b));
                if (all) foreach (byte b in bytes) Add(_vocab[ByteToken(b)], i, i + w);
                else if (unkId is { } u) AddUnk(u, i, i + w);
            }
            else if (unkId is { } u)
            {
                AddUnk(u, i, i + w);
            }
            i += w;
        }
        return MergeAll(ids, starts, ends);

        void Add(int id, int s, int e)
        {
            ids.Add(id);
            starts.Add(s);
            ends.Add(e);
        }

        void AddUnk(int u, int s, int e)
        {
            if (FuseUnk && ids.Count > 0 && ids[^1] == u && ends[^1] == s) ends[^1] = e;
            else Add(u, s, e);
        }
    }

    /// <summary>The byte-fallback token for byte <paramref name="b"/>: "&lt;0x41&gt;".</summary>
    public static string ByteToken(byte b) => "<0x" + b.ToString("X2", CultureInfo.InvariantCulture) + ">";

    /// <summary>Merges the lowest-ranked adjacent pair (leftmost on ties) until none is mergeable; only the two pairs
    /// beside a merge are looked up again.</summary>
    private Token[] MergeAll(List<int> ids, List<int> starts, List<int> ends)
    {
        int n = ids.Count;
        var rank = new int[Math.Max(n, 1)];
        var merged = new int[Math.Max(n, 1)];
        for (int k = 0; k + 1 < n; ++k) (rank[k], merged[k]) = Lookup(ids[k], ids[k + 1]);
        while (n > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int k = 0; k + 1 < n; ++k)
                if (rank[k] < bestRank) (best, bestRank) = (k, rank[k]);
            if (best < 0) break;
            ids[best] = merged[best];
            ends[best] = ends[best + 1];
            ids.RemoveAt(best + 1);
            starts.RemoveAt(best + 1);
            ends.RemoveAt(best + 1);
            Array.Copy(rank, best + 2, rank, best + 1, n - best - 2);
            Array.Copy(merged, best + 2, merged, best + 1, n - best - 2);
            --n;
            if (best + 1 < n) (rank[best], merged[best]) = Lookup(ids[best], ids[best + 1]);
            else rank[best] = int.MaxValue;
            if (best > 0) (rank[best - 1], merged[best - 1]) = Lookup(ids[best - 1], ids[best]);
        }
        var result = new Token[n];
        for (int k = 0; k < n; ++k) result[k] = new Token(ids[k], starts[k], ends[k]);
        return result;
    }

    private (int Rank, int Id) Lookup(int a, int b) => _merges.TryGetValue(Key(a, b), out var m) ? m : (int.MaxValue, 0);
}

using System.Text;
using System.Text.Json;

namespace Slovo.Tokenizers.Models;

/// <summary>
/// Byte-level BPE as GPT-2 uses it: a piece's UTF-8 bytes start as one token each, then the adjacent pair with the
/// lowest merge rank is merged (the leftmost on ties) until no mergeable pair is left. Encoding is thread-safe.
/// </summary>
public sealed class BytePairEncoding
{
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string[] _idToToken;
    private readonly int[] _byteToId = new int[256];
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _tokenBySpan;
    private readonly ThreadLocal<Dictionary<string, int[]>> _cache = new(() => new Dictionary<string, int[]>(StringComparer.Ordinal));
    private const int CacheLimit = 200_000;

    private BytePairEncoding(Dictionary<string, int> vocab, List<(string A, string B)> merges, string source)
    {
        _tokenToId = vocab;
        _tokenBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = vocab.Values.Max() + 1;
        _idToToken = new string[size];
        foreach ((string token, int id) in vocab)
        {
            if (id < 0) throw new InvalidDataException($"{source}: token '{token}' has negative id {id}");
            if (_idToToken[id] is not null) throw new InvalidDataException($"{source}: id {id} is given to both '{_idToToken[id]}' and '{token}'");
            _idToToken[id] = token;
        }
        for (int b = 0; b < 256; ++b)
        {
            string s = ByteLevel.Char((byte)b).ToString();
            _byteToId[b] = vocab.TryGetValue(s, out int id) ? id
                : throw new InvalidDataException($"{source}: the vocabulary lacks the byte token '{s}' (byte {b}); it is not a byte-level vocabulary");
        }
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; ++rank)
        {
            (string a, string b) = merges[rank];
            if (!vocab.TryGetValue(a, out int ia) || !vocab.TryGetValue(b, out int ib) || !vocab.TryGetValue(a + b, out int merged))
                throw new InvalidDataException($"{source}: merge {rank + 1} ('{a} {b}') uses a token missing from the vocabulary");
            _merges.TryAdd(Key(ia, ib), (rank, merged));
        }
    }

    /// <summary>Loads GPT-2's <c>encoder.json</c> (token → id) and <c>vocab.bpe</c> (merges, one "a b" per line).</summary>
    public static BytePairEncoding FromGpt2Files(string encoderJson, string vocabBpe)
    {
        var vocab = ReadVocab(encoderJson);
        var merges = ReadMerges(vocabBpe);
        return new BytePairEncoding(vocab, merges, $"{encoderJson} + {vocabBpe}");
    }

    /// <summary>Builds the model from a vocabulary and ranked merges.</summary>
    public static BytePairEncoding Create(Dictionary<string, int> vocab, List<(string A, string B)> merges) =>
        new(new Dictionary<string, int>(vocab, StringComparer.Ordinal), merges, "vocabulary");

    private static Dictionary<string, int> ReadVocab(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"vocabulary file not found: {path}", path);
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument doc = JsonDocument.Parse(stream);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object of token → id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
                    throw new InvalidDataException($"{path}: token '{p.Name}' has a non-integer id {p.Value}");
                vocab[p.Name] = id;
            }
            if (vocab.Count == 0) throw new InvalidDataException($"{path}: the vocabulary is empty");
            return vocab;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }
    }

    private static List<(string, string)> ReadMerges(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"merges file not found: {path}", path);
        var merges = new List<(string, string)>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            ++lineNo;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            string[] parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new InvalidDataException($"{path}:{lineNo}: expected two tokens separated by one space, got '{line}'");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>The number of ids (one more than the largest id).</summary>
    public int VocabSize => _idToToken.Length;

    /// <summary>The id of a token (in byte-level characters), or null.</summary>
    public int? TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    /// <summary>The token (in byte-level characters) of an id, or null.</summary>
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Forgets the cached encodings of pieces seen so far (for measuring cold encoding).</summary>
    public void ClearCache() => _cache.Value!.Clear();

    /// <summary>Appends the ids of one pre-tokenized piece. Lone surrogates are encoded as U+FFFD.</summary>
    public void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        // Byte-level characters of the piece; ASCII maps directly, anything else goes through UTF-8.
        bool ascii = System.Text.Ascii.IsValid(piece);
        int byteCount = ascii ? piece.Length : Encoding.UTF8.GetByteCount(piece);
        Span<byte> bytes = byteCount <= 256 ? stackalloc byte[byteCount] : new byte[byteCount];
        if (ascii) System.Text.Ascii.FromUtf16(piece, bytes, out _);
        else Encoding.UTF8.GetBytes(piece, bytes);
        Span<char> mapped = byteCount <= 256 ? stackalloc char[byteCount] : new char[byteCount];
        for (int k = 0; k < byteCount; ++k) mapped[k] = ByteLevel.Char(bytes[k]);
        // A piece that is itself a token (most common words) needs no merging.
        if (_tokenBySpan.TryGetValue(mapped, out int whole))
        {
            ids.Add(whole);
            return;
        }
        // Per-thread cache of merged pieces: encoding stays thread-safe without locks.
        Dictionary<string, int[]> cache = _cache.Value!;
        var cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        if (cacheBySpan.TryGetValue(mapped, out int[]? cached))
        {
            ids.AddRange(cached);
            return;
        }
        int[] result = Merge(bytes);
        if (cache.Count >= CacheLimit) cache.Clear();
        cacheBySpan.TryAdd(mapped, result);
        ids.AddRange(result);
    }

    /// <summary>
    /// Merges the lowest-ranked adjacent pair (leftmost on ties) until none is mergeable. Each pair's rank is kept
    /// and only the two pairs next to a merge are looked up again.
    /// </summary>
    private int[] Merge(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        Span<int> sym = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> rank = n <= 256 ? stackalloc int[n] : new int[n];   // rank[k]: merge rank of (sym[k], sym[k+1])
        Span<int> merged = n <= 256 ? stackalloc int[n] : new int[n]; // merged[k]: the id that pair would become
        for (int k = 0; k < n; ++k) sym[k] = _byteToId[bytes[k]];
        for (int k = 0; k + 1 < n; ++k) (rank[k], merged[k]) = Lookup(sym[k], sym[k + 1]);
        while (n > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int k = 0; k + 1 < n; ++k)
                if (rank[k] < bestRank) (best, bestRank) = (k, rank[k]);
            if (best < 0) break;
            sym[best] = merged[best];
            // drop sym[best + 1] and the pair starting there
            sym[(best + 2)..n].CopyTo(sym[(best + 1)..]);
            rank[(best + 2)..n].CopyTo(rank[(best + 1)..]);
            merged[(best + 2)..n].CopyTo(merged[(best + 1)..]);
            --n;
            if (best + 1 < n) (rank[best], merged[best]) = Lookup(sym[best], sym[best + 1]);
            else rank[best] = int.MaxValue;
            if (best > 0) (rank[best - 1], merged[best - 1]) = Lookup(sym[best - 1], sym[best]);
        }
        return sym[..n].ToArray();
    }

    private (int Rank, int Id) Lookup(int a, int b) =>
        _merges.TryGetValue(Key(a, b), out var m) ? m : (int.MaxValue, 0);

    /// <summary>The bytes that a sequence of ids stands for (ids out of range are an error).</summary>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            string token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"id {id} is outside the vocabulary of {VocabSize}");
            foreach (char c in token)
            {
                if (!ByteLevel.TryByte(c, out byte b))
                    throw new InvalidDataException($"token {id} ('{token}') holds '{c}', which is not a byte-level character");
                bytes.Add(b);
            }
        }
        return bytes.ToArray();
    }
}

using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Processors;

namespace Slovo.Tokenizers;

/// <summary>
/// A token added on top of the model's vocabulary; found verbatim in raw text before normalization. With
/// <see cref="LStrip"/> / <see cref="RStrip"/> it also takes the whitespace on its left / right.
/// </summary>
public sealed record AddedToken(string Content, int Id, bool Special = true)
{
    /// <summary>Whether the whitespace before it belongs to it.</summary>
    public bool LStrip { get; init; }

    /// <summary>Whether the whitespace after it belongs to it.</summary>
    public bool RStrip { get; init; }

    /// <summary>tokenizer.json's "normalized" flag, kept for writing back (matching is always on the raw text).</summary>
    public bool Normalized { get; init; }

    /// <summary>tokenizer.json's "single_word" flag, kept for writing back.</summary>
    public bool SingleWord { get; init; }
}

/// <summary>How a batch is padded.</summary>
public enum PaddingStrategy
{
    /// <summary>No padding.</summary>
    None,
    /// <summary>To the longest sequence in the batch.</summary>
    Longest,
    /// <summary>To a fixed length.</summary>
    Fixed,
}

/// <summary>
/// A tokenization pipeline as in Hugging Face tokenizers: added tokens → normalizer → pre-tokenizer → model →
/// post-processor, and a decoder back. Thread-safe: Encode may be called from many threads at once.
/// </summary>
public sealed class Tokenizer
{
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly AddedToken[] _addedLongestFirst;

    /// <summary>The model.</summary>
    public IModel Model { get; }

    /// <summary>Applied to text before splitting, or null.</summary>
    public INormalizer? Normalizer { get; init; }

    /// <summary>Splits text into pieces, or null (the whole text is one piece).</summary>
    public IPreTokenizer? PreTokenizer { get; init; }

    /// <summary>Adds special tokens around each sequence, or null.</summary>
    public IPostProcessor? PostProcessor { get; init; }

    /// <summary>Turns tokens back into text, or null (tokens joined by spaces).</summary>
    public IDecoder? Decoder { get; init; }

    /// <summary>Whether offsets leave out leading and trailing whitespace (the byte-level processor's trim_offsets).</summary>
    public bool TrimOffsets { get; init; }

    /// <summary>Tokens added on top of the model's vocabulary.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Creates the pipeline around <paramref name="model"/>.</summary>
    public Tokenizer(IModel model, IEnumerable<AddedToken>? addedTokens = null)
    {
        Model = model;
        AddedTokens = (addedTokens ?? []).ToList();
        _addedByContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        _addedById = new Dictionary<int, AddedToken>();
        foreach (AddedToken t in AddedTokens)
        {
            if (t.Content.Length == 0) throw new ArgumentException("an added token may not be empty", nameof(addedTokens));
            if (!_addedByContent.TryAdd(t.Content, t)) throw new ArgumentException($"added token '{t.Content}' appears twice", nameof(addedTokens));
            _addedById[t.Id] = t;
        }
        _addedLongestFirst = AddedTokens.OrderByDescending(t => t.Content.Length).ToArray();
    }

    /// <summary>The number of ids, added tokens included.</summary>
    public int VocabSize => Math.Max(Model.VocabSize, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);

    /// <summary>The id of a token (added tokens first), or null.</summary>
    public int? TokenToId(string token) => _addedByContent.TryGetValue(token, out AddedToken? a) ? a.Id : Model.TokenToId(token);

    /// <summary>The token of an id, or null.</summary>
    public string? IdToToken(int id) => _addedById.TryGetValue(id, out AddedToken? a) ? a.Content : Model.IdToToken(id);

    // Per-thread working lists of Encode (it never calls itself), so encoding a line allocates only its results.
    [ThreadStatic] private static Scratch? t_scratch;

    private sealed class Scratch
    {
        public readonly List<int> Ids = [], Special = [];
        public readonly List<string> Strings = [];
        public readonly List<(int, int)> Offsets = [];
        public readonly List<(int Start, int Length)> Pieces = [];
        public readonly List<Token> Tokens = [];

        public void Clear()
        {
            Ids.Clear();
            Special.Clear();
            Strings.Clear();
            Offsets.Clear();
            Pieces.Clear();
            Tokens.Clear();
        }
    }

    /// <summary>Encodes one text. <paramref name="maxLength"/> truncates (from the right) to at most that many tokens, special tokens included.</summary>
    public TokenEncoding Encode(string text, bool addSpecialTokens = true, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        Scratch scratch = t_scratch ??= new Scratch();
        scratch.Clear();
        (List<int> ids, List<string> strings, List<(int, int)> offsets, List<int> special, List<(int Start, int Length)> pieces, List<Token> tokens) =
            (scratch.Ids, scratch.Strings, scratch.Offsets, scratch.Special, scratch.Pieces, scratch.Tokens);
        int pos = 0;
        foreach ((int start, int end, AddedToken? found) in SplitAdded(text))
        {
            if (found is not null)
            {
                ids.Add(found.Id);
                strings.Add(found.Content);
                offsets.Add((start, end));
                special.Add(found.Special ? 1 : 0);
                continue;
            }
            NormalizedText nt = NormalizedText.Identity(start == 0 && end == text.Length ? text : text[start..end], start);
            if (Normalizer is not null) nt = Normalizer.Normalize(nt);
            if (PreTokenizer is not null) nt = PreTokenizer.Prepare(nt, start, first: pos == 0);
            pos++;
            string t = nt.Text;
            pieces.Clear();
            if (PreTokenizer is null) { if (t.Length > 0) pieces.Add((0, t.Length)); }
            else PreTokenizer.Split(t, pieces);
            foreach ((int ps, int pl) in pieces)
            {
                tokens.Clear();
                if (PreTokenizer?.MapPiece(t.AsSpan(ps, pl), out int[]? source) is string mapped)
                {
                    // The model read another alphabet (e.g. byte-level): offsets go back through the source map.
                    Model.Tokenize(mapped, tokens);
                    foreach (Token tok in tokens)
                    {
                        int ns = ps + source![tok.Start];
                        int last = ps + source[tok.End - 1];
                        int ne = last + (char.IsHighSurrogate(t[last]) && last + 1 < t.Length ? 2 : 1);
                        Emit(tok.Id, Model.TokenString(tok, mapped), nt, ns, ne);
                    }
                }
                else
                {
                    Model.Tokenize(t.AsSpan(ps, pl), tokens);
                    foreach (Token tok in tokens) Emit(tok.Id, Model.TokenString(tok, t.AsSpan(ps, pl)), nt, ps + tok.Start, ps + tok.End);
                }
            }
        }

        void Emit(int id, string token, NormalizedText nt, int ns, int ne)
        {
            (int os, int oe) = nt.OriginalRange(ns, ne);
            if (TrimOffsets)
            {
                while (os < oe && char.IsWhiteSpace(text[os])) ++os;
                while (oe > os && char.IsWhiteSpace(text[oe - 1])) --oe;
            }
            ids.Add(id);
            strings.Add(token);
            offsets.Add((os, oe));
            special.Add(0);
        }

        IPostProcessor? processor = addSpecialTokens ? PostProcessor : null;
        int added = processor?.Added ?? 0;
        if (maxLength is { } max)
        {
            if (max < added) throw new ArgumentOutOfRangeException(nameof(maxLength), max, $"the post-processor alone adds {added} tokens");
            int keep = Math.Min(ids.Count, max - added);
            ids.RemoveRange(keep, ids.Count - keep);
            strings.RemoveRange(keep, strings.Count - keep);
            offsets.RemoveRange(keep, offsets.Count - keep);
            special.RemoveRange(keep, special.Count - keep);
        }
        var mask = new int[ids.Count];
        Array.Fill(mask, 1);
        var encoding = new TokenEncoding
        {
            Ids = ids.ToArray(),
            Tokens = strings.ToArray(),
            Offsets = offsets.ToArray(),
            AttentionMask = mask,
            SpecialTokensMask = special.ToArray(),
            TypeIds = new int[ids.Count],
        };
        return processor is null ? encoding : processor.Process(encoding);
    }

    /// <summary>Raw-text segments: (start, end, the added token found there or null for ordinary text).</summary>
    private IEnumerable<(int Start, int End, AddedToken? Token)> SplitAdded(string text) =>
        _addedLongestFirst.Length == 0 ? [(0, text.Length, null)] : SplitAddedTokens(text);

    private IEnumerable<(int Start, int End, AddedToken? Token)> SplitAddedTokens(string text)
    {
        int segment = 0;
        for (int i = 0; i < text.Length;)
        {
            AddedToken? hit = null;
            foreach (AddedToken t in _addedLongestFirst)
                if (string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) == 0 && i + t.Content.Length <= text.Length)
                {
                    hit = t;
                    break;
                }
            if (hit is null)
            {
                ++i;
                continue;
            }
            int start = i, end = i + hit.Content.Length;
            if (hit.LStrip) while (start > segment && char.IsWhiteSpace(text[start - 1])) --start;
            if (hit.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) ++end;
            if (start > segment) yield return (segment, start, null);
            yield return (start, end, hit);
            i = end;
            segment = i;
        }
        if (segment < text.Length || text.Length == 0) yield return (segment, text.Length, null);
    }

    /// <summary>Encodes many texts in parallel, then pads them (<paramref name="padToken"/> must be known when padding).</summary>
    public IReadOnlyList<TokenEncoding> EncodeBatch(IReadOnlyList<string> texts, bool addSpecialTokens = true, int? maxLength = null,
                                                    PaddingStrategy padding = PaddingStrategy.None, int padTo = 0, string padToken = "[PAD]")
    {
        var result = new TokenEncoding[texts.Count];
        Parallel.For(0, texts.Count, i => result[i] = Encode(texts[i], addSpecialTokens, maxLength));
        if (padding == PaddingStrategy.None) return result;
        int target = padding == PaddingStrategy.Longest ? result.Select(e => e.Length).DefaultIfEmpty(0).Max()
            : padTo > 0 ? padTo : throw new ArgumentOutOfRangeException(nameof(padTo), padTo, "fixed padding needs a positive length");
        int padId = TokenToId(padToken) ?? throw new ArgumentException($"the padding token '{padToken}' is not in the vocabulary; add it or pass padToken", nameof(padToken));
        for (int i = 0; i < result.Length; ++i)
        {
            TokenEncoding e = result[i];
            int extra = target - e.Length;
            if (extra <= 0) continue;
            result[i] = new TokenEncoding
            {
                Ids = [.. e.Ids, .. Enumerable.Repeat(padId, extra)],
                Tokens = [.. e.Tokens, .. Enumerable.Repeat(padToken, extra)],
                Offsets = [.. e.Offsets, .. Enumerable.Repeat((0, 0), extra)],
                AttentionMask = [.. e.AttentionMask, .. new int[extra]],
                SpecialTokensMask = [.. e.SpecialTokensMask, .. Enumerable.Repeat(1, extra)],
                TypeIds = [.. e.TypeIds, .. new int[extra]],
            };
        }
        return result;
    }

    /// <summary>The text of <paramref name="ids"/>; special tokens are left out when <paramref name="skipSpecialTokens"/>.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        var sb = new System.Text.StringBuilder();
        var run = new List<string>();
        IDecoder decoder = Decoder ?? new SpaceJoinDecoder();
        void Flush()
        {
            if (run.Count == 0) return;
            if (sb.Length > 0 && Decoder is null) sb.Append(' ');
            sb.Append(decoder.Decode(run));
            run.Clear();
        }
        foreach (int id in ids)
        {
            if (_addedById.TryGetValue(id, out AddedToken? a))
            {
                if (a.Special && skipSpecialTokens) continue;
                Flush();
                if (sb.Length > 0 && Decoder is null) sb.Append(' ');
                sb.Append(a.Content);
                continue;
            }
            run.Add(Model.IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"id {id} is outside the vocabulary of {VocabSize}"));
        }
        Flush();
        return sb.ToString();
    }

    /// <summary>Decodes many sequences.</summary>
    public IReadOnlyList<string> DecodeBatch(IReadOnlyList<IReadOnlyList<int>> batch, bool skipSpecialTokens = true) =>
        batch.Select(ids => Decode(ids, skipSpecialTokens)).ToList();
}

using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Trainers;

/// <summary>Settings of <see cref="BpeTrainer"/> (and of <see cref="WordPieceTrainer"/>, which trains through it).</summary>
public sealed record BpeTrainerOptions : TrainerOptions
{
    /// <summary>Keep only this many most frequent characters in the alphabet (others are dropped), or null for all.</summary>
    public int? LimitAlphabet { get; init; }

    /// <summary>Start from all 256 byte-level characters (for byte-level pipelines).</summary>
    public bool ByteLevelAlphabet { get; init; }

    /// <summary>Prefix of symbols inside a word (e.g. "##"), or null.</summary>
    public string? ContinuingSubwordPrefix { get; init; }

    /// <summary>Suffix of a word's last symbol (e.g. "&lt;/w&gt;"), or null.</summary>
    public string? EndOfWordSuffix { get; init; }

}

/// <summary>
/// Learns BPE merges from word counts: repeatedly merges the most frequent adjacent pair (ties go to the pair of smaller
/// token ids, which are assigned in a fixed order, so training is deterministic) until the vocabulary is full or no pair
/// is frequent enough. Only the pairs beside each merge site are updated.
/// </summary>
public sealed class BpeTrainer(BpeTrainerOptions options) : ITrainer
{
    /// <inheritdoc />
    public TrainerOptions Options => options;

    /// <inheritdoc />
    public IModel Train(IReadOnlyDictionary<string, long> wordCounts) => Train(wordCounts, options);

    /// <summary>The byte-level pre-tokenizer for a byte-level alphabet, else whitespace-and-punctuation words.</summary>
    public IPreTokenizer PreTokenizer => options.ByteLevelAlphabet ? new ByteLevelPreTokenizer() : new WhitespacePreTokenizer();

    /// <inheritdoc />
    public IDecoder? Decoder => options.ByteLevelAlphabet ? new ByteLevelDecoder() : null;

    /// <summary>Trains on <paramref name="wordCounts"/> (as counted by <see cref="WordCounter"/>); <paramref name="unkToken"/> overrides the options'.</summary>
    public static Bpe Train(IReadOnlyDictionary<string, long> wordCounts, BpeTrainerOptions options, string? unkToken = null)
    {
        unkToken ??= options.UnkToken;
        if (wordCounts.Count == 0) throw new ArgumentException("the corpus holds no words; check the training files and the pre-tokenizer", nameof(wordCounts));
        string prefix = options.ContinuingSubwordPrefix ?? "", suffix = options.EndOfWordSuffix ?? "";
        var tokens = new List<string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Intern(string t)
        {
            if (!ids.TryGetValue(t, out int id)) { id = tokens.Count; tokens.Add(t); ids[t] = id; }
            return id;
        }
        foreach (string s in options.SpecialTokens) Intern(s);

        // Alphabet: characters by frequency, limited if asked; byte-level adds every byte character.
        var charCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string w, long c) in wordCounts)
            for (int i = 0; i < w.Length;)
            {
                int n = char.IsHighSurrogate(w[i]) && i + 1 < w.Length ? 2 : 1;
                string ch = w.Substring(i, n);
                charCounts[ch] = charCounts.GetValueOrDefault(ch) + c;
                i += n;
            }
        var alphabet = charCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        if (options.LimitAlphabet is { } limit) alphabet = alphabet.Take(limit);
        var alphabetSet = new HashSet<string>(alphabet, StringComparer.Ordinal);
        if (options.ByteLevelAlphabet)
            for (int b = 0; b < 256; ++b) alphabetSet.Add(ByteLevel.Char((byte)b).ToString());
        int required = options.SpecialTokens.Count + alphabetSet.Count;
        if (options.VocabSize < required)
            throw new ArgumentOutOfRangeException(nameof(options), options.VocabSize,
                $"vocab size {options.VocabSize} is below the {alphabetSet.Count}-character alphabet plus {options.SpecialTokens.Count} special tokens ({required}); raise the vocab size or limit the alphabet");
        foreach (string ch in alphabetSet.Order(StringComparer.Ordinal)) Intern(ch);

        // Words as symbol ids (prefix inside words, suffix at the end); characters outside the alphabet are dropped.
        var words = new List<int[]>(wordCounts.Count);
        var counts = new List<long>(wordCounts.Count);
        foreach ((string w, long c) in wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var syms = new List<int>();
            for (int i = 0; i < w.Length;)
            {
                int n = char.IsHighSurrogate(w[i]) && i + 1 < w.Length ? 2 : 1;
                string ch = w.Substring(i, n);
                bool last = i + n == w.Length;
                if (alphabetSet.Contains(ch)) syms.Add(Intern((i > 0 ? prefix : "") + ch + (last ? suffix : "")));
                i += n;
            }
            if (syms.Count == 0) continue;
            words.Add(syms.ToArray());
            counts.Add(c);
        }
        var lengths = words.Select(w => w.Length).ToArray();

        // Pair statistics, and the words each pair may occur in (lists may hold stale or repeated entries).
        var pairCount = new Dictionary<long, long>();
        var where = new Dictionary<long, List<int>>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;
        void Inc(long key, long c, int wi)
        {
            pairCount[key] = pairCount.GetValueOrDefault(key) + c;
            if (!where.TryGetValue(key, out var list)) where[key] = list = new List<int>();
            if (list.Count == 0 || list[^1] != wi) list.Add(wi);
        }
        for (int wi = 0; wi < words.Count; ++wi)
        {
            int[] s = words[wi];
            for (int k = 0; k + 1 < s.Length; ++k) Inc(Key(s[k], s[k + 1]), counts[wi], wi);
        }
        // Most frequent first; ties go to the pair of smaller ids (ids are assigned in a fixed order, so this is deterministic).
        var comparer = Comparer<(long Count, long Key)>.Create((x, y) =>
        {
            int c = y.Count.CompareTo(x.Count);
            return c != 0 ? c : x.Key.CompareTo(y.Key);
        });
        var queue = new PriorityQueue<long, (long Count, long Key)>(comparer);
        foreach ((long key, long c) in pairCount) queue.Enqueue(key, (c, key));

        var merges = new List<(string, string)>();
        var grown = new HashSet<long>();
        var seen = new int[words.Count];
        int target = options.VocabSize, mergeNo = 0;
        while (tokens.Count < target && queue.TryDequeue(out long best, out var prio))
        {
            long current = pairCount.GetValueOrDefault(best);
            if (current != prio.Count) // stale entry: requeue with the current count
            {
                if (current > 0) queue.Enqueue(best, (current, best));
                continue;
            }
            if (current < Math.Max(1, options.MinFrequency)) break;
            int a = (int)(best >> 32), b = (int)(uint)best;
            string right = tokens[b];
            string merged = tokens[a] + (prefix.Length > 0 && right.StartsWith(prefix, StringComparison.Ordinal) ? right[prefix.Length..] : right);
            int m = Intern(merged);
            merges.Add((tokens[a], tokens[b]));
            ++mergeNo;
            grown.Clear();
            List<int> occurrences = where[best];
            where.Remove(best);
            foreach (int wi in occurrences)
            {
                if (seen[wi] == mergeNo) continue;
                seen[wi] = mergeNo;
                int[] s = words[wi];
                int n = lengths[wi], w = 0;
                long c = counts[wi];
                // Rewrite the word in place; only pairs touching a merge site change.
                for (int k = 0; k < n;)
                {
                    if (k + 1 < n && s[k] == a && s[k + 1] == b)
                    {
                        Dec(best, c);
                        if (w > 0)
                        {
                            Dec(Key(s[w - 1], a), c);
                            Grow(Key(s[w - 1], m), c, wi);
                        }
                        if (k + 2 < n)
                        {
                            Dec(Key(b, s[k + 2]), c);
                            Grow(Key(m, s[k + 2]), c, wi);
                        }
                        s[w++] = m;
                        k += 2;
                    }
                    else s[w++] = s[k++];
                }
                lengths[wi] = w;
            }
            pairCount.Remove(best);
            foreach (long key in grown)
                if (pairCount.TryGetValue(key, out long v) && v > 0) queue.Enqueue(key, (v, key));
            options.Progress?.Report(new TrainerProgress("merging pairs", tokens.Count, target));

            void Dec(long key, long delta)
            {
                long v = pairCount.GetValueOrDefault(key) - delta;
                if (v <= 0) pairCount.Remove(key);
                else pairCount[key] = v;
            }

            void Grow(long key, long delta, int wi)
            {
                Inc(key, delta, wi);
                grown.Add(key);
            }
        }
        var vocab = new Dictionary<string, int>(ids, StringComparer.Ordinal);
        if (unkToken is not null && !vocab.ContainsKey(unkToken))
            throw new ArgumentException($"the unknown token '{unkToken}' must be one of the special tokens", nameof(unkToken));
        return new Bpe(vocab, merges, unkToken, options.ContinuingSubwordPrefix, options.EndOfWordSuffix);
    }
}

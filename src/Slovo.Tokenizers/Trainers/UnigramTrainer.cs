using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Trainers;

/// <summary>Settings of <see cref="UnigramTrainer"/>.</summary>
public sealed record UnigramTrainerOptions : TrainerOptions
{
    /// <summary>The vocabulary size to reach (special tokens included).</summary>
    public override int VocabSize { get; init; } = 8000;

    /// <summary>The unknown piece (added first when it is not among the special tokens).</summary>
    public override string? UnkToken { get; init; } = "<unk>";

    /// <summary>Longest piece, in UTF-16 units.</summary>
    public int MaxPieceLength { get; init; } = 16;

    /// <summary>The share of pieces kept by each pruning round.</summary>
    public double ShrinkingFactor { get; init; } = 0.75;

    /// <summary>EM iterations between pruning rounds.</summary>
    public int SubIterations { get; init; } = 2;

    /// <summary>The most seed substrings to start from.</summary>
    public int SeedSize { get; init; } = 1_000_000;

}

/// <summary>
/// Trains a <see cref="Unigram"/> model as SentencePiece does: seed pieces are the characters and the most frequent
/// substrings; EM (forward–backward over each word's lattice) re-estimates piece probabilities; pruning then removes the
/// pieces whose loss would cost the least likelihood, until the vocabulary has the asked size. Characters are always kept.
/// Deterministic: every loop runs in a fixed order.
/// </summary>
public sealed class UnigramTrainer(UnigramTrainerOptions options) : ITrainer
{
    /// <inheritdoc />
    public TrainerOptions Options => options;

    /// <inheritdoc />
    public IModel Train(IReadOnlyDictionary<string, long> wordCounts) => Train(wordCounts, options);

    /// <summary>Whitespace-and-punctuation words.</summary>
    public IPreTokenizer PreTokenizer => new WhitespacePreTokenizer();

    /// <inheritdoc />
    public IDecoder? Decoder => null;

    /// <summary>Trains on <paramref name="wordCounts"/> (as counted by <see cref="WordCounter"/>); progress counts the pieces down to the target.</summary>
    public static Unigram Train(IReadOnlyDictionary<string, long> wordCounts, UnigramTrainerOptions options)
    {
        string unkToken = options.UnkToken ?? throw new ArgumentException("a unigram model needs an unknown token", nameof(options));
        if (wordCounts.Count == 0) throw new ArgumentException("the corpus holds no words; check the training files and the pre-tokenizer", nameof(wordCounts));
        var specials = new List<string>();
        if (!options.SpecialTokens.Contains(unkToken)) specials.Add(unkToken);
        specials.AddRange(options.SpecialTokens);
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (Text: kv.Key, Count: (double)kv.Value)).ToList();

        // Required pieces: every character. Seeds: frequent substrings, scored by count × length.
        var chars = new Dictionary<string, double>(StringComparer.Ordinal);
        var subs = new Dictionary<string, double>(StringComparer.Ordinal);
        var subLookup = subs.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach ((string w, double c) in words)
        {
            for (int i = 0; i < w.Length; i += Width(w, i)) chars[w.Substring(i, Width(w, i))] = chars.GetValueOrDefault(w.Substring(i, Width(w, i))) + c;
            for (int i = 0; i < w.Length; i += Width(w, i))
                for (int end = i + Width(w, i); end <= w.Length && end - i <= options.MaxPieceLength; end += end < w.Length ? Width(w, end) : 1)
                {
                    if (end - i < 2 || (end - i == 2 && char.IsSurrogatePair(w[i], w[i + 1]))) continue;
                    ReadOnlySpan<char> s = w.AsSpan(i, end - i);
                    subLookup[s] = subLookup.TryGetValue(s, out double v) ? v + c : c;
                }
        }
        int desired = options.VocabSize - specials.Count;
        if (desired < chars.Count)
            throw new ArgumentOutOfRangeException(nameof(options), options.VocabSize,
                $"vocab size {options.VocabSize} is below the {chars.Count}-character alphabet plus {specials.Count} special tokens; raise it");
        var seeds = subs.Where(kv => kv.Value >= 2).OrderByDescending(kv => kv.Value * kv.Key.Length).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.SeedSize).ToList();
        var pieces = chars.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value, Required: true))
            .Concat(seeds.Select(kv => (kv.Key, kv.Value, Required: false))).ToList();
        double total = pieces.Sum(p => p.Value);
        var scores = pieces.Select(p => Math.Log(p.Value) - Math.Log(total)).ToList();

        while (true)
        {
            for (int it = 0; it < options.SubIterations; ++it)
            {
                double[] expected = Expectation(words, pieces.Select(p => p.Key).ToList(), scores);
                // Maximization with SentencePiece's Bayesian smoothing; pieces expected less than half a time go (characters stay).
                var kept = new List<(string Key, double Value, bool Required)>();
                var keptScores = new List<double>();
                double sum = 0;
                for (int k = 0; k < pieces.Count; ++k) if (pieces[k].Required || expected[k] >= 0.5) sum += expected[k];
                for (int k = 0; k < pieces.Count; ++k)
                {
                    if (!pieces[k].Required && expected[k] < 0.5) continue;
                    kept.Add(pieces[k]);
                    keptScores.Add(Digamma(Math.Max(expected[k], 1e-6)) - Digamma(sum));
                }
                (pieces, scores) = (kept, keptScores);
            }
            options.Progress?.Report(new TrainerProgress("pruning pieces", pieces.Count, desired));
            if (pieces.Count <= desired) break;
            (pieces, scores) = Prune(words, pieces, scores, Math.Max(desired, (int)(pieces.Count * options.ShrinkingFactor)));
        }

        var ordered = Enumerable.Range(0, pieces.Count).OrderByDescending(k => scores[k]).ThenBy(k => pieces[k].Key, StringComparer.Ordinal);
        var vocab = specials.Select(s => (s, 0.0)).ToList();
        var taken = new HashSet<string>(specials, StringComparer.Ordinal);
        foreach (int k in ordered)
            if (taken.Add(pieces[k].Key)) vocab.Add((pieces[k].Key, scores[k]));
        return new Unigram(vocab, vocab.FindIndex(v => v.Item1 == unkToken));
    }

    private static int Width(string s, int i) => char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    /// <summary>Expected count of every piece over all words (forward–backward over each word's lattice).</summary>
    private static double[] Expectation(List<(string Text, double Count)> words, List<string> pieces, List<double> scores)
    {
        var index = new Dictionary<string, int>(pieces.Count, StringComparer.Ordinal);
        for (int k = 0; k < pieces.Count; ++k) index[pieces[k]] = k;
        var lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
        int maxLen = pieces.Max(p => p.Length);
        var expected = new double[pieces.Count];
        var edges = new List<(int Start, int End, int Piece)>();
        foreach ((string w, double c) in words)
        {
            int n = w.Length;
            edges.Clear();
            for (int i = 0; i < n; ++i)
            {
                if (i > 0 && char.IsLowSurrogate(w[i]) && char.IsHighSurrogate(w[i - 1])) continue;
                for (int len = 1; len <= maxLen && i + len <= n; ++len)
                    if (lookup.TryGetValue(w.AsSpan(i, len), out int k)) edges.Add((i, i + len, k));
            }
            var alpha = new double[n + 1];
            var beta = new double[n + 1];
            Array.Fill(alpha, double.NegativeInfinity);
            Array.Fill(beta, double.NegativeInfinity);
            alpha[0] = 0;
            foreach ((int s, int e, int k) in edges) alpha[e] = LogAdd(alpha[e], alpha[s] + scores[k]); // edges are sorted by start
            beta[n] = 0;
            for (int j = edges.Count - 1; j >= 0; --j) beta[edges[j].Start] = LogAdd(beta[edges[j].Start], beta[edges[j].End] + scores[edges[j].Piece]);
            double z = alpha[n];
            if (double.IsNegativeInfinity(z)) continue;
            foreach ((int s, int e, int k) in edges)
            {
                double p = alpha[s] + scores[k] + beta[e] - z;
                if (p > -50) expected[k] += c * Math.Exp(p);
            }
        }
        return expected;
    }

    /// <summary>Keeps the characters and the <paramref name="keep"/> pieces whose removal would cost the most likelihood.</summary>
    private static (List<(string Key, double Value, bool Required)>, List<double>) Prune(
        List<(string Text, double Count)> words, List<(string Key, double Value, bool Required)> pieces, List<double> scores, int keep)
    {
        var keys = pieces.Select(p => p.Key).ToList();
        var freq = new double[pieces.Count];
        var inWords = new double[pieces.Count]; // total count of the words whose best path uses the piece
        foreach ((string w, double c) in words)
        {
            var used = new HashSet<int>();
            foreach (int k in Viterbi(w, keys, scores, exclude: -1))
            {
                freq[k] += c;
                if (used.Add(k)) inWords[k] += c;
            }
        }
        double sum = freq.Sum(), wordTotal = words.Sum(x => x.Count), logSum = Math.Log(sum);
        var loss = new List<(int Piece, double Loss)>();
        for (int k = 0; k < pieces.Count; ++k)
        {
            if (pieces[k].Required) continue;
            if (freq[k] == 0) { loss.Add((k, double.NegativeInfinity)); continue; } // unused: removable at no cost
            List<int> alternative = Viterbi(keys[k], keys, scores, exclude: k);
            double logSumAlt = Math.Log(sum + freq[k] * (alternative.Count - 1));
            double logProbAlt = alternative.Sum(a => Math.Log(freq[a] + freq[k]) - logSumAlt);
            double logProb = Math.Log(freq[k]) - logSum;
            loss.Add((k, inWords[k] / wordTotal * (logProb - logProbAlt)));
        }
        int required = pieces.Count(p => p.Required);
        var kept = new HashSet<int>(loss.OrderByDescending(l => l.Loss).ThenBy(l => keys[l.Piece], StringComparer.Ordinal)
            .Take(Math.Max(0, keep - required)).Select(l => l.Piece));
        var newPieces = new List<(string, double, bool)>();
        var newScores = new List<double>();
        for (int k = 0; k < pieces.Count; ++k)
            if (pieces[k].Required || kept.Contains(k)) { newPieces.Add(pieces[k]); newScores.Add(scores[k]); }
        return (newPieces, newScores);
    }

    /// <summary>The best segmentation of <paramref name="text"/> as piece indices, optionally without piece <paramref name="exclude"/>.</summary>
    private static List<int> Viterbi(string text, List<string> keys, List<double> scores, int exclude)
    {
        // A per-call dictionary would be slow; keys are few enough that a shared index is rebuilt only when the list changes.
        Dictionary<string, int> index = IndexOf(keys);
        var lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
        int n = text.Length, maxLen = Math.Min(n, MaxLen(keys));
        var best = new double[n + 1];
        var back = new (int From, int Piece)[n + 1];
        Array.Fill(best, double.NegativeInfinity);
        best[0] = 0;
        for (int i = 0; i < n; ++i)
        {
            if (double.IsNegativeInfinity(best[i])) continue;
            for (int len = 1; len <= maxLen && i + len <= n; ++len)
                if (lookup.TryGetValue(text.AsSpan(i, len), out int k) && k != exclude && best[i] + scores[k] > best[i + len])
                    (best[i + len], back[i + len]) = (best[i] + scores[k], (i, k));
        }
        var path = new List<int>();
        if (double.IsNegativeInfinity(best[n])) return path;
        for (int e = n; e > 0; e = back[e].From) path.Add(back[e].Piece);
        path.Reverse();
        return path;
    }

    [ThreadStatic] private static List<string>? _indexedKeys;
    [ThreadStatic] private static Dictionary<string, int>? _index;
    [ThreadStatic] private static int _maxLen;

    private static Dictionary<string, int> IndexOf(List<string> keys)
    {
        if (!ReferenceEquals(_indexedKeys, keys))
        {
            _index = new Dictionary<string, int>(keys.Count, StringComparer.Ordinal);
            for (int k = 0; k < keys.Count; ++k) _index[keys[k]] = k;
            _maxLen = keys.Max(x => x.Length);
            _indexedKeys = keys;
        }
        return _index!;
    }

    private static int MaxLen(List<string> keys)
    {
        IndexOf(keys);
        return _maxLen;
    }

    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        return a > b ? a + double.LogP1(Math.Exp(b - a)) : b + double.LogP1(Math.Exp(a - b));
    }

    /// <summary>The digamma function ψ(x) for x &gt; 0 (recurrence to x ≥ 10, then the asymptotic series; error below 1e-13).</summary>
    internal static double Digamma(double x)
    {
        double result = 0;
        while (x < 10) { result -= 1 / x; x += 1; }
        double f = 1 / (x * x);
        return result + Math.Log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
    }
}

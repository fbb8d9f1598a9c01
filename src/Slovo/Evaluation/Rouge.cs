using System.Globalization;
using System.Text;

namespace Slovo.Evaluation;

/// <summary>Precision, recall and F1 of one ROUGE variant for one example.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double F1)
{
    /// <summary>All zero: what an empty side gets.</summary>
    public static readonly RougeScore Zero = new(0, 0, 0);

    /// <summary>From a hit count over the prediction's and the reference's totals; F1 = 2PR/(P+R), or 0.</summary>
    public static RougeScore Of(double hits, double predictionTotal, double referenceTotal)
    {
        double p = hits / Math.Max(predictionTotal, 1), r = hits / Math.Max(referenceTotal, 1);
        return new RougeScore(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
    }
}

/// <summary>ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum of one prediction against its reference.</summary>
public sealed record RougeScores(RougeScore Rouge1, RougeScore Rouge2, RougeScore RougeL, RougeScore RougeLsum);

/// <summary>Corpus figures: the mean of the per-example scores (precision, recall and F1 each), as rouge-score's users average them.</summary>
public sealed record RougeSummary(int Examples, RougeScore Rouge1, RougeScore Rouge2, RougeScore RougeL, RougeScore RougeLsum);

/// <summary>How text becomes ROUGE tokens.</summary>
public enum RougeTokenization
{
    /// <summary>
    /// Google's rouge-score: lowercase, every run of characters outside [a-z0-9] becomes a space, split on whitespace. Text in
    /// other scripts (Russian, accented letters) is deleted entirely, so it scores 0.
    /// </summary>
    Ascii,

    /// <summary>The same with letters and digits of every script kept (lowercased invariantly): for Russian and other text.</summary>
    Unicode,
}

/// <summary>
/// ROUGE as Google's rouge-score package defines it (Lin 2004; ROUGE-1.5.5's options -n 2 with summary-level LCS): tokens as
/// <see cref="RougeTokenization"/> says, optionally Porter-stemmed when longer than 3 characters (off by default, as there);
/// ROUGE-N from clipped n-gram counts; ROUGE-L from the longest common subsequence of the whole token sequences (P = LCS /
/// prediction length, R = LCS / reference length); ROUGE-Lsum from the union LCS of each reference line against every
/// prediction line (lines split on "\n"), counting each token at most as often as both sides hold it. An empty side
/// scores 0.
/// </summary>
public sealed class Rouge(bool stem = false, RougeTokenization tokenization = RougeTokenization.Ascii)
{
    /// <summary>Whether tokens longer than 3 characters are Porter-stemmed.</summary>
    public bool Stem { get; } = stem;

    /// <summary>How text is split into tokens.</summary>
    public RougeTokenization Tokenization { get; } = tokenization;

    /// <summary>The tokens of <paramref name="text"/>.</summary>
    public List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length == 0) return;
            string t = current.ToString();
            current.Clear();
            // rouge-score stems tokens longer than 3 characters; the stemmer is English, so other scripts pass through.
            tokens.Add(Stem && t.Length > 3 && IsAscii(t) ? PorterStemmer.Stem(t) : t);
        }
        if (Tokenization == RougeTokenization.Ascii)
        {
            foreach (char ch in text)
            {
                // Python's lower(): A-Z, and two characters outside ASCII whose lower case holds an ASCII letter: K (Kelvin) → k,
                // İ → i and a combining dot, which then ends the token.
                char c = ch switch { >= 'A' and <= 'Z' => (char)(ch + 32), '\u212A' => 'k', _ => ch };
                if (c is >= 'a' and <= 'z' or >= '0' and <= '9') current.Append(c);
                else if (c == '\u0130')
                {
                    current.Append('i');
                    Flush();
                }
                else Flush();
            }
        }
        else
        {
            foreach (Rune r in text.EnumerateRunes())
            {
                if (Rune.IsLetterOrDigit(r)) current.Append(Rune.ToLowerInvariant(r).ToString());
                else Flush();
            }
        }
        Flush();
        return tokens;
    }

    private static bool IsAscii(string t)
    {
        foreach (char c in t)
            if (c > 127) return false;
        return true;
    }

    /// <summary>Every variant for one example.</summary>
    public RougeScores Score(string reference, string prediction)
    {
        List<string> r = Tokenize(reference), p = Tokenize(prediction);
        return new RougeScores(N(r, p, 1), N(r, p, 2), L(r, p), LSum(Lines(reference), Lines(prediction)));
    }

    /// <summary>The mean of every example's scores; references and predictions pair up by position.</summary>
    public RougeSummary Corpus(IReadOnlyList<string> references, IReadOnlyList<string> predictions)
    {
        if (references.Count != predictions.Count)
            throw new ArgumentException($"{references.Count} references but {predictions.Count} predictions; they pair up line by line", nameof(predictions));
        var all = new RougeScores[references.Count];
        Parallel.For(0, all.Length, i => all[i] = Score(references[i], predictions[i]));
        RougeScore Mean(Func<RougeScores, RougeScore> pick) => all.Length == 0 ? RougeScore.Zero
            : new RougeScore(all.Average(s => pick(s).Precision), all.Average(s => pick(s).Recall), all.Average(s => pick(s).F1));
        return new RougeSummary(all.Length, Mean(s => s.Rouge1), Mean(s => s.Rouge2), Mean(s => s.RougeL), Mean(s => s.RougeLsum));
    }

    private List<List<string>> Lines(string text) =>
        text.Split('\n').Where(line => line.Length > 0).Select(Tokenize).ToList();

    /// <summary>ROUGE-N: n-grams in common (each counted at most as often as both sides hold it) over each side's n-gram count.</summary>
    public static RougeScore N(IReadOnlyList<string> reference, IReadOnlyList<string> prediction, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        Dictionary<string, int> r = Ngrams(reference, n), p = Ngrams(prediction, n);
        int hits = r.Sum(kv => Math.Min(kv.Value, p.GetValueOrDefault(kv.Key)));
        return RougeScore.Of(hits, p.Values.Sum(), r.Values.Sum());
    }

    private static Dictionary<string, int> Ngrams(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Count; ++i)
        {
            string key = n == 1 ? tokens[i] : string.Join('\u0001', tokens.Skip(i).Take(n));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>ROUGE-L: the longest common subsequence over the whole token sequences.</summary>
    public static RougeScore L(IReadOnlyList<string> reference, IReadOnlyList<string> prediction)
    {
        if (reference.Count == 0 || prediction.Count == 0) return RougeScore.Zero;
        int lcs = LcsTable(reference, prediction)[reference.Count, prediction.Count];
        return RougeScore.Of(lcs, prediction.Count, reference.Count);
    }

    /// <summary>ROUGE-Lsum: summary-level LCS over lines (union LCS per reference line, no token counted twice).</summary>
    public static RougeScore LSum(IReadOnlyList<IReadOnlyList<string>> referenceLines, IReadOnlyList<IReadOnlyList<string>> predictionLines)
    {
        if (referenceLines.Count == 0 || predictionLines.Count == 0) return RougeScore.Zero;
        int m = referenceLines.Sum(l => l.Count), n = predictionLines.Sum(l => l.Count);
        if (m == 0 || n == 0) return RougeScore.Zero;
        var left = new Dictionary<string, int>[2];
        for (int side = 0; side < 2; ++side)
        {
            left[side] = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (IReadOnlyList<string> line in side == 0 ? referenceLines : predictionLines)
                foreach (string t in line) left[side][t] = left[side].GetValueOrDefault(t) + 1;
        }
        int hits = 0;
        foreach (IReadOnlyList<string> r in referenceLines)
        {
            var union = new SortedSet<int>();
            foreach (IReadOnlyList<string> c in predictionLines) union.UnionWith(LcsIndices(r, c));
            foreach (int i in union)
            {
                string t = r[i];
                if (left[0].GetValueOrDefault(t) > 0 && left[1].GetValueOrDefault(t) > 0)
                {
                    ++hits;
                    --left[0][t];
                    --left[1][t];
                }
            }
        }
        return RougeScore.Of(hits, n, m);
    }

    private static int[,] LcsTable(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var t = new int[a.Count + 1, b.Count + 1];
        for (int i = 1; i <= a.Count; ++i)
            for (int j = 1; j <= b.Count; ++j)
                t[i, j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal) ? t[i - 1, j - 1] + 1 : Math.Max(t[i - 1, j], t[i, j - 1]);
        return t;
    }

    /// <summary>The positions in <paramref name="reference"/> of one longest common subsequence, read back from the table's end:
    /// on a tie the step goes up the reference, as rouge-score's does (the union in ROUGE-Lsum depends on which LCS is taken).</summary>
    private static List<int> LcsIndices(IReadOnlyList<string> reference, IReadOnlyList<string> candidate)
    {
        int[,] t = LcsTable(reference, candidate);
        var indices = new List<int>();
        int i = reference.Count, j = candidate.Count;
        while (i > 0 && j > 0)
        {
            if (string.Equals(reference[i - 1], candidate[j - 1], StringComparison.Ordinal))
            {
                indices.Add(i - 1);
                --i;
                --j;
            }
            else if (t[i, j - 1] > t[i - 1, j]) --j;
            else --i;
        }
        indices.Reverse();
        return indices;
    }

    /// <summary>Formats a score as "P/R/F" with three decimals.</summary>
    public static string Format(RougeScore s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Precision:F3}/{s.Recall:F3}/{s.F1:F3}");
}

using System.Buffers;
using System.Numerics.Tensors;

namespace Slovo.Generation;

/// <summary>Turns a model's logits into the distribution a token is drawn from, following <see cref="GenerationOptions"/>.</summary>
public static class LogitProcessor
{
    /// <summary>Applies the repetition penalty and the n-gram ban for the text so far (in place); banned tokens get −∞.</summary>
    public static void ApplyPenalties(float[] logits, IReadOnlyList<int> history, GenerationOptions o)
    {
        if (o.RepetitionPenalty != 1)
            foreach (int t in history.Distinct())
                logits[t] = logits[t] > 0 ? (float)(logits[t] / o.RepetitionPenalty) : (float)(logits[t] * o.RepetitionPenalty);
        int n = o.NoRepeatNgramSize;
        if (n > 0 && history.Count >= n - 1)
        {
            int start = history.Count - (n - 1);
            for (int i = 0; i + n - 1 < history.Count; ++i)
            {
                bool same = true;
                for (int k = 0; k < n - 1 && same; ++k) same = history[i + k] == history[start + k];
                if (same) logits[history[i + n - 1]] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>
    /// Probabilities after temperature, top-k, top-p and min-p (tokens cut out get 0). Greedy settings put all mass on
    /// the most likely token.
    /// </summary>
    public static double[] Distribution(float[] logits, GenerationOptions o)
    {
        int v = logits.Length;
        var p = new double[v];
        if (o.Greedy || o.Temperature == 0)
        {
            p[ArgMax(logits)] = 1;
            return p;
        }
        double max = logits.Max(), sum = 0;
        for (int i = 0; i < v; ++i) sum += p[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp((logits[i] - max) / o.Temperature);
        for (int i = 0; i < v; ++i) p[i] /= sum;
        if (o.TopK <= 0 && o.TopP >= 1 && o.MinP <= 0)
        {
            // No filter: every token with a probability stays; nothing to sort. (Renormalised as the filtered path does, so
            // both give the same numbers.)
            double all = 0;
            for (int i = 0; i < v; ++i) all += p[i];
            for (int i = 0; i < v; ++i) p[i] /= all;
            return p;
        }
        int[] order = ByProbability(p);
        var keep = new bool[v];
        double cumulative = 0, top = p[order[0]];
        for (int r = 0; r < v; ++r)
        {
            int i = order[r];
            if (p[i] == 0) break;
            if (o.TopK > 0 && r >= o.TopK) break;
            if (r > 0 && cumulative >= o.TopP) break;
            if (p[i] < o.MinP * top) break;
            keep[i] = true;
            cumulative += p[i];
        }
        double kept = 0;
        for (int i = 0; i < v; ++i) kept += keep[i] ? p[i] : 0;
        for (int i = 0; i < v; ++i) p[i] = keep[i] ? p[i] / kept : 0;
        return p;
    }

    // Token ids by falling probability, ties by rising id: a primitive-keyed sort, then any run of equal keys put in id order.
    private static int[] ByProbability(double[] p)
    {
        int v = p.Length;
        var keys = new double[v];
        var order = new int[v];
        for (int i = 0; i < v; ++i) (keys[i], order[i]) = (-p[i], i);
        Array.Sort(keys, order);
        for (int start = 0; start < v;)
        {
            int end = start + 1;
            while (end < v && keys[end] == keys[start]) ++end;
            if (end - start > 1) Array.Sort(order, start, end - start);
            start = end;
        }
        return order;
    }

    /// <summary>Draws a token from a distribution.</summary>
    public static int Sample(double[] p, Random rng)
    {
        double u = rng.NextDouble(), acc = 0;
        int last = -1;
        for (int i = 0; i < p.Length; ++i)
        {
            if (p[i] <= 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last >= 0 ? last : throw new InvalidOperationException("every token is forbidden; relax the n-gram ban or the filters");
    }

    /// <summary>log softmax of the logits (−∞ stays −∞).</summary>
    public static double[] LogSoftmax(float[] logits)
    {
        double log = LogSumExp(logits);
        var result = new double[logits.Length];
        for (int i = 0; i < result.Length; ++i) result[i] = float.IsNegativeInfinity(logits[i]) ? double.NegativeInfinity : logits[i] - log;
        return result;
    }

    /// <summary>The log-probability of one token under the softmax of the logits (<see cref="LogSoftmax"/>[token], without the array).</summary>
    public static double LogProbability(float[] logits, int token) =>
        float.IsNegativeInfinity(logits[token]) ? double.NegativeInfinity : logits[token] - LogSumExp(logits);

    // max + log Σ exp(x − max), vectorised (TensorPrimitives): a decoder's vocabulary is tens of thousands of logits per token.
    internal static double LogSumExp(ReadOnlySpan<float> logits)
    {
        float max = TensorPrimitives.Max(logits);
        if (float.IsNegativeInfinity(max) || float.IsNaN(max)) return max;
        float[] buffer = ArrayPool<float>.Shared.Rent(logits.Length);
        try
        {
            Span<float> shifted = buffer.AsSpan(0, logits.Length);
            TensorPrimitives.Subtract(logits, max, shifted);
            TensorPrimitives.Exp(shifted, shifted);
            return max + Math.Log(TensorPrimitives.Sum<float>(shifted));
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    /// <summary>The index of the largest value (the first on ties).</summary>
    public static int ArgMax(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("no values", nameof(values));
        float max = TensorPrimitives.Max(values);
        int at = float.IsNaN(max) ? -1 : Array.IndexOf(values, max);
        if (at >= 0) return at;
        int best = 0;
        for (int i = 1; i < values.Length; ++i) if (values[i] > values[best]) best = i;
        return best;
    }
}

namespace Slovo.Generation;

/// <summary>
/// A token's log-probability under a model at one position (natural log, over the whole vocabulary, before any sampling
/// setting such as temperature changes the distribution), with the most likely tokens there, most likely first.
/// </summary>
/// <param name="Id">The token.</param>
/// <param name="Logprob">log p(token | the tokens before it).</param>
/// <param name="Top">The most likely tokens at the position and their log-probabilities (empty when none were asked for).</param>
public sealed record TokenLogprob(int Id, float Logprob, IReadOnlyList<(int Id, float Logprob)> Top)
{
    /// <summary>The log-probability of <paramref name="token"/> and the <paramref name="top"/> most likely tokens under the scores
    /// <paramref name="scores"/> (logits, or log-probabilities: a log-softmax gives those back).</summary>
    public static TokenLogprob Of(ReadOnlySpan<float> scores, int token, int top)
    {
        if ((uint)token >= (uint)scores.Length) throw new ArgumentOutOfRangeException(nameof(token), token, $"must be in [0, {scores.Length})");
        if (top < 0) throw new ArgumentOutOfRangeException(nameof(top), top, "must be at least 0");
        float logZ = (float)LogitProcessor.LogSumExp(scores);
        var best = new (int Id, float Logprob)[Math.Min(top, scores.Length)];
        if (best.Length > 0)
        {
            // A bounded selection: the running best list stays sorted, most likely first (ties: the lower id first).
            int filled = 0;
            for (int i = 0; i < scores.Length; ++i)
            {
                float s = scores[i];
                if (filled == best.Length && s <= best[filled - 1].Logprob) continue;
                int at = filled < best.Length ? filled++ : filled - 1;
                while (at > 0 && best[at - 1].Logprob < s)
                {
                    best[at] = best[at - 1];
                    --at;
                }
                best[at] = (i, s);
            }
            for (int i = 0; i < best.Length; ++i) best[i].Logprob -= logZ;
        }
        return new TokenLogprob(token, scores[token] - logZ, best);
    }
}

using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Evaluation;

/// <summary>Perplexity done right: exp of the mean negative log-likelihood over all non-pad target tokens.</summary>
public static class Perplexity
{
    /// <summary>Summed negative log-likelihood (nats) and the number of non-pad targets for logits (B, T, V) and targets (B, T).</summary>
    public static (double NllSum, long Tokens) Accumulate(Tensor logits, Tensor targets, int padId)
    {
        using var scope = DisposeScope.Begin();
        long v = logits.Size(-1);
        Tensor flatLogits = logits.Reshape(-1, v), flatTargets = targets.Reshape(-1);
        double sum = Losses.CrossEntropy(flatLogits, flatTargets, ignoreIndex: padId, reduction: Reduction.Sum).ToDouble();
        long count = flatTargets.Ne(padId).Sum().ToInt64();
        return (sum, count);
    }

    /// <summary>The figures for a summed NLL over <paramref name="tokens"/> targets: perplexity exp(mean NLL), bits per
    /// token (mean NLL / ln 2; bits per character for character models), and the course's 2**(mean NLL), labelled as such.</summary>
    public static (double Perplexity, double BitsPerToken, double CoursePow2) Figures(double nllSum, long tokens)
    {
        if (tokens <= 0) throw new ArgumentException("no targets were scored", nameof(tokens));
        double mean = nllSum / tokens;
        return (Math.Exp(mean), mean / Math.Log(2), Math.Pow(2, mean));
    }
}

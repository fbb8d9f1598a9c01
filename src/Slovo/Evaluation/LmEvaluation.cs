namespace Slovo.Evaluation;

/// <summary>Validation figures: summed NLL (nats) over the non-pad targets, their count, and the characters they cover.</summary>
public sealed record LmEvaluation(double NllSum, long Tokens, long Chars)
{
    /// <summary>Mean NLL per target token (nats): the validation loss.</summary>
    public double Loss => NllSum / Tokens;

    /// <summary>exp(mean NLL): perplexity done right.</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <summary>2**(mean NLL in nats): the figure the course printed, for comparison only.</summary>
    public double CoursePow2 => Math.Pow(2, Loss);

    /// <summary>Bits per character: the NLL spread over the characters of the text (comparable across token levels).</summary>
    public double BitsPerChar => NllSum / Math.Log(2) / Chars;
}

namespace Slovo.Generation;

/// <summary>How tokens are chosen. With <see cref="Temperature"/> 0 (or <see cref="Greedy"/>) the most likely token is taken.</summary>
public sealed record GenerationOptions
{
    /// <summary>The most tokens to generate.</summary>
    public int MaxTokens { get; init; } = 50;

    /// <summary>Take the most likely token every step.</summary>
    public bool Greedy { get; init; }

    /// <summary>Logits are divided by this before sampling; 0 means greedy.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Sample only among the k most likely tokens (0: no limit).</summary>
    public int TopK { get; init; }

    /// <summary>Sample only among the most likely tokens whose probabilities add up to p (1: no limit).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Drop tokens less likely than min-p times the most likely token's probability (0: no limit).</summary>
    public double MinP { get; init; }

    /// <summary>Divides positive (multiplies negative) logits of tokens already in the text; 1 disables it.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Forbid any n-gram of this size from appearing twice (0 disables it).</summary>
    public int NoRepeatNgramSize { get; init; }

    /// <summary>The end-of-sequence token cannot be produced before this many tokens were generated.</summary>
    public int MinTokens { get; init; }

    /// <summary>Generation stops after this token (it is kept in the output), or null.</summary>
    public int? EosToken { get; init; }

    /// <summary>More ids that end the sequence as <see cref="EosToken"/> does (a chat model's end-of-turn tokens).</summary>
    public IReadOnlyList<int> EndTokens { get; init; } = [];

    /// <summary>Whether <paramref name="token"/> ends the sequence.</summary>
    public bool IsEnd(int token) => token == EosToken || EndTokens.Contains(token);

    /// <summary>Generation stops when the decoded text ends with one of these (requires a decoder).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Seed of the sampler.</summary>
    public int Seed { get; init; }

    /// <summary>Beam width for beam search (1: no beam search).</summary>
    public int Beams { get; init; } = 1;

    /// <summary>Beam scores are log-probability sums divided by length^this (0: plain sums).</summary>
    public double LengthPenalty { get; init; } = 1.0;

    /// <summary>Beam search draws candidates by sampling instead of taking the best (beam multinomial sampling).</summary>
    public bool BeamSampling { get; init; }

    /// <summary>Checks the settings, naming the bad one.</summary>
    public void Validate(int vocabSize)
    {
        if (MinTokens < 0) throw new ArgumentOutOfRangeException(nameof(MinTokens), MinTokens, "must be non-negative");
        if (MaxTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "must be non-negative");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be non-negative");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "must be non-negative");
        if (TopP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must be in (0, 1]");
        if (MinP is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "must be in [0, 1)");
        if (RepetitionPenalty <= 0) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "must be positive");
        if (NoRepeatNgramSize < 0) throw new ArgumentOutOfRangeException(nameof(NoRepeatNgramSize), NoRepeatNgramSize, "must be non-negative");
        if (Beams < 1) throw new ArgumentOutOfRangeException(nameof(Beams), Beams, "must be at least 1");
        if (EosToken is { } e && (e < 0 || e >= vocabSize)) throw new ArgumentOutOfRangeException(nameof(EosToken), e, $"outside the vocabulary of {vocabSize}");
        foreach (int end in EndTokens)
            if (end < 0 || end >= vocabSize) throw new ArgumentOutOfRangeException(nameof(EndTokens), end, $"outside the vocabulary of {vocabSize}");
    }
}

/// <summary>A model's published sampling settings (Hugging Face's generation_config.json); null where it gives none.</summary>
public sealed record GenerationDefaults
{
    /// <summary>do_sample: false means greedy.</summary>
    public bool? DoSample { get; init; }

    /// <summary>temperature.</summary>
    public double? Temperature { get; init; }

    /// <summary>top_p.</summary>
    public double? TopP { get; init; }

    /// <summary>top_k.</summary>
    public int? TopK { get; init; }

    /// <summary>repetition_penalty.</summary>
    public double? RepetitionPenalty { get; init; }

    /// <summary>Reads generation_config.json's sampling fields.</summary>
    public static GenerationDefaults FromJson(System.Text.Json.Nodes.JsonObject o)
    {
        T? Get<T>(string key) where T : struct => o[key] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out T x) ? x : null;
        return new GenerationDefaults
        {
            DoSample = Get<bool>("do_sample"), Temperature = Get<double>("temperature"), TopP = Get<double>("top_p"), TopK = Get<int>("top_k"),
            RepetitionPenalty = Get<double>("repetition_penalty"),
        };
    }
}

namespace Slovo.Generation;

/// <summary>Why generation stopped.</summary>
public enum StopReason
{
    /// <summary>The end-of-sequence token was produced.</summary>
    Eos,
    /// <summary><see cref="GenerationOptions.MaxTokens"/> tokens were produced.</summary>
    MaxTokens,
    /// <summary>The text ended with a stop string.</summary>
    StopString,
}

/// <summary>The generated continuation (without the prompt).</summary>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, StopReason Reason, double LogProbability);

/// <summary>
/// Makes a continuation begin with <see cref="Text"/>: until the generated tokens' texts cover it, only tokens whose text
/// continues it (or is the rest of it, or a prefix of the rest) may be chosen. Token healing uses it: the prompt is backed up to
/// a token boundary and the cut text is required back, so the model picks how to spell the word it was cut in.
/// </summary>
/// <param name="Text">The text the continuation must start with.</param>
/// <param name="TokenTexts">The text of every token id on its own (see <see cref="Slovo.LanguageModels.LanguageModel.TokenTexts"/>).</param>
public sealed record PrefixConstraint(string Text, IReadOnlyList<string> TokenTexts)
{
    /// <summary>Sets to −∞ the logits of tokens that cannot continue <see cref="Text"/> after <paramref name="generatedText"/>.</summary>
    public void Mask(float[] logits, string generatedText)
    {
        if (generatedText.Length >= Text.Length) return;
        string rest = Text[generatedText.Length..];
        bool Fits(int t)
        {
            string s = t < TokenTexts.Count ? TokenTexts[t] : "";
            return s.Length > 0 && (s.StartsWith(rest, StringComparison.Ordinal) || rest.StartsWith(s, StringComparison.Ordinal));
        }
        bool any = false;
        for (int t = 0; t < logits.Length && !any; ++t) any = Fits(t) && !float.IsNegativeInfinity(logits[t]);
        if (!any) return; // no token spells it (the vocabulary cannot): leave the choice free rather than have nothing to choose
        for (int t = 0; t < logits.Length; ++t)
            if (!Fits(t)) logits[t] = float.NegativeInfinity;
    }

    /// <summary>The text of <paramref name="tokens"/> as this constraint sees it (each token's own text, joined).</summary>
    public string TextOf(IEnumerable<int> tokens) => string.Concat(tokens.Select(t => t < TokenTexts.Count ? TokenTexts[t] : ""));
}

/// <summary>
/// Generates text from any <see cref="IIncrementalModel{TState}"/>: greedy, sampling (temperature, top-k, top-p, min-p,
/// repetition penalty, no-repeat n-grams), or beam search (length penalty, EOS handling, optional multinomial beam
/// sampling). The model's state is carried from token to token; the prompt is read once.
/// </summary>
public static partial class Generator
{
    /// <summary>Generates one continuation of <paramref name="prompt"/>. <paramref name="decode"/> turns tokens into text
    /// (needed for stop strings); <paramref name="onToken"/> receives each token as it is produced (not for beam search).</summary>
    public static GenerationResult Generate<TState>(IIncrementalModel<TState> model, IReadOnlyList<int> prompt, GenerationOptions options,
                                                    Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null,
                                                    PrefixConstraint? prefix = null)
    {
        options.Validate(model.VocabSize);
        if (options.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a decoder", nameof(decode));
        if (options.Beams > 1) return BeamSearch(model, prompt, options, decode, prefix);
        var row = new SequenceSampler(prompt, options, options.Seed, decode, prefix);
        if (row.Result is not null) return row.Result;
        (TState state, float[] logits) = model.Start(prompt);
        while (true)
        {
            int token = row.Next(logits);
            onToken?.Invoke(token);
            if (row.Result is not null) return row.Result;
            (state, logits) = model.Advance(state, token);
        }
    }

    /// <summary>
    /// Generates a continuation of every prompt at once, stepping all rows through the model together. Row i samples
    /// with seed <c>Seed + i</c>, so each row equals <see cref="Generate{TState}"/> of that prompt with that seed.
    /// Beam search runs prompt by prompt. <paramref name="onToken"/> receives (row, token); <paramref name="prefixes"/>, when
    /// given, holds each row's <see cref="PrefixConstraint"/> (or null).
    /// </summary>
    public static IReadOnlyList<GenerationResult> GenerateBatch<TState>(IBatchedIncrementalModel<TState> model, IReadOnlyList<IReadOnlyList<int>> prompts,
                                                                       GenerationOptions options, Func<IReadOnlyList<int>, string>? decode = null,
                                                                       Action<int, int>? onToken = null, IReadOnlyList<PrefixConstraint?>? prefixes = null)
    {
        options.Validate(model.VocabSize);
        if (options.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a decoder", nameof(decode));
        if (prefixes is not null && prefixes.Count != prompts.Count) throw new ArgumentException($"{prefixes.Count} prefixes for {prompts.Count} prompts", nameof(prefixes));
        if (prompts.Count == 0) return [];
        if (options.Beams > 1)
            return prompts.Select((p, i) => Generate(model, p, options with { Seed = options.Seed + i }, decode, prefix: prefixes?[i])).ToList();
        (TState state, float[][] logits) = model.StartBatch(prompts);
        var rows = prompts.Select((p, i) => new SequenceSampler(p, options, options.Seed + i, decode, prefixes?[i])).ToArray();
        var tokens = new int[rows.Length];
        while (true)
        {
            for (int i = 0; i < rows.Length; ++i)
            {
                if (rows[i].Result is not null) continue;        // finished rows keep stepping with their last token; it is ignored
                tokens[i] = rows[i].Next(logits[i]);
                onToken?.Invoke(i, tokens[i]);
            }
            if (rows.All(r => r.Result is not null)) return rows.Select(r => r.Result!).ToList();
            (state, logits) = model.AdvanceBatch(state, tokens);
        }
    }
}

/// <summary>
/// One sequence being sampled, one token at a time, from logits the caller computes: penalties, filtering, drawing with its
/// own seeded generator, and the stop rules. <see cref="Generator"/> drives one per row; a scheduler that batches requests
/// as they come (rows join and leave between steps) drives one per request, and gets the same tokens.
/// </summary>
public sealed class SequenceSampler(IReadOnlyList<int> prompt, GenerationOptions options, int seed, Func<IReadOnlyList<int>, string>? decode = null,
                                     PrefixConstraint? prefix = null)
{
    private string _generatedText = "";
    private readonly Random _rng = new(seed);
    private readonly List<int> _history = new(prompt);
    private readonly List<int> _generated = [];
    private double _logProb;

    /// <summary>The finished continuation, or null while it goes on.</summary>
    public GenerationResult? Result { get; private set; } = options.MaxTokens == 0 ? new GenerationResult([], StopReason.MaxTokens, 0) : null;

    /// <summary>The tokens drawn so far.</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>Draws the next token from the model's logits and updates <see cref="Result"/> when the sequence ends.</summary>
    public int Next(float[] logits)
    {
        float[] l = (float[])logits.Clone();
        LogitProcessor.ApplyPenalties(l, _history, options);
        if (options.EosToken is { } eos && _generated.Count < options.MinTokens) l[eos] = float.NegativeInfinity;
        prefix?.Mask(l, _generatedText);
        double[] p = LogitProcessor.Distribution(l, options);
        int token = LogitProcessor.Sample(p, _rng);
        _logProb += LogitProcessor.LogProbability(logits, token);
        if (prefix is not null && _generatedText.Length < prefix.Text.Length) _generatedText += prefix.TextOf([token]);
        _generated.Add(token);
        _history.Add(token);
        if (token == options.EosToken) Result = new GenerationResult(_generated, StopReason.Eos, _logProb);
        else if (options.StopStrings.Count > 0 && options.StopStrings.Any(s => decode!(_generated).EndsWith(s, StringComparison.Ordinal)))
            Result = new GenerationResult(_generated, StopReason.StopString, _logProb);
        else if (_generated.Count >= options.MaxTokens) Result = new GenerationResult(_generated, StopReason.MaxTokens, _logProb);
        return token;
    }
}

public static partial class Generator
{
    private sealed record Beam<TState>(List<int> Tokens, TState State, float[] Logits, double Score);

    private static double Normalized(double score, int length, double penalty) => penalty == 0 ? score : score / Math.Pow(Math.Max(1, length), penalty);

    private static GenerationResult BeamSearch<TState>(IIncrementalModel<TState> model, IReadOnlyList<int> prompt, GenerationOptions o,
                                                       Func<IReadOnlyList<int>, string>? decode, PrefixConstraint? prefix)
    {
        var rng = new Random(o.Seed);
        (TState s0, float[] l0) = model.Start(prompt);
        var beams = new List<Beam<TState>> { new([], s0, l0, 0) };
        var finished = new List<(List<int> Tokens, double Score, double Normalized, StopReason Reason)>();
        for (int step = 0; step < o.MaxTokens && beams.Count > 0; ++step)
        {
            var candidates = new List<(Beam<TState> From, int Token, double Score)>();
            foreach (Beam<TState> beam in beams)
            {
                float[] l = (float[])beam.Logits.Clone();
                LogitProcessor.ApplyPenalties(l, prompt.Concat(beam.Tokens).ToList(), o);
                if (o.EosToken is { } eos && beam.Tokens.Count < o.MinTokens) l[eos] = float.NegativeInfinity;
                prefix?.Mask(l, prefix.TextOf(beam.Tokens));
                double[] logp = LogitProcessor.LogSoftmax(l);
                IEnumerable<int> picks;
                if (o.BeamSampling)
                {
                    double[] p = LogitProcessor.Distribution(l, o);
                    var chosen = new HashSet<int>();
                    int possible = p.Count(x => x > 0);
                    while (chosen.Count < Math.Min(2 * o.Beams, possible)) chosen.Add(LogitProcessor.Sample(p, rng));
                    picks = chosen;
                }
                else
                {
                    picks = Enumerable.Range(0, l.Length).Where(t => !double.IsNegativeInfinity(logp[t]))
                        .OrderByDescending(t => logp[t]).ThenBy(t => t).Take(2 * o.Beams);
                }
                foreach (int t in picks) candidates.Add((beam, t, beam.Score + logp[t]));
            }
            var next = new List<Beam<TState>>();
            foreach ((Beam<TState> from, int token, double score) in candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Token))
            {
                var tokens = new List<int>(from.Tokens) { token };
                bool stop = token == o.EosToken;
                StopReason reason = StopReason.Eos;
                if (!stop && o.StopStrings.Count > 0 && decode is not null && o.StopStrings.Any(s => decode(tokens).EndsWith(s, StringComparison.Ordinal)))
                    (stop, reason) = (true, StopReason.StopString);
                if (stop) finished.Add((tokens, score, Normalized(score, tokens.Count, o.LengthPenalty), reason));
                else if (next.Count < o.Beams)
                {
                    if (step + 1 < o.MaxTokens)
                    {
                        (TState s, float[] l) = model.Advance(from.State, token);
                        next.Add(new Beam<TState>(tokens, s, l, score));
                    }
                    else finished.Add((tokens, score, Normalized(score, tokens.Count, o.LengthPenalty), StopReason.MaxTokens));
                }
            }
            beams = next;
            // Done when enough hypotheses finished and no live beam can still beat the worst kept one
            // (log-probabilities only fall, so a live beam's normalized score is an optimistic bound only without length penalty).
            if (finished.Count >= o.Beams && o.LengthPenalty == 0)
            {
                double worstKept = finished.OrderByDescending(f => f.Normalized).Take(o.Beams).Min(f => f.Normalized);
                if (beams.All(b => b.Score <= worstKept)) break;
            }
        }
        if (finished.Count == 0) return new GenerationResult([], StopReason.MaxTokens, 0); // MaxTokens was 0
        var best = finished.OrderByDescending(f => f.Normalized).ThenBy(f => f.Tokens.Count).First();
        return new GenerationResult(best.Tokens, best.Reason, best.Score);
    }
}

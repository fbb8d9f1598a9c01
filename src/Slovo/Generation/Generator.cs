namespace Slovo.Generation;

/// <summary>Why generation stopped.</summary>
public enum StopReason
{
    /// <summary>The end-of-sequence token was produced.</summary>
    Eos,
    /// <summary><see cref="GenerationOptions.MaxTokens"/> tokens were produced.</summary>
    MaxTokens,
    /// <summary>The text came to hold a stop string.</summary>
    StopString,
}

/// <summary>The generated continuation (without the prompt).</summary>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, StopReason Reason, double LogProbability);

/// <summary>
/// Generates text through any <see cref="IDecodingBackend"/> (and so from any <see cref="IIncrementalModel{TState}"/>): greedy,
/// sampling (temperature, top-k, top-p, min-p, repetition penalty, no-repeat n-grams), or beam search (length penalty, EOS
/// handling, optional multinomial beam sampling). Every strategy steps one <see cref="IDecodingBatch"/>: a single sequence is
/// a batch of one, a batch of prompts is one row each, beams are rows that are copied as they branch. The prompt is read once.
/// </summary>
public static class Generator
{
    /// <summary>Generates one continuation of <paramref name="prompt"/> with an incremental model (see <see cref="Generate(IDecodingBackend, IReadOnlyList{int}, GenerationOptions, Func{IReadOnlyList{int}, string}?, Action{int}?, PrefixConstraint?)"/>).</summary>
    public static GenerationResult Generate<TState>(IIncrementalModel<TState> model, IReadOnlyList<int> prompt, GenerationOptions options,
                                                    Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null,
                                                    PrefixConstraint? prefix = null) =>
        Generate(DecodingBackend.Of(model), prompt, options, decode, onToken, prefix);

    /// <summary>Generates a continuation of every prompt with an incremental model (see <see cref="GenerateBatch(IDecodingBackend, IReadOnlyList{IReadOnlyList{int}}, GenerationOptions, Func{IReadOnlyList{int}, string}?, Action{int, int}?, IReadOnlyList{PrefixConstraint?}?)"/>).</summary>
    public static IReadOnlyList<GenerationResult> GenerateBatch<TState>(IIncrementalModel<TState> model, IReadOnlyList<IReadOnlyList<int>> prompts,
                                                                       GenerationOptions options, Func<IReadOnlyList<int>, string>? decode = null,
                                                                       Action<int, int>? onToken = null, IReadOnlyList<PrefixConstraint?>? prefixes = null) =>
        GenerateBatch(DecodingBackend.Of(model), prompts, options, decode, onToken, prefixes);

    /// <summary>Generates one continuation of <paramref name="prompt"/>. <paramref name="decode"/> turns tokens into text
    /// (needed for stop strings); <paramref name="onToken"/> receives each token as it is produced (not for beam search).</summary>
    public static GenerationResult Generate(IDecodingBackend backend, IReadOnlyList<int> prompt, GenerationOptions options,
                                            Func<IReadOnlyList<int>, string>? decode = null, Action<int>? onToken = null, PrefixConstraint? prefix = null) =>
        GenerateBatch(backend, [prompt], options, decode, onToken is null ? null : (_, t) => onToken(t), prefix is null ? null : [prefix])[0];

    /// <summary>
    /// Generates a continuation of every prompt at once, stepping all rows through one batch; a row leaves the batch when it
    /// ends. Row i samples with seed <c>Seed + i</c>, so each row equals <see cref="Generate(IDecodingBackend, IReadOnlyList{int}, GenerationOptions, Func{IReadOnlyList{int}, string}?, Action{int}?, PrefixConstraint?)"/>
    /// of that prompt with that seed. Beam search runs prompt by prompt. <paramref name="onToken"/> receives (row, token);
    /// <paramref name="prefixes"/>, when given, holds each row's <see cref="PrefixConstraint"/> (or null).
    /// </summary>
    public static IReadOnlyList<GenerationResult> GenerateBatch(IDecodingBackend backend, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
                                                               Func<IReadOnlyList<int>, string>? decode = null, Action<int, int>? onToken = null,
                                                               IReadOnlyList<PrefixConstraint?>? prefixes = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(backend.VocabSize);
        if (options.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a decoder", nameof(decode));
        if (prefixes is not null && prefixes.Count != prompts.Count) throw new ArgumentException($"{prefixes.Count} prefixes for {prompts.Count} prompts", nameof(prefixes));
        if (prompts.Count == 0) return [];
        if (options.Beams > 1)
            return prompts.Select((p, i) => BeamSearch(backend, p, options with { Seed = options.Seed + i }, decode, prefixes?[i])).ToList();
        var rows = prompts.Select((p, i) => new SequenceSampler(p, options, options.Seed + i, decode, prefixes?[i])).ToArray();
        if (rows.All(r => r.Result is not null)) return rows.Select(r => r.Result!).ToList(); // no tokens asked for: the model is not run
        using IDecodingBatch batch = backend.OpenBatch();
        IReadOnlyList<float[]> scores = batch.Add(prompts);
        List<int> live = Enumerable.Range(0, rows.Length).ToList(); // batch row k is sequence live[k]
        while (true)
        {
            var tokens = new List<int>(live.Count);
            var keep = new List<int>(live.Count);
            for (int k = 0; k < live.Count; ++k)
            {
                SequenceSampler row = rows[live[k]];
                if (row.Result is not null) continue; // a row that ended before its first token (no tokens asked for)
                int token = row.Next(scores[k]);
                onToken?.Invoke(live[k], token);
                if (row.Result is not null) continue;
                keep.Add(k);
                tokens.Add(token);
            }
            if (keep.Count == 0) return rows.Select(r => r.Result!).ToList();
            batch.Retain(keep);
            live = keep.Select(k => live[k]).ToList();
            scores = batch.Step(tokens);
        }
    }

    private sealed record Beam(List<int> Tokens, double Score);

    private static double Normalized(double score, int length, double penalty) => penalty == 0 ? score : score / Math.Pow(Math.Max(1, length), penalty);

    // Beams are the batch's rows: each step every beam's candidates are scored, the best become the next beams (a beam
    // that continues in two ways is copied), and the batch steps them all at once.
    private static GenerationResult BeamSearch(IDecodingBackend backend, IReadOnlyList<int> prompt, GenerationOptions o,
                                               Func<IReadOnlyList<int>, string>? decode, PrefixConstraint? prefix)
    {
        var rng = new Random(o.Seed);
        var stops = new StopMatcher(o.StopStrings);
        using IDecodingBatch batch = backend.OpenBatch();
        IReadOnlyList<float[]> scores = batch.Add([prompt]);
        var beams = new List<Beam> { new([], 0) };
        var finished = new List<(List<int> Tokens, double Score, double Normalized, StopReason Reason)>();
        for (int step = 0; step < o.MaxTokens && beams.Count > 0; ++step)
        {
            var candidates = new List<(int From, int Token, double Score)>();
            for (int b = 0; b < beams.Count; ++b)
            {
                Beam beam = beams[b];
                float[] l = (float[])scores[b].Clone();
                LogitProcessor.ApplyPenalties(l, prompt.Concat(beam.Tokens).ToList(), o);
                if (beam.Tokens.Count < o.MinTokens)
                {
                    if (o.EosToken is { } eos) l[eos] = float.NegativeInfinity;
                    foreach (int end in o.EndTokens) l[end] = float.NegativeInfinity;
                }
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
                foreach (int t in picks) candidates.Add((b, t, beam.Score + logp[t]));
            }
            var next = new List<(int From, Beam Beam, int Token)>();
            foreach ((int from, int token, double score) in candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Token))
            {
                var tokens = new List<int>(beams[from].Tokens) { token };
                bool stop = o.IsEnd(token);
                StopReason reason = StopReason.Eos;
                if (!stop && stops.Any && decode is not null && stops.FindIn(decode(tokens)) >= 0) (stop, reason) = (true, StopReason.StopString);
                if (stop) finished.Add((tokens, score, Normalized(score, tokens.Count, o.LengthPenalty), reason));
                else if (next.Count < o.Beams)
                {
                    if (step + 1 < o.MaxTokens) next.Add((from, new Beam(tokens, score), token));
                    else finished.Add((tokens, score, Normalized(score, tokens.Count, o.LengthPenalty), StopReason.MaxTokens));
                }
            }
            beams = next.Select(n => n.Beam).ToList();
            if (beams.Count > 0)
            {
                batch.Retain(next.Select(n => n.From).ToList());
                scores = batch.Step(next.Select(n => n.Token).ToList());
            }
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

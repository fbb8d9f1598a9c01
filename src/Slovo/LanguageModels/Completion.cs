using Slovo.Evaluation;
using Slovo.Generation;

namespace Slovo.LanguageModels;

/// <summary>One text cut and completed: the prompt (its first part), the reference (the rest) and the model's completion.</summary>
public sealed record CompletionExample(string Prompt, string Reference, string Completion);

/// <summary>How <see cref="Completion.Complete"/> cuts and completes texts.</summary>
public sealed record CompletionOptions
{
    /// <summary>The share of each text's characters given as the prompt; prompts therefore often end inside a word.</summary>
    public double Cut { get; init; } = 0.75;

    /// <summary>Tokens generated beyond the reference's own token count (generation also stops at the end of text).</summary>
    public int Margin { get; init; } = 3;

    /// <summary>
    /// Token healing: the prompt is backed up by its last token, and the completion must start with that token's text, so the
    /// model chooses how to spell the word the prompt was cut in ("itc" + "hy" rather than "itc" + "." after a token it never
    /// saw end a word).
    /// </summary>
    public bool Heal { get; init; }

    /// <summary>
    /// Rows generated together: texts, or with several <see cref="Candidates"/> texts × candidates (BatchSize / Candidates texts,
    /// at least one). Wider batches stop paying off early: at 2,048 rows a 4-block GPT completed tweets 5× slower than at 64.
    /// </summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Minimum-Bayes-risk decoding when above 1: this many completions are sampled per text and the one that agrees best with
    /// the others (the highest mean ROUGE-L F1 against them, see <see cref="Completion.Consensus"/>) is kept. The expected
    /// ROUGE-L of the kept one is what the choice maximises, so it needs a sampling decoding (not greedy, not beams).
    /// </summary>
    public int Candidates { get; init; } = 1;

    /// <summary>The ROUGE whose tokens the candidates are compared in (null: rouge-score's own tokens, a default <see cref="Rouge"/>).</summary>
    public Rouge? Agreement { get; init; }
}

/// <summary>The tweet-autocompletion task: cut texts, let a model complete them, score completions against the true rest.</summary>
public static class Completion
{
    /// <summary>The first <paramref name="cut"/> of <paramref name="text"/>'s characters (at least one, never all of them, never
    /// half a surrogate pair) and the rest.</summary>
    public static (string Prompt, string Reference) Cut(string text, double cut)
    {
        if (cut is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(cut), cut, "must lie strictly between 0 and 1");
        if (text.Length < 2) throw new ArgumentException("a text needs at least two characters to be cut", nameof(text));
        int n = Math.Clamp((int)Math.Floor(text.Length * cut), 1, text.Length - 1);
        if (char.IsLowSurrogate(text[n])) n = n > 1 ? n - 1 : n + 1;
        return (text[..n], text[n..]);
    }

    /// <summary>
    /// Cuts every text (of two or more characters; shorter ones are skipped) and completes the prompts in batches of similar
    /// length, with <paramref name="generation"/>'s decoding (greedy, sampling, beams, ...). <paramref name="progress"/>
    /// receives the number of texts done.
    /// </summary>
    public static IReadOnlyList<CompletionExample> Complete(LanguageModel model, IReadOnlyList<string> texts, GenerationOptions generation,
                                                            CompletionOptions options, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (options.Margin < 0 || options.BatchSize < 1) throw new ArgumentException("margin must be non-negative and batch size positive", nameof(options));
        if (options.Candidates < 1) throw new ArgumentException($"candidates must be at least 1, not {options.Candidates}", nameof(options));
        int n = options.Candidates;
        if (n > 1 && (generation.Greedy || generation.Temperature == 0 || generation.Beams > 1))
            throw new ArgumentException("choosing among several candidates needs them sampled: use a temperature above 0 without greedy or beams", nameof(generation));
        Rouge agreement = options.Agreement ?? new Rouge();
        var cuts = texts.Where(t => t.Length >= 2).Select(t => Cut(t, options.Cut)).ToList();
        int start = model.PromptsStartWithSos ? 1 : 0;
        var jobs = cuts.Select((c, i) =>
        {
            IReadOnlyList<int> ids = model.EncodePrompt(c.Prompt);
            PrefixConstraint? prefix = null;
            if (options.Heal && ids.Count > start + (model.PromptsStartWithSos ? 0 : 1) && model.TokenTexts[ids[^1]].Length > 0)
            {
                prefix = new PrefixConstraint(model.TokenTexts[ids[^1]], model.TokenTexts);
                ids = ids.Take(ids.Count - 1).ToList();
            }
            int budget = model.Vocabulary.Encode(c.Reference).Length + options.Margin + (prefix is null ? 0 : 1);
            if (model.Context is { } size && ids.Count + budget > size)
            {
                // A model with a fixed context (a GPT) reads the end of a prompt too long to leave room for the completion.
                budget = Math.Min(budget, size - 1);
                ids = ids.Skip(ids.Count - (size - budget)).ToList();
            }
            return (Index: i, Ids: ids, Prefix: prefix, Budget: budget);
        }).OrderBy(j => j.Ids.Count + j.Budget).ThenBy(j => j.Index).ToList();
        var completions = new string[cuts.Count];
        int done = 0;
        foreach (var batch in jobs.Chunk(Math.Max(1, options.BatchSize / n)))
        {
            int most = batch.Max(j => j.Budget);
            if (model.Context is { } size) most = Math.Min(most, size - batch.Max(j => j.Ids.Count)); // a batch is left-padded to its longest prompt
            GenerationOptions o = generation with { MaxTokens = most, EosToken = model.Vocabulary.EosId };
            // Every text's row repeated once per candidate: each row samples with its own seed (Seed + row).
            var rows = batch.SelectMany(j => Enumerable.Repeat(j, n)).ToList();
            IReadOnlyList<GenerationResult> results = model.GenerateBatch(rows.Select(j => j.Ids).ToList(), o,
                batch.Any(j => j.Prefix is not null) ? rows.Select(j => j.Prefix).ToList() : null);
            for (int k = 0; k < batch.Length; ++k)
            {
                var j = batch[k];
                var candidates = new string[n];
                // The prompt's text as read (the model may have read only its end), then what was generated after it.
                string read = model.Decode(j.Ids);
                string promptEnd = cuts[j.Index].Prompt[Math.Max(0, cuts[j.Index].Prompt.Length - read.Length - (j.Prefix?.Text.Length ?? 0))..];
                for (int m = 0; m < n; ++m)
                {
                    GenerationResult r = results[k * n + m];
                    IReadOnlyList<int> generated = r.Tokens.Count > j.Budget ? r.Tokens.Take(j.Budget).ToList() : r.Tokens;
                    string full = model.Decode(j.Ids.Concat(generated));
                    candidates[m] = full.StartsWith(promptEnd, StringComparison.Ordinal) ? full[promptEnd.Length..] : full[Math.Min(full.Length, read.Length)..];
                }
                completions[j.Index] = n == 1 ? candidates[0] : candidates[Consensus(candidates, agreement)];
            }
            done += batch.Length;
            progress?.Invoke(done);
        }
        return cuts.Select((c, i) => new CompletionExample(c.Prompt, c.Reference, completions[i])).ToList();
    }

    /// <summary>
    /// The index of the candidate that agrees best with the others: the highest sum of ROUGE-L F1 against every other candidate
    /// (F1 is symmetric, so it does not matter which side is the reference), the first one on a tie. Used as a stand-in for the
    /// unknown reference, the others make this the minimum-Bayes-risk choice under ROUGE-L.
    /// </summary>
    public static int Consensus(IReadOnlyList<string> candidates, Rouge? rouge = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0) throw new ArgumentException("there are no candidates to choose from", nameof(candidates));
        rouge ??= new Rouge();
        List<List<string>> tokens = candidates.Select(rouge.Tokenize).ToList();
        var sums = new double[tokens.Count];
        for (int a = 0; a < tokens.Count; ++a)
            for (int b = a + 1; b < tokens.Count; ++b)
            {
                double f = Rouge.L(tokens[a], tokens[b]).F1;
                sums[a] += f;
                sums[b] += f;
            }
        int best = 0;
        for (int a = 1; a < sums.Length; ++a)
            if (sums[a] > sums[best]) best = a;
        return best;
    }

    /// <summary>Mean ROUGE of the completions against the references.</summary>
    public static RougeSummary Score(IReadOnlyList<CompletionExample> examples, Rouge? rouge = null) =>
        (rouge ?? new Rouge()).Corpus(examples.Select(e => e.Reference).ToList(), examples.Select(e => e.Completion).ToList());
}

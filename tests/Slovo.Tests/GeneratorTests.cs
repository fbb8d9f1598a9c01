using Slovo.Generation;

namespace Slovo.Tests;

/// <summary>Decoding strategies on a toy Markov model whose next-token distribution is known exactly.</summary>
public class GeneratorTests
{
    /// <summary>The next token's logits depend only on the last token; counts calls to check the state is carried.</summary>
    private sealed class Markov(float[][] table) : IIncrementalModel<int>
    {
        public int Starts, Advances;

        public int VocabSize => table.Length;

        public (int State, float[] Logits) Start(IReadOnlyList<int> prompt)
        {
            ++Starts;
            int last = prompt.Count == 0 ? 0 : prompt[^1];
            return (last, (float[])table[last].Clone());
        }

        public (int State, float[] Logits) Advance(int state, int token)
        {
            ++Advances;
            return (token, (float[])table[token].Clone());
        }
    }

    private static float[][] RandomTable(int v, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, v).Select(_ => Enumerable.Range(0, v).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray()).ToArray();
    }

    private static double[] Probs(float[] logits) => LogitProcessor.LogSoftmax(logits).Select(Math.Exp).ToArray();

    [Fact]
    public void BeamSearchFindsTheExactBestSequence()
    {
        const int v = 5, eos = 4, maxLen = 4;
        for (int seed = 0; seed < 10; ++seed)
        {
            var table = RandomTable(v, seed);
            // Brute force over every sequence that ends with EOS or reaches the length limit.
            (List<int> Tokens, double Score) best = ([], double.NegativeInfinity);
            void Walk(List<int> seq, int last, double score)
            {
                if (seq.Count > 0 && (seq[^1] == eos || seq.Count == maxLen))
                {
                    if (score > best.Score) best = (new List<int>(seq), score);
                    return;
                }
                double[] logp = LogitProcessor.LogSoftmax(table[last]);
                for (int t = 0; t < v; ++t) { seq.Add(t); Walk(seq, t, score + logp[t]); seq.RemoveAt(seq.Count - 1); }
            }
            Walk([], 1, 0);
            var result = Generator.Generate(new Markov(table), [1], new GenerationOptions { Beams = 125, MaxTokens = maxLen, EosToken = eos, LengthPenalty = 0 });
            Assert.Equal(best.Tokens, result.Tokens);
            Assert.Equal(best.Score, result.LogProbability, 9);
        }
    }

    [Fact]
    public void GreedyTakesTheArgmaxAndTemperatureZeroIsGreedy()
    {
        var table = RandomTable(6, 3);
        var greedy = Generator.Generate(new Markov(table), [2], new GenerationOptions { Greedy = true, MaxTokens = 8 });
        int last = 2;
        foreach (int t in greedy.Tokens) { Assert.Equal(LogitProcessor.ArgMax(table[last]), t); last = t; }
        Assert.Equal(greedy.Tokens, Generator.Generate(new Markov(table), [2], new GenerationOptions { Temperature = 0, MaxTokens = 8 }).Tokens);
        Assert.Equal(greedy.Tokens, Generator.Generate(new Markov(table), [2], new GenerationOptions { Beams = 1, Greedy = true, MaxTokens = 8 }).Tokens);
    }

    [Theory]
    [InlineData(3, 1.0, 0.0)]
    [InlineData(0, 0.6, 0.0)]
    [InlineData(0, 1.0, 0.3)]
    public void FiltersNeverEmitExcludedTokens(int topK, double topP, double minP)
    {
        var table = RandomTable(10, 5);
        var options = new GenerationOptions { TopK = topK, TopP = topP, MinP = minP, MaxTokens = 400, Seed = 11 };
        var result = Generator.Generate(new Markov(table), [0], options);
        int last = 0;
        var seen = new HashSet<int>();
        foreach (int t in result.Tokens)
        {
            double[] p = Probs(table[last]);
            int[] order = Enumerable.Range(0, 10).OrderByDescending(i => p[i]).ToArray();
            int rank = Array.IndexOf(order, t);
            if (topK > 0) Assert.True(rank < topK, $"token {t} has rank {rank + 1}, outside the top {topK}");
            if (topP < 1) Assert.True(order.Take(rank).Sum(i => p[i]) < topP, $"token {t} lies outside the {topP} nucleus");
            if (minP > 0) Assert.True(p[t] >= minP * p[order[0]], $"token {t} is below min-p");
            seen.Add(t);
            last = t;
        }
        Assert.True(seen.Count > 1, "sampling should not be deterministic");
        Assert.Equal(result.Tokens, Generator.Generate(new Markov(table), [0], options).Tokens); // seeded
    }

    [Fact]
    public void NoRepeatNgramAndRepetitionPenaltyWork()
    {
        // A model that strongly prefers token 0, then 1.
        float[][] table = Enumerable.Range(0, 4).Select(_ => new float[] { 5, 3, 0, 0 }).ToArray();
        var noRepeat = Generator.Generate(new Markov(table), [0], new GenerationOptions { Greedy = true, MaxTokens = 6, NoRepeatNgramSize = 2 });
        var seq = new List<int> { 0 };
        seq.AddRange(noRepeat.Tokens);
        var bigrams = Enumerable.Range(0, seq.Count - 1).Select(i => (seq[i], seq[i + 1])).ToList();
        Assert.Equal(bigrams.Count, bigrams.Distinct().Count());
        var penalized = Generator.Generate(new Markov(table), [0], new GenerationOptions { Greedy = true, MaxTokens = 1, RepetitionPenalty = 2 });
        Assert.Equal(1, penalized.Tokens[0]); // 5 / 2 < 3: the token already in the prompt loses
    }

    [Fact]
    public void StopsOnEosOrStopStringsStreamsAndCarriesState()
    {
        float[][] table = Enumerable.Range(0, 4).Select(i => new float[] { 0, 0, 0, 0 }.Select((_, j) => j == (i + 1) % 4 ? 10f : 0f).ToArray()).ToArray();
        var model = new Markov(table); // deterministic cycle 0 → 1 → 2 → 3 → 0
        var streamed = new List<int>();
        var r = Generator.Generate(model, [0], new GenerationOptions { Greedy = true, MaxTokens = 10, EosToken = 3 }, onToken: streamed.Add);
        Assert.Equal(new[] { 1, 2, 3 }, r.Tokens);
        Assert.Equal(StopReason.Eos, r.Reason);
        Assert.Equal(r.Tokens, streamed);
        Assert.Equal(1, model.Starts);   // the prompt is read once
        Assert.Equal(2, model.Advances); // one step per generated token, none after the last
        var s = Generator.Generate(new Markov(table), [0], new GenerationOptions { Greedy = true, MaxTokens = 10, StopStrings = ["cd"] },
            decode: ids => string.Concat(ids.Select(i => (char)('a' + i))));
        Assert.Equal(StopReason.StopString, s.Reason);
        Assert.Equal(new[] { 1, 2, 3 }, s.Tokens); // "bcd" ends with "cd"
        Assert.Throws<ArgumentException>(() => Generator.Generate(new Markov(table), [0], new GenerationOptions { StopStrings = ["x"] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Generator.Generate(new Markov(table), [0], new GenerationOptions { TopP = 0 }));
        Assert.Empty(Generator.Generate(new Markov(table), [0], new GenerationOptions { MaxTokens = 0, Beams = 3 }).Tokens);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void MinTokensHoldsBackTheEndOfText(int beams)
    {
        // Token 3 (EOS) is by far the most likely next token everywhere; the rest are equally likely.
        float[][] table = Enumerable.Range(0, 4).Select(_ => new float[] { 0, 0, 0, 8 }).ToArray();
        var o = new GenerationOptions { Greedy = true, MaxTokens = 10, EosToken = 3, Beams = beams };
        Assert.Equal(new[] { 3 }, Generator.Generate(new Markov(table), [0], o).Tokens);
        GenerationResult r = Generator.Generate(new Markov(table), [0], o with { MinTokens = 4 });
        Assert.Equal(5, r.Tokens.Count);
        Assert.Equal(3, r.Tokens[^1]);
        Assert.DoesNotContain(3, r.Tokens.Take(4));
        Assert.Equal(StopReason.Eos, r.Reason);
    }

    [Fact]
    public void BeamSamplingIsSeededAndRespectsLengthPenalty()
    {
        var table = RandomTable(6, 8);
        var o = new GenerationOptions { Beams = 4, BeamSampling = true, MaxTokens = 6, EosToken = 5, Seed = 3 };
        Assert.Equal(Generator.Generate(new Markov(table), [1], o).Tokens, Generator.Generate(new Markov(table), [1], o).Tokens);
        // A strong length penalty (score / length^2) favours longer hypotheses over ending at EOS early.
        var shortest = Generator.Generate(new Markov(table), [1], new GenerationOptions { Beams = 8, MaxTokens = 6, EosToken = 5, LengthPenalty = 0 });
        var longer = Generator.Generate(new Markov(table), [1], new GenerationOptions { Beams = 8, MaxTokens = 6, EosToken = 5, LengthPenalty = 2 });
        Assert.True(longer.Tokens.Count >= shortest.Tokens.Count);
    }

    [Fact]
    public void APrefixConstraintMakesTheContinuationSpellTheCutTextWhateverTheModelPrefers()
    {
        // Tokens: 0 "a", 1 "b", 2 "ab", 3 "abc", 4 "c", 5 "x". The model always prefers "x", then "c", then "b".
        string[] texts = ["a", "b", "ab", "abc", "c", "x"];
        float[] prefs = [0, 2, 1, 0.5f, 3, 5];
        var model = new Markov(Enumerable.Range(0, 6).Select(_ => prefs).ToArray());
        var greedy = new GenerationOptions { Greedy = true, MaxTokens = 3 };
        Assert.Equal([5, 5, 5], Generator.Generate(model, [0], greedy).Tokens);
        // "abc" required: the first token may be "a", "ab" or "abc" (ab is preferred); then only "c" continues it; then free.
        var prefix = new PrefixConstraint("abc", texts);
        Assert.Equal([2, 4, 5], Generator.Generate(model, [0], greedy, prefix: prefix).Tokens);
        // The same in a batch, a row without a constraint beside it, and with beams.
        IReadOnlyList<GenerationResult> batch = Generator.GenerateBatch(new BatchedMarkov(model), [[0], [0]], greedy, prefixes: [prefix, null]);
        Assert.Equal([2, 4, 5], batch[0].Tokens);
        Assert.Equal([5, 5, 5], batch[1].Tokens);
        Assert.Equal("abc", prefix.TextOf(Generator.Generate(model, [0], greedy with { Beams = 3, LengthPenalty = 0 }, prefix: prefix).Tokens.Take(2)));
        // Sampling never leaves the allowed set either.
        for (int seed = 0; seed < 20; ++seed)
        {
            IReadOnlyList<int> t = Generator.Generate(model, [0], new GenerationOptions { MaxTokens = 3, Seed = seed }, prefix: prefix).Tokens;
            Assert.StartsWith("abc", prefix.TextOf(t));
        }
        // A text no token can spell leaves the choice free rather than forbid everything.
        Assert.Equal([5, 5, 5], Generator.Generate(model, [0], greedy, prefix: new PrefixConstraint("é", texts)).Tokens);
    }

    /// <summary>A batched view of a <see cref="Markov"/> model (each row its own last token).</summary>
    private sealed class BatchedMarkov(Markov inner) : IBatchedIncrementalModel<int[]>
    {
        public int VocabSize => inner.VocabSize;
        public (int[] State, float[] Logits) Start(IReadOnlyList<int> prompt) { (int s, float[] l) = inner.Start(prompt); return ([s], l); }
        public (int[] State, float[] Logits) Advance(int[] state, int token) { (int s, float[] l) = inner.Advance(state[0], token); return ([s], l); }
        public (int[] State, float[][] Logits) StartBatch(IReadOnlyList<IReadOnlyList<int>> prompts)
        {
            var r = prompts.Select(inner.Start).ToArray();
            return (r.Select(x => x.State).ToArray(), r.Select(x => x.Logits).ToArray());
        }
        public (int[] State, float[][] Logits) AdvanceBatch(int[] state, IReadOnlyList<int> tokens)
        {
            var r = tokens.Select(inner.Advance).ToArray();
            return (r.Select(x => x.State).ToArray(), r.Select(x => x.Logits).ToArray());
        }
    }
}

using System.Text.Json;
using Slovo.Generation;
using Slovo.TestSupport;
using Slovo.Tokenizers;

namespace Slovo.Tests;

/// <summary>
/// The decoding engine's text pieces: the incremental detokenizer against tiktoken's own ids and texts (the golden cases of
/// ../shared/models/gpt2-tokenizer, many of them multilingual, whose characters are split across byte-level tokens), and
/// the stop matcher against a plain search of the whole text.
/// </summary>
public class DecodingTests
{
    private static readonly Lazy<Gpt2Tokenizer> Gpt2 = new(() => Gpt2Tokenizer.Load(TestPaths.SharedModel("gpt2-tokenizer")));

    private static List<(string Text, int[] Ids)> TiktokenCases()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(TestPaths.SharedModel("gpt2-tokenizer", "golden_tiktoken_gpt2.json")));
        return doc.RootElement.EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray())).ToList();
    }

    [Fact]
    public void StreamedPiecesAreTheTextWithEverySplitCharacterGivenOnceWhole()
    {
        int split = 0, cases = 0, widest = 0;
        foreach ((string text, int[] ids) in TiktokenCases())
        {
            if (ids.Length == 0) continue;
            ++cases;
            var detokenizer = new IncrementalDetokenizer(window =>
            {
                widest = Math.Max(widest, window.Count);
                return Gpt2.Value.Decode(window.ToArray());
            });
            var pieces = ids.Select(detokenizer.Add).ToList();
            pieces.Add(detokenizer.Flush());
            Assert.Equal(text, string.Concat(pieces));                       // tiktoken's text, whole
            if (!text.Contains('\uFFFD')) Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
            split += pieces.Take(ids.Length).Count(p => p.Length == 0);      // a token that ended inside a character
        }
        Assert.True(cases > 100, $"{cases} cases");
        Assert.True(split > 0, "no case split a character across tokens; the test would not see the point of the detokenizer");
        Assert.True(widest <= 16, $"a decode call read {widest} tokens: the detokenizer re-decodes more than the newest tokens");
    }

    [Fact]
    public void AContextGivesTheSpacingOfTheWholeSequenceWithoutItsText()
    {
        int[] prompt = Gpt2.Value.Encode("Hello there,");
        int[] rest = Gpt2.Value.Encode(" general Kenobi. Привет, мир!");
        var detokenizer = new IncrementalDetokenizer(w => Gpt2.Value.Decode(w.ToArray()), prompt);
        string streamed = string.Concat(rest.Select(detokenizer.Add)) + detokenizer.Flush();
        Assert.Equal(" general Kenobi. Привет, мир!", streamed);
        Assert.Equal(streamed, detokenizer.Text);
    }

    [Fact]
    public void TheStopMatcherFindsWhatASearchOfTheWholeTextFinds()
    {
        var rng = new Random(7);
        string[] stops = ["\n\n", "END", "ab", "x"];
        for (int trial = 0; trial < 2000; ++trial)
        {
            string text = new(Enumerable.Range(0, rng.Next(0, 30)).Select(_ => "abEND\nxyz"[rng.Next(9)]).ToArray());
            string[] chosen = stops.Where(_ => rng.Next(2) == 0).ToArray();
            var matcher = new StopMatcher(chosen);
            long found = -1;
            int fed = 0;
            while (fed < text.Length && found < 0)
            {
                int take = rng.Next(1, 4);
                string piece = text.Substring(fed, Math.Min(take, text.Length - fed));
                found = matcher.Feed(piece);
                fed += piece.Length;
                if (found < 0)
                {
                    // What is held back is exactly the longest tail that starts a stop string.
                    string seen = text[..fed];
                    int expectedHold = chosen.SelectMany(s => Enumerable.Range(1, s.Length - 1).Where(k => k <= seen.Length && seen.EndsWith(s[..k], StringComparison.Ordinal)))
                        .DefaultIfEmpty(0).Max();
                    Assert.Equal(expectedHold, matcher.HeldBack);
                }
            }
            int naive = chosen.Select(s => text[..fed].IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            Assert.Equal(naive, (int)found);
            Assert.Equal(naive, new StopMatcher(chosen).FindIn(text[..fed]));
        }
    }

    [Fact]
    public void TheSamplerEndsAtAStopStringAndReleasesOnlyTheTextBeforeIt()
    {
        // Tokens are letters; the stop string "cd" spans two tokens, so "c" must be held back until "d" decides.
        string[] letters = ["a", "b", "c", "d", "e"];
        string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(i => letters[i]));
        var sampler = new SequenceSampler([0], new GenerationOptions { Greedy = true, MaxTokens = 10, StopStrings = ["cd"] }, 0, Decode);
        var shown = new List<string>();
        foreach (int next in new[] { 1, 2, 3 })
        {
            float[] logits = new float[5];
            logits[next] = 10;
            sampler.Next(logits);
            shown.Add(sampler.NewText);
        }
        Assert.Equal(["b", "", ""], shown);
        Assert.Equal(StopReason.StopString, sampler.Result!.Reason);
        Assert.Equal([1, 2, 3], sampler.Result.Tokens);
        Assert.Equal("b", sampler.Text);
    }
}

/// <summary>The decoding seam: a backend that is not a torch module, and that returns log-probabilities, decodes the same tokens.</summary>
public class DecodingBackendTests
{
    // Wraps another backend and returns log-softmax of its logits: an engine that hands out normalised scores.
    private sealed class LogProbabilities(IDecodingBackend inner) : IDecodingBackend
    {
        public int Steps;
        public int VocabSize => inner.VocabSize;
        public bool ScoresAreLogProbabilities => true;
        public IDecodingBatch OpenBatch() => new Batch(inner.OpenBatch(), this);

        private sealed class Batch(IDecodingBatch inner, LogProbabilities owner) : IDecodingBatch
        {
            public int Count => inner.Count;
            public IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts) => Normalise(inner.Add(prompts));
            public IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens)
            {
                ++owner.Steps;
                return Normalise(inner.Step(tokens));
            }
            public void Retain(IReadOnlyList<int> rows) => inner.Retain(rows);
            public void Dispose() => inner.Dispose();
            private static IReadOnlyList<float[]> Normalise(IReadOnlyList<float[]> rows) =>
                rows.Select(r => LogitProcessor.LogSoftmax(r).Select(x => (float)x).ToArray()).ToList();
        }
    }

    [Fact]
    public void AnotherBackendDecodesTheSameTokensForEveryStrategy()
    {
        using Slovo.LanguageModels.LanguageModel lm = Slovo.Models.ModelRegistry.Default.LoadLanguageModel(TestPaths.SharedModel("tiny-random-gpt2"));
        IReadOnlyList<IReadOnlyList<int>> prompts = [lm.EncodePrompt("hello"), lm.EncodePrompt("the world is"), lm.EncodePrompt("")];
        GenerationOptions[] strategies =
        [
            new() { Greedy = true, MaxTokens = 12 },
            new() { Temperature = 0.9, TopK = 50, MaxTokens = 12, Seed = 5 },
            new() { Beams = 3, MaxTokens = 8, LengthPenalty = 0 },
        ];
        var expected = strategies.Select(o => lm.GenerateBatch(prompts, o).Select(r => r.Tokens.ToArray()).ToList()).ToList();
        var wrapped = new LogProbabilities(lm.Backend);
        lm.UseBackend(wrapped);
        for (int s = 0; s < strategies.Length; ++s)
            Assert.Equal(expected[s], lm.GenerateBatch(prompts, strategies[s]).Select(r => r.Tokens.ToArray()).ToList());
        Assert.True(wrapped.Steps > 0);
    }

    [Fact]
    public void AGpt2LoadsInBfloat16AndScoresAsInFloat32WithinBfloat16sPrecision()
    {
        string dir = TestPaths.SharedModel("tiny-random-gpt2");
        using Slovo.LanguageModels.LanguageModel full = Slovo.Models.ModelRegistry.Default.LoadLanguageModel(dir);
        using Slovo.LanguageModels.LanguageModel half = Slovo.Models.ModelRegistry.Default.LoadLanguageModel(dir, new Slovo.Models.ModelLoadOptions { DType = Slovo.Torch.ScalarType.BFloat16 });
        Assert.All(half.Module.Parameters(), p => Assert.Equal(Slovo.Torch.ScalarType.BFloat16, p.DType));
        IReadOnlyList<int> prompt = full.EncodePrompt("the world is a stage");
        using IDecodingBatch a = full.OpenBatch(), b = half.OpenBatch();
        float[] x = a.Add([prompt])[0], y = b.Add([prompt])[0];
        double scale = x.Max(Math.Abs);
        Assert.True(x.Zip(y).Max(p => Math.Abs(p.First - p.Second)) < 0.02 * scale + 0.02, "bfloat16 scores differ from float32 beyond bfloat16's precision");
        Assert.False(x.SequenceEqual(y));   // the bfloat16 model really ran in bfloat16
    }
}

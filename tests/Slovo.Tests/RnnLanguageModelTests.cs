using Slovo.TestSupport;
using Slovo.Embeddings;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Evaluation;

namespace Slovo.Tests;

public class RnnLanguageModelTests
{
    [Fact]
    public void PerplexityIsTokenWeightedOverNonPadTargets()
    {
        using var scope = DisposeScope.Begin();
        // V = 3, pad id 2. Step 1: uniform logits, target 0 → −ln(1/3). Step 2: logits (ln 4, 0, 0), target 1 → −ln(1/6).
        Tensor logits = Tensor.From(new float[] { 0, 0, 0, MathF.Log(4), 0, 0, 5, 5, 5 }, 1, 3, 3);
        Tensor targets = Tensor.From(new long[] { 0, 1, 2 }, 1, 3);
        (double sum, long n) = Perplexity.Accumulate(logits, targets, padId: 2);
        Assert.Equal(2, n);
        Assert.Equal(Math.Log(18), sum, 5);
        (double ppl, double bits, double pow2) = Perplexity.Figures(sum, n);
        Assert.Equal(Math.Sqrt(18), ppl, 4);
        Assert.Equal(Math.Log(18) / 2 / Math.Log(2), bits, 5);
        Assert.Equal(Math.Pow(2, Math.Log(18) / 2), pow2, 4);
        // Two batches of 2 and 1 targets: the right figure weighs tokens, not batches.
        Tensor more = Tensor.From(new float[] { MathF.Log(8), 0, 0 }, 1, 1, 3);
        (double sum2, long n2) = Perplexity.Accumulate(more, Tensor.From(new long[] { 0 }, 1, 1), 2);
        double tokenWeighted = Perplexity.Figures(sum + sum2, n + n2).Perplexity;
        double batchMean = Math.Exp((sum / n + sum2 / n2) / 2);
        Assert.Equal(Math.Exp((Math.Log(18) + Math.Log(10.0 / 8)) / 3), tokenWeighted, 4);
        Assert.NotEqual(batchMean, tokenWeighted, 3);
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm)]
    [InlineData(RecurrentKind.Gru)]
    [InlineData(RecurrentKind.RnnTanh)]
    public void CarriedStateGivesTheSameLogitsAsRerunningThePrefix(RecurrentKind kind)
    {
        using var random = TestRandom.Use(4);
        using var lm = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = 20, Kind = kind, EmbeddingSize = 8, HiddenSize = 12, Layers = 2 });
        lm.Eval();
        int[] tokens = [1, 5, 7, 3, 19, 2, 8];
        ((Tensor H, Tensor? C) state, float[] logits) = lm.Start(tokens[..2]);
        for (int t = 2; t <= tokens.Length; ++t)
        {
            using var scope = DisposeScope.Begin();
            (Tensor full, _) = lm.Forward(Tensor.From(tokens[..t].Select(x => (long)x).ToArray(), 1, t));
            float[] expected = full[0, -1].ToArray<float>();
            for (int k = 0; k < expected.Length; ++k) Assert.Equal(expected[k], logits[k], 4);
            if (t < tokens.Length) (state, logits) = lm.Advance(state, tokens[t]);
        }
    }

    [Fact]
    public void TiedWeightsShareTheEmbeddingAndGlovePreloadsIt()
    {
        using var lm = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = 5, EmbeddingSize = 50, HiddenSize = 50, TieWeights = true });
        Assert.DoesNotContain(lm.NamedParameters(), p => p.Name.StartsWith("head.", StringComparison.Ordinal));
        Assert.Contains(lm.NamedParameters(), p => p.Name == "head_bias");
        using (var scope = DisposeScope.Begin())
        {
            (Tensor logits, _) = lm.Forward(Tensor.From(new long[] { 1, 2 }, 1, 2));
            logits.Sum().Backward();
            Tensor? g = lm.StateDict()["embedding.weight"].Grad;
            Assert.NotNull(g);
            Assert.True(g!.Abs().Sum().ToDouble() > 0); // the output layer's gradient reaches the shared embedding
        }
        string glove = SharedData.Data("glove", "glove.6B.50d.top5k.txt");
        KeyedVectors kv = KeyedVectors.LoadGlove(glove);
        int found = lm.InitializeEmbeddings(kv, ["<pad>", "the", "zzqqxx", "king", "."], freeze: true);
        Assert.Equal(3, found);
        Assert.Equal(kv["king"].ToArray(), lm.StateDict()["embedding.weight"][3].ToArray<float>());
        Assert.False(lm.StateDict()["embedding.weight"].RequiresGrad);
        Assert.Throws<ArgumentException>(() => new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = 5, EmbeddingSize = 8, HiddenSize = 9, TieWeights = true }));
    }

    [Fact]
    public void GeneratesThroughTheGeneratorWithCarriedState()
    {
        using var random = TestRandom.Use(5);
        using var lm = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = 12, EmbeddingSize = 8, HiddenSize = 8 });
        lm.Eval();
        var greedy = Generator.Generate(lm, [1], new GenerationOptions { Greedy = true, MaxTokens = 6 });
        Assert.Equal(6, greedy.Tokens.Count);
        // With as many beams as tokens, two steps of beam search are exhaustive: compare with all 144 sequences.
        var beam = Generator.Generate(lm, [1], new GenerationOptions { Beams = 12, MaxTokens = 2, LengthPenalty = 0 });
        ((Tensor H, Tensor? C) s0, float[] l0) = lm.Start([1]);
        double[] lp0 = LogitProcessor.LogSoftmax(l0);
        (int A, int B, double Score) best = (-1, -1, double.NegativeInfinity);
        for (int a = 0; a < 12; ++a)
        {
            (_, float[] l1) = lm.Advance(s0, a);
            double[] lp1 = LogitProcessor.LogSoftmax(l1);
            for (int b = 0; b < 12; ++b)
                if (lp0[a] + lp1[b] > best.Score) best = (a, b, lp0[a] + lp1[b]);
        }
        Assert.Equal(new[] { best.A, best.B }, beam.Tokens);
        Assert.Equal(best.Score, beam.LogProbability, 5);
    }
}

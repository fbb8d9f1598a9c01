using Slovo.Evaluation;
using Slovo.Training;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.TestSupport;
using Slovo.Torch;

namespace Slovo.Tests;

/// <summary>GPT training on the shared loop: it learns, a killed run resumes to the same weights, the best model is a Hugging Face folder.</summary>
public class GptTrainingTests
{
    private static GptModel NewModel(LmDataset d, int seed = 11) => RandomGenerator.Seeded((ulong)seed, () => new GptModel(new GptConfig
    {
        Layers = 2, Heads = 2, Width = 16, Positions = 32, VocabSize = d.Vocab.Size,
    }));

    private static float[] Weights(GptModel m) =>
        m.StateDict().OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();

    [Theory]
    [InlineData(GptRows.Packed)]
    [InlineData(GptRows.PerText)]
    public void AKilledGptRunResumesToTheSameWeightsAndItsBestModelLoadsAndGenerates(GptRows rows)
    {
        LmDataset d = LmTrainingTests.Words();
        var o = new GptTrainingOptions
        {
            Epochs = 3, BatchSize = 3, Context = 8, LearningRate = 0.01, MinLearningRate = 0.001, WarmupSteps = 2, Accumulate = 2, Patience = 0,
            Seed = 5, CheckpointEvery = 2, Rows = rows,
        };
        string full = Directory.CreateTempSubdirectory("slovo-gpt-full").FullName, killed = Directory.CreateTempSubdirectory("slovo-gpt-killed").FullName;
        float[] expected;
        LmTrainingResult r1;
        using (GptModel m = NewModel(d))
        {
            r1 = new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, full);
            expected = Weights(m);
            Assert.False(m.Training);
        }
        Assert.Equal(3, r1.History.Count);
        Assert.True(r1.History[^1].TrainLoss < r1.History[0].TrainLoss, "training loss did not fall");
        // Killed at the first checkpoint inside the second epoch; each of its batches takes at least 50 ms.
        TrainingProgress last = default;
        using (GptModel m = NewModel(d))
        {
            var dying = new GptTrainer
            {
                OnStep = p => { Thread.Sleep(50); last = p; },
                OnCheckpoint = _ => { if (last.Epoch == 2 && last.Batch < last.Batches) throw new OperationCanceledException("killed"); },
            };
            Assert.Throws<OperationCanceledException>(() => dying.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed));
        }
        Assert.Equal(2, last.Epoch);
        using (GptModel m = NewModel(d, seed: 99)) // other initial weights: everything must come from the checkpoint
        {
            LmTrainingResult r2 = new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed, resume: true);
            Assert.Equal(expected, Weights(m));
            Assert.Equal(r1.Steps, r2.Steps);
            Assert.Equal(r1.History.Select(h => h.Valid.NllSum), r2.History.Select(h => h.Valid.NllSum));
            // The interrupted epoch reports its time before the kill too.
            Assert.True(r2.History[1].Seconds >= 0.05 * last.Batch, $"epoch 2 took {r2.History[1].Seconds:F3} s, its {last.Batch} batches before the kill at least {0.05 * last.Batch:F2} s");
        }
        using (GptModel m = NewModel(d))
            Assert.Contains("same options", Assert.Throws<InvalidDataException>(() =>
                new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { Context = 6 }, killed, resume: true)).Message);
        using GptModel best = GptModel.FromPretrained(Path.Combine(full, RunFolder.ModelDir));
        Assert.Equal(expected, Weights(best)); // no early stop and a falling loss: the best epoch is the last
        GenerationResult g = Generator.Generate(best, [d.Vocab.SosId], new GenerationOptions { Greedy = true, MaxTokens = 5 });
        Assert.Equal(5, g.Tokens.Count);
    }

    [Fact]
    public void TextRowsStartEveryTextAtItsBeginningAndCutLongOnesIntoOverlappingWindows()
    {
        List<long[]> rows = GptTrainer.TextRows([[1, 2, 3], [4, 5, 6, 7, 8], [9], [10, 11, 12, 13]], context: 3);
        Assert.Equal([[1L, 2, 3], [4L, 5, 6, 7], [7L, 8], [10L, 11, 12, 13]], rows); // [9] has no target
    }

    [Fact]
    public void PaddingIsNeutral_PerTextValidationEqualsEachTextScoredAlone()
    {
        LmDataset d = LmTrainingTests.Words();
        using GptModel m = NewModel(d);
        const int context = 8;
        // Batches of 4 mix lengths (rows padded to their batch's longest); one text per batch has no padding at all.
        LmEvaluation batched = GptTrainer.Evaluate(m, d.Valid, d.ValidChars, context, batchSize: 4, GptRows.PerText);
        double alone = d.Valid.Sum(s => GptTrainer.Evaluate(m, [s], 1, context, batchSize: 1, GptRows.PerText).NllSum);
        Assert.Equal(d.Valid.Sum(s => GptTrainer.TextRows([s], context).Sum(r => r.Length - 1L)), batched.Tokens);
        Assert.Equal(alone, batched.NllSum, alone * 1e-5);
        // By hand for a text of one window (a validation text's first context + 1 ids): the summed NLL of a plain forward pass.
        int[] text = d.Valid[0][..Math.Min(d.Valid[0].Length, context + 1)];
        (Tensor logits, _) = m.Forward(Tensor.From(text[..^1].Select(i => (long)i).ToArray(), 1, text.Length - 1));
        float[] lp = logits.LogSoftmax(-1).Contiguous().ToArray<float>();
        double byHand = -Enumerable.Range(0, text.Length - 1).Sum(t => (double)lp[t * m.VocabSize + text[t + 1]]);
        Assert.Equal(byHand, GptTrainer.Evaluate(m, [text], 1, context, batchSize: 1, GptRows.PerText).NllSum, 1e-3);
        // Packed windows read the same texts with earlier texts as context: another figure over other targets.
        Assert.NotEqual(batched.NllSum, GptTrainer.Evaluate(m, d.Valid, d.ValidChars, context, batchSize: 4).NllSum);
    }
}

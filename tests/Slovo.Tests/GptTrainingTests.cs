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

    [Fact]
    public void AKilledGptRunResumesToTheSameWeightsAndItsBestModelLoadsAndGenerates()
    {
        LmDataset d = LmTrainingTests.Words();
        var o = new GptTrainingOptions
        {
            Epochs = 3, BatchSize = 3, Context = 8, LearningRate = 0.01, MinLearningRate = 0.001, WarmupSteps = 2, Accumulate = 2, Patience = 0,
            Seed = 5, CheckpointEvery = 2,
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
        int checkpoints = 0;
        using (GptModel m = NewModel(d))
        {
            var dying = new GptTrainer { OnCheckpoint = _ => { if (++checkpoints == 3) throw new OperationCanceledException("killed"); } };
            Assert.Throws<OperationCanceledException>(() => dying.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed));
        }
        using (GptModel m = NewModel(d, seed: 99)) // other initial weights: everything must come from the checkpoint
        {
            LmTrainingResult r2 = new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed, resume: true);
            Assert.Equal(expected, Weights(m));
            Assert.Equal(r1.Steps, r2.Steps);
            Assert.Equal(r1.History.Select(h => h.Valid.NllSum), r2.History.Select(h => h.Valid.NllSum));
        }
        using (GptModel m = NewModel(d))
            Assert.Contains("same options", Assert.Throws<InvalidDataException>(() =>
                new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { Context = 6 }, killed, resume: true)).Message);
        using GptModel best = GptModel.FromPretrained(Path.Combine(full, GptTrainer.ModelDir));
        Assert.Equal(expected, Weights(best)); // no early stop and a falling loss: the best epoch is the last
        GenerationResult g = Generator.Generate(best, [d.Vocab.SosId], new GenerationOptions { Greedy = true, MaxTokens = 5 });
        Assert.Equal(5, g.Tokens.Count);
    }
}

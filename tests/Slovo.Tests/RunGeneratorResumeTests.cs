using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Tests;

/// <summary>
/// One-layer models draw every dropout mask from the run's own generator, so these run in parallel with everything
/// else and must still be exact.
/// </summary>
public class RunGeneratorResumeTests
{
    [Theory]
    [InlineData(2, false)]
    [InlineData(100, true)]
    public void AKilledRunResumesExactlyWhileOtherTestsDrawRandomNumbers(int checkpointEvery, bool cosine) =>
        LmTrainingTests.ResumeIsExact(checkpointEvery, cosine, layers: 1);

    [Fact]
    public void TwoRunsOnTwoThreadsAtOnceEndWhereEachWouldAlone()
    {
        LmDataset d = LmTrainingTests.Words();
        var o = new RecurrentLmTrainingOptions { Epochs = 2, BatchSize = 3, Bptt = 5, LearningRate = 0.01, Patience = 0, Seed = 5 };
        float[] Run()
        {
            using RnnLanguageModel m = LmTrainingTests.NewModel(d, layers: 1);
            Assert.False(m.DrawsFromGlobalGenerator);
            new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o);
            return m.StateDict().OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();
        }

        float[] alone = Run();
        var together = new float[2][];
        Parallel.For(0, 2, i =>
        {
            // Noise on the global generator from the same threads must not matter either.
            using (DisposeScope.Begin()) _ = Tensor.Rand(100);
            together[i] = Run();
        });
        Assert.Equal(alone, together[0]);
        Assert.Equal(alone, together[1]);
    }
}

using Slovo.Training;
using Slovo.Classification;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;

namespace Slovo.Tests;

/// <summary>
/// The trainers data-parallel: two ranks (threads of this process, meeting over Gloo on 127.0.0.1), each reading its share
/// of every batch, against one process reading whole batches. Batches of odd size deal the rows unevenly, so the test also
/// shows that each rank's loss is its share of the whole batch's mean.
/// </summary>
public class DataParallelTrainingTests
{
    private const int World = 2;

    private static int FreePort() => Slovo.TestSupport.TestPorts.Free();

    // Runs `work(group)` on World threads, one rank each; returns their results in rank order.
    private static T[] OnRanks<T>(Func<ProcessGroup, T> work)
    {
        int port = FreePort();
        var results = new T[World];
        var errors = new Exception?[World];
        Thread[] ranks = Enumerable.Range(0, World).Select(rank => new Thread(() =>
        {
            try
            {
                using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, rank, World, "127.0.0.1", port, TimeSpan.FromSeconds(60));
                results[rank] = work(group);
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToArray();
        foreach (Thread t in ranks) t.Start();
        foreach (Thread t in ranks) Assert.True(t.Join(TimeSpan.FromSeconds(180)), "a rank did not finish");
        if (errors.FirstOrDefault(e => e is not null) is { } first) throw new InvalidOperationException("a rank failed: " + first.Message, first);
        return results;
    }

    private static float[] Weights(Module m) =>
        m.StateDict().OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();

    private static double Worst(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static RnnLanguageModel Lstm(LmDataset d) => RandomGenerator.Seeded(3, () => new RnnLanguageModel(new RnnLanguageModelOptions
    {
        VocabSize = d.Vocab.Size, EmbeddingSize = 8, HiddenSize = 12, Layers = 1, Dropout = 0, PadId = d.Vocab.PadId,
    }));

    [Fact]
    public void TwoRanksTrainAnLstmLanguageModelToTheWeightsOfOneProcessAndOnlyRankZeroWrites()
    {
        LmDataset d = LmTrainingTests.Words();
        // Batches of 5 sequences (dealt 3 + 2), windows of 4 positions: 10 optimizer steps over one epoch, padding included.
        var o = new RecurrentLmTrainingOptions { Epochs = 1, BatchSize = 5, Bptt = 4, LearningRate = 0.003, Patience = 0, Seed = 2, CheckpointEvery = 1000 };
        float[] single;
        LmTrainingResult alone;
        using (RnnLanguageModel m = Lstm(d))
        {
            alone = new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o);
            single = Weights(m);
        }
        Assert.Equal(10, alone.Steps);

        string dir = Directory.CreateTempSubdirectory("slovo-ddp-lm").FullName;
        var runs = OnRanks(group =>
        {
            using RnnLanguageModel m = Lstm(d);
            LmTrainingResult r = new RecurrentLmTrainer { Group = group }.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, dir);
            return (r, Weights(m));
        });
        Assert.Equal(runs[0].Item2, runs[1].Item2);                  // the ranks end with the same weights
        double worst = Worst(single, runs[0].Item2);
        Assert.True(worst < 1e-6, $"largest difference from one process: {worst:E2}");
        Assert.NotEqual(Weights(Lstm(d)), single);                   // and training moved them
        Assert.Equal(alone.Steps, runs[1].r.Steps);
        // Validation, each rank on half the texts, summed over both: the figures of one process.
        Assert.Equal(alone.BestValid.Tokens, runs[0].r.BestValid.Tokens);
        Assert.Equal(alone.BestValid.NllSum, runs[1].r.BestValid.NllSum, 1e-3);
        Assert.Equal(alone.History[0].TrainLoss, runs[0].r.History[0].TrainLoss, 1e-5);
        Assert.True(File.Exists(Path.Combine(dir, RunFolder.CheckpointFile)) && File.Exists(Path.Combine(dir, RunFolder.SummaryFile)));

        // The run's checkpoint says two processes wrote it: one process may not resume it.
        using RnnLanguageModel again = Lstm(d);
        var e = Assert.Throws<InvalidDataException>(() => new RecurrentLmTrainer().Train(again, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { Epochs = 2 }, dir, resume: true));
        Assert.Contains("written by a run of 2 process(es) and this one has 1", e.Message);
        Assert.Contains("slovo launch --nproc 2", e.Message);
    }

    [Theory]
    [InlineData(GptRows.Packed)]
    [InlineData(GptRows.PerText)] // rows of unequal length: each rank pads its own share, the loss is divided by the whole batch's targets
    public void TwoRanksTrainAGptToTheWeightsOfOneProcess(GptRows rows)
    {
        LmDataset d = LmTrainingTests.Words();
        // Adam-style updates are about the learning rate in size whatever the gradient's, so a rounding difference in a tiny
        // gradient (the two ways of summing differ in the last bits) moves a weight by up to a fraction of the rate: a modest rate.
        var o = new GptTrainingOptions { Epochs = 2, BatchSize = 3, Context = 8, LearningRate = 0.001, MinLearningRate = 0.0003, WarmupSteps = 2, Accumulate = 2, Patience = 0, Seed = 4, Rows = rows };
        GptModel Gpt() => RandomGenerator.Seeded(5, () => new GptModel(new GptConfig
        {
            Layers = 2, Heads = 2, Width = 16, Positions = 16, VocabSize = d.Vocab.Size, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0,
        }));
        float[] single;
        LmTrainingResult alone;
        using (GptModel m = Gpt())
        {
            alone = new GptTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o);
            single = Weights(m);
        }
        var runs = OnRanks(group =>
        {
            using GptModel m = Gpt();
            LmTrainingResult r = new GptTrainer { Group = group }.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o);
            return (r, Weights(m));
        });
        Assert.Equal(runs[0].Item2, runs[1].Item2);
        double worst = Worst(single, runs[0].Item2);
        Assert.True(worst < 1e-6, $"largest difference from one process: {worst:E2} after {alone.Steps} steps");
        Assert.Equal(alone.Steps, runs[0].r.Steps);
        Assert.Equal(alone.BestValid.NllSum, runs[0].r.BestValid.NllSum, 1e-3);
    }

    [Fact]
    public void TwoRanksTrainAClassifierToTheWeightsOfOneProcess()
    {
        string[] good = ["a good film", "good acting and good music", "truly good", "good good good", "the plot was good", "good fun", "good"];
        string[] bad = ["a bad film", "bad acting and bad music", "truly bad", "bad bad bad", "the plot was bad", "bad fun"];
        var texts = good.Concat(bad).ToList();
        var labels = good.Select(_ => 1).Concat(bad.Select(_ => 0)).ToList();
        WordVocabulary vocab = WordVocabulary.Build(texts);
        EncodedSet set = EncodedSet.Create(vocab, texts, labels);
        TextClassifier Model() => RandomGenerator.Seeded(7, () => new TextClassifier(new ClassifierOptions
        {
            VocabSize = vocab.Size, Encoder = EncoderKind.Lstm, EmbeddingSize = 8, HiddenSize = 8, Dropout = 0,
        }));
        var o = new ClassifierTrainingOptions { Epochs = 3, Patience = 0, BatchSize = 5, LearningRate = 0.003 };
        float[] single;
        ClassifierTrainingResult alone;
        using (TextClassifier m = Model())
        {
            alone = ClassifierTrainer.Train(m, set, set, o);
            single = Weights(m);
        }
        var runs = OnRanks(group =>
        {
            using TextClassifier m = Model();
            ClassifierTrainingResult r = ClassifierTrainer.Train(m, set, set, o with { Group = group });
            return (r, Weights(m));
        });
        Assert.Equal(runs[0].Item2, runs[1].Item2);
        double worst = Worst(single, runs[0].Item2);
        Assert.True(worst < 1e-6, $"largest difference from one process: {worst:E2}");
        Assert.Equal(alone.History.Select(h => h.ValidAccuracy), runs[1].r.History.Select(h => h.ValidAccuracy));
    }
}

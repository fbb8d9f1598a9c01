using Slovo.LanguageModels;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Torch.Tests;

/// <summary>DistributedDataParallel against the thing it must equal: one process training on the ranks' batches put together.</summary>
public class DataParallelTests
{
    private const int Vocab = 17, Steps = 10, RowsPerRank = 4, Length = 6;

    private static int FreePort() => Slovo.TestSupport.TestPorts.Free();

    // A small LSTM language model, dropout off; its weights drawn from its own seeded generator.
    private static RnnLanguageModel Model(ulong seed) =>
        RandomGenerator.Seeded(seed, () => new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = Vocab, EmbeddingSize = 8, HiddenSize = 12, Layers = 2, Dropout = 0 }));

    // Step s's batch for rank r (rows RowsPerRank·r … RowsPerRank·(r+1)−1 of the step's whole batch): inputs and next tokens.
    private static (long[] Inputs, long[] Targets) Batch(int step, int firstRow, int rows)
    {
        var inputs = new long[rows * Length];
        var targets = new long[rows * Length];
        for (int r = 0; r < rows; ++r)
        {
            var rng = new Random(1000 * step + firstRow + r);
            long[] seq = Enumerable.Range(0, Length + 1).Select(_ => (long)rng.Next(Vocab)).ToArray();
            Array.Copy(seq, 0, inputs, r * Length, Length);
            Array.Copy(seq, 1, targets, r * Length, Length);
        }
        return (inputs, targets);
    }

    private static void TrainStep(RnnLanguageModel model, Optimizer opt, int step, int firstRow, int rows, DistributedDataParallel? ddp)
    {
        using var scope = DisposeScope.Begin();
        (long[] inputs, long[] targets) = Batch(step, firstRow, rows);
        opt.ZeroGrad();
        (Tensor logits, _) = model.Forward(Tensor.From(inputs, rows, Length));
        Tensor loss = Losses.CrossEntropy(logits.Reshape(-1, Vocab), Tensor.From(targets));
        loss.Backward();
        ddp?.SynchronizeGradients();
        opt.Step();
    }

    [Fact]
    public void TwoRanksTrainToTheParametersOfOneProcessOnTheJoinedBatches()
    {
        // One process, the whole batch of both ranks each step, from rank 0's starting weights.
        using RnnLanguageModel single = Model(1);
        using (var opt = new SGD(single.Parameters(), lr: 0.5))
            for (int s = 0; s < Steps; ++s) TrainStep(single, opt, s, 0, 2 * RowsPerRank, null);
        float[] expected = single.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();

        int port = FreePort();
        var results = new float[2][];
        var errors = new Exception?[2];
        Thread[] ranks = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, rank, 2, "127.0.0.1", port, TimeSpan.FromSeconds(30));
                using RnnLanguageModel model = Model((ulong)(1 + rank));      // rank 1 starts elsewhere: the broadcast must fix that
                var ddp = new DistributedDataParallel(model, group, bucketBytes: 1024);   // small buckets: several all-reduces per step
                using var opt = new SGD(model.Parameters(), lr: 0.5);
                for (int s = 0; s < Steps; ++s) TrainStep(model, opt, s, rank * RowsPerRank, RowsPerRank, ddp);
                results[rank] = model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToArray();
        foreach (Thread t in ranks) t.Start();
        foreach (Thread t in ranks) Assert.True(t.Join(TimeSpan.FromSeconds(120)), "a rank did not finish");
        if (errors.FirstOrDefault(e => e is not null) is { } first) throw new InvalidOperationException("a rank failed", first);

        Assert.Equal(results[0], results[1]);                                  // the ranks agree exactly
        double worst = expected.Zip(results[0], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-6, $"largest difference from one process on the joined batches: {worst:E2}");
        Assert.NotEqual(Model(1).Parameters().SelectMany(p => p.ToArray<float>()), expected);   // and training moved them
    }

    [Fact]
    public void NoSyncAccumulatesLocallyAndTheSamplerDealsEqualShards()
    {
        int port = FreePort();
        var grads = new float[2][];
        var errors = new Exception?[2];
        Thread[] ranks = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, rank, 2, "127.0.0.1", port, TimeSpan.FromSeconds(30));
                using var w = Tensor.From(new float[] { 1, 2 }, 2).RequiresGrad_();
                var module = new ParameterHolder(w);
                var ddp = new DistributedDataParallel(module, group);
                using (ddp.NoSync())
                {
                    using Tensor loss = w.Mul(rank + 1).Sum();       // gradient (rank + 1, rank + 1), kept local
                    loss.Backward();
                    ddp.SynchronizeGradients();
                }
                using (Tensor g = w.Grad!) grads[rank] = g.ToArray<float>();
                module.Dispose();
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToArray();
        foreach (Thread t in ranks) t.Start();
        foreach (Thread t in ranks) Assert.True(t.Join(TimeSpan.FromSeconds(60)));
        if (errors.FirstOrDefault(e => e is not null) is { } first) throw new InvalidOperationException("a rank failed", first);
        Assert.Equal([1f, 1f], grads[0]);
        Assert.Equal([2f, 2f], grads[1]);

        // 10 examples over 3 ranks: 4 each (two repeated), every example dealt, the same order on every rank, a new one per epoch.
        var samplers = Enumerable.Range(0, 3).Select(r => new DistributedSampler(10, r, 3, seed: 7)).ToArray();
        int[][] shards = samplers.Select(s => s.Indices()).ToArray();
        Assert.All(shards, s => Assert.Equal(4, s.Length));
        Assert.Equal(Enumerable.Range(0, 10), shards.SelectMany(s => s).Distinct().Order());
        foreach (var s in samplers) s.Epoch = 1;
        Assert.NotEqual(shards[0], samplers[0].Indices());
    }

    private sealed class ParameterHolder : Module
    {
        public ParameterHolder(Tensor w) => RegisterParameter("w", w);
    }
}

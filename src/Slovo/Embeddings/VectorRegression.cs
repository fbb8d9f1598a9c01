using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Training;

namespace Slovo.Embeddings;

/// <summary>The OOV models' part of the training loop: regress known words' vectors from the words themselves.</summary>
internal sealed class VectorRegression(KeyedVectors vectors, IReadOnlyList<string> words, Func<IReadOnlyList<string>, Tensor> forward, OovLoss loss, int batchSize, int seed)
    : ITrainingTask<int[], double>
{
    private readonly Random _rng = new(seed);
    private readonly int[] _order = Enumerable.Range(0, words.Count).ToArray();

    /// <summary>
    /// Runs <paramref name="epochs"/> passes over <paramref name="words"/> in shuffled batches (seeded): predicts each
    /// batch's vectors with <paramref name="forward"/> (B words → (B, D)) and steps <paramref name="optimizer"/> on the
    /// loss; <paramref name="onProgress"/> sees every batch.
    /// </summary>
    public static void Fit(Module model, KeyedVectors vectors, IReadOnlyList<string> words, Func<IReadOnlyList<string>, Tensor> forward, Optimizer optimizer,
                           OovLoss loss, int epochs, int batchSize, int seed, Action<TrainingProgress>? onProgress)
    {
        using var loop = new TrainingLoop(model, optimizer, new TrainingLoopOptions { Epochs = epochs, Seed = seed }) { OnProgress = onProgress };
        loop.Run(new VectorRegression(vectors, words, forward, loss, batchSize, seed), new TrainingState<double>(), keepBestInMemory: false);
    }

    // One shuffle stream over all epochs (epochs are asked for in order).
    public IReadOnlyList<int[]> Batches(int epoch) => ShuffledBatches.Next(_order, _rng, batchSize);

    public BatchLoss TrainBatch(int[] batch, TrainingLoop loop)
    {
        using var scope = DisposeScope.Begin();
        double value = 0;
        loop.Step(() =>
        {
            var target = new float[batch.Length * vectors.Dimension];
            for (int b = 0; b < batch.Length; ++b) vectors[words[batch[b]]].CopyTo(target.AsSpan(b * vectors.Dimension));
            Tensor y = Tensor.From(target, batch.Length, vectors.Dimension);                 // (B, D)
            Tensor predicted = forward(batch.Select(i => words[i]).ToList());                // (B, D)
            Tensor l = loss == OovLoss.Mse ? Losses.MSE(predicted, y) : Losses.Cosine(predicted, y);
            value = l.ToDouble();
            return l;
        });
        return new BatchLoss(value, 1); // the epoch's loss is the mean of its batches' losses
    }

    public EpochOutcome<double> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore) =>
        new(trainLoss, double.NaN);

    public void KeepBest() { }

    public void SaveCheckpoint(TrainingState<double> state) { }
}

using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Training;

namespace Slovo.Embeddings;

/// <summary>The OOV models' training: regress known words' vectors from the words themselves.</summary>
internal static class VectorRegression
{
    /// <summary>
    /// Runs <paramref name="epochs"/> passes over <paramref name="words"/> in shuffled batches (seeded): predicts each
    /// batch's vectors with <paramref name="forward"/> (B words → (B, D)) and steps <paramref name="optimizer"/> on the
    /// loss; <paramref name="onProgress"/> sees every batch.
    /// </summary>
    public static void Fit(Module model, KeyedVectors vectors, IReadOnlyList<string> words, Func<IReadOnlyList<string>, Tensor> forward, Optimizer optimizer,
                           OovLoss loss, int epochs, int batchSize, int seed, Action<TrainingProgress>? onProgress)
    {
        using var loop = new TrainingLoop(model, optimizer, new TrainingOptions { Epochs = epochs, Seed = seed }) { OnProgress = onProgress };
        new ShuffledLossTask(words.Count, batchSize, seed, batch =>
        {
            var target = new float[batch.Length * vectors.Dimension];
            for (int b = 0; b < batch.Length; ++b) vectors[words[batch[b]]].CopyTo(target.AsSpan(b * vectors.Dimension));
            Tensor y = Tensor.From(target, batch.Length, vectors.Dimension);                 // (B, D)
            Tensor predicted = forward(batch.Select(i => words[i]).ToList());                // (B, D)
            return loss == OovLoss.Mse ? Losses.MSE(predicted, y) : Losses.Cosine(predicted, y);
        }).Run(loop);
    }
}

using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Embeddings;

/// <summary>The training loop shared by the OOV models: regress known words' vectors from the words themselves.</summary>
internal static class VectorRegression
{
    /// <summary>
    /// Runs <paramref name="epochs"/> passes over <paramref name="words"/> in shuffled batches (seeded): predicts each
    /// batch's vectors with <paramref name="forward"/> (B words → (B, D)) and steps <paramref name="optimizer"/> on the loss.
    /// </summary>
    public static void Fit(KeyedVectors vectors, IReadOnlyList<string> words, Func<IReadOnlyList<string>, Tensor> forward, Optimizer optimizer,
                           OovLoss loss, int epochs, int batchSize, int seed, IProgress<(int Epoch, double Loss)>? progress)
    {
        var rng = new Random(seed);
        int[] order = Enumerable.Range(0, words.Count).ToArray();
        for (int epoch = 1; epoch <= epochs; ++epoch)
        {
            rng.Shuffle(order);
            double total = 0;
            int batches = 0;
            for (int start = 0; start < order.Length; start += batchSize)
            {
                using var scope = DisposeScope.Begin();
                var batch = order.Skip(start).Take(batchSize).Select(i => words[i]).ToList();
                var target = new float[batch.Count * vectors.Dimension];
                for (int b = 0; b < batch.Count; ++b) vectors[batch[b]].CopyTo(target.AsSpan(b * vectors.Dimension));
                Tensor y = Tensor.From(target, batch.Count, vectors.Dimension);                 // (B, D)
                optimizer.ZeroGrad();
                Tensor predicted = forward(batch);                                              // (B, D)
                Tensor l = loss == OovLoss.Mse ? Losses.MSE(predicted, y) : Losses.Cosine(predicted, y);
                l.Backward();
                optimizer.Step();
                total += l.ToDouble();
                ++batches;
            }
            progress?.Report((epoch, total / Math.Max(1, batches)));
        }
    }
}

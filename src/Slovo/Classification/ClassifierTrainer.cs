using System.Diagnostics;
using System.Text.Json.Serialization;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;
using Slovo.Training;
using Slovo.Text;

namespace Slovo.Classification;

/// <summary>Texts encoded for a classifier: ids (each at least one token) and labels.</summary>
public sealed record EncodedSet(IReadOnlyList<int[]> Ids, IReadOnlyList<int> Labels)
{
    /// <summary>Encodes texts with a vocabulary, truncated to <paramref name="maxLength"/> tokens; an empty text becomes one &lt;unk&gt;.</summary>
    public static EncodedSet Create(Vocabulary vocab, IReadOnlyList<string> texts, IReadOnlyList<int>? labels = null, int maxLength = 256)
    {
        var ids = new int[texts.Count][];
        Parallel.For(0, texts.Count, i =>
        {
            int[] e = vocab.Encode(texts[i]);
            ids[i] = e.Length == 0 ? [vocab.UnkId] : e.Length > maxLength ? e[..maxLength] : e;
        });
        return new EncodedSet(ids, labels ?? new int[texts.Count]);
    }
}

/// <summary>Settings of <see cref="ClassifierTrainer"/>: the same for every model of a fair comparison.</summary>
public sealed record ClassifierTrainingOptions : TrainingOptions
{
    /// <summary>A classifier's defaults: 5 epochs of 64 texts, Adam at 1e-3, clipping at 5, patience 2.</summary>
    public ClassifierTrainingOptions()
    {
        (Epochs, BatchSize, LearningRate, Clip, Patience) = (5, 64, 1e-3, 5.0, 2);
    }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (WeightDecay != 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "the recurrent and CNN classifiers train with Adam, without weight decay");
        if (Accumulate != 1) throw new ArgumentOutOfRangeException(nameof(Accumulate), Accumulate, "the classifiers step once per batch; they do not accumulate");
    }

    /// <summary>Trains data-parallel over this group's ranks when it has more than one: each rank reads its share of every batch
    /// and of the validation texts, and all end with the same weights (see <see cref="TrainingLoop.DataParallel"/>).</summary>
    [JsonIgnore] public ProcessGroup? Group { get; init; }
}

/// <summary>One epoch of classifier training.</summary>
public sealed record ClassifierEpoch(int Epoch, double TrainLoss, double ValidAccuracy, double Seconds);

/// <summary>What training did; the model holds the weights of <see cref="BestEpoch"/>.</summary>
public sealed record ClassifierTrainingResult(IReadOnlyList<ClassifierEpoch> History, int BestEpoch, double BestValidAccuracy, double Seconds);

/// <summary>Trains a <see cref="TextClassifier"/> with Adam and cross-entropy; keeps the weights of the best validation epoch.</summary>
public static class ClassifierTrainer
{
    /// <summary>Length-bucketed batches of indices (shuffled with <paramref name="rng"/>, in order without).</summary>
    public static List<int[]> Batches(IReadOnlyList<int[]> ids, int batchSize, Random? rng) =>
        LengthBuckets.Groups(ids.Select(x => x.Length).ToList(), batchSize, rng);

    private static (Tensor Ids, Tensor Lengths) Pack(TextClassifier model, IReadOnlyList<int[]> ids, int[] rows)
    {
        (int padId, int minLength) = (model.Options.PadId, model.MinLength);
        int length = Math.Max(minLength, rows.Max(r => ids[r].Length));
        var x = new long[rows.Length * length];
        Array.Fill(x, padId);
        var lens = new long[rows.Length];
        for (int b = 0; b < rows.Length; ++b)
        {
            int[] s = ids[rows[b]];
            for (int t = 0; t < s.Length; ++t) x[b * length + t] = s[t];
            lens[b] = s.Length;
        }
        return (model.ToDevice(Tensor.From(x, rows.Length, length)), model.ToDevice(Tensor.From(lens)));
    }

    /// <summary>Trains; <paramref name="onEpoch"/> sees each epoch, <paramref name="onBatch"/> each batch.</summary>
    public static ClassifierTrainingResult Train(TextClassifier model, EncodedSet train, EncodedSet valid, ClassifierTrainingOptions o,
                                                 Action<ClassifierEpoch>? onEpoch = null, Action<TrainingProgress>? onBatch = null)
    {
        if (train.Ids.Count == 0 || valid.Ids.Count == 0) throw new ArgumentException("training and validation sets must not be empty", nameof(train));
        if (train.Labels.Any(l => l < 0 || l >= model.Options.Classes))
            throw new ArgumentException($"training labels must lie in [0, {model.Options.Classes})", nameof(train));
        var clock = Stopwatch.StartNew();
        using var opt = new Adam(model.Parameters().Where(p => p.RequiresGrad), lr: o.LearningRate);
        using var loop = new TrainingLoop(model, opt, o)
        {
            OnProgress = onBatch, DataParallel = DataParallelTraining.Wrap(model, o.Group),
        };
        var state = new TrainingState<ClassifierEpoch>();
        loop.Run(new TrainingTask(model, train, valid, o, onEpoch), state, keepBestInMemory: true);
        return new ClassifierTrainingResult(state.History, state.BestEpoch, state.BestScore ?? double.NaN, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The classifier's part of the training loop: length-bucketed batches, cross-entropy, validation accuracy.</summary>
    private sealed class TrainingTask(TextClassifier model, EncodedSet train, EncodedSet valid, ClassifierTrainingOptions o, Action<ClassifierEpoch>? onEpoch)
        : ITrainingTask<int[], ClassifierEpoch>
    {
        public IReadOnlyList<int[]> Batches(int epoch) => ClassifierTrainer.Batches(train.Ids, o.BatchSize, new Random(unchecked(o.Seed * 1_000_003 + epoch + 1)));

        public BatchLoss TrainBatch(int[] whole, TrainingLoop loop)
        {
            using var scope = DisposeScope.Begin();
            (int first, int count) = loop.Shard(whole.Length);
            int[] batch = whole[first..(first + count)];
            if (batch.Length == 0)
            {
                loop.Step(() => null); // no texts here: the other ranks' gradients still come through
                return new BatchLoss(0, 0);
            }
            double l = 0;
            loop.Step(() =>
            {
                (Tensor x, Tensor lengths) = Pack(model, train.Ids, batch);
                Tensor y = model.ToDevice(Tensor.From(batch.Select(i => (long)train.Labels[i]).ToArray()));
                Tensor logits = model.Forward(x, lengths);
                // Data-parallel, a rank's share of the whole batch's mean: its texts' summed loss over the whole batch's count.
                Tensor loss = batch.Length == whole.Length ? Losses.CrossEntropy(logits, y) : Losses.CrossEntropy(logits, y, reduction: Reduction.Sum) / whole.Length;
                l = loss.ToDouble() * whole.Length / batch.Length;
                return loss;
            });
            return new BatchLoss(l * batch.Length, batch.Length);
        }

        public EpochOutcome<ClassifierEpoch> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore)
        {
            double accuracy = Accuracy(model, valid, o.Group);
            var report = new ClassifierEpoch(epoch, trainLoss, accuracy, seconds);
            onEpoch?.Invoke(report);
            return new EpochOutcome<ClassifierEpoch>(report, accuracy);
        }

        public void KeepBest() { }

        public void SaveCheckpoint(TrainingState<ClassifierEpoch> state) { }
    }

    /// <summary>Class probabilities (N, C) for every text of <paramref name="set"/>, in order.</summary>
    public static float[][] Probabilities(TextClassifier model, EncodedSet set, int batchSize = 128)
    {
        model.Eval();
        using var noGrad = LibTorch.NoGrad();
        var result = new float[set.Ids.Count][];
        foreach (int[] rows in Batches(set.Ids, batchSize, null))
        {
            using var scope = DisposeScope.Begin();
            (Tensor x, Tensor lengths) = Pack(model, set.Ids, rows);
            float[] p = model.Forward(x, lengths).Softmax(1).ToArray<float>();                  // (B, C)
            int c = model.Options.Classes;
            for (int b = 0; b < rows.Length; ++b) result[rows[b]] = p.AsSpan(b * c, c).ToArray();
        }
        return result;
    }

    /// <summary>The most likely class of every text.</summary>
    public static int[] Predict(TextClassifier model, EncodedSet set) =>
        Probabilities(model, set).Select(p => Array.IndexOf(p, p.Max())).ToArray();

    /// <summary>Accuracy on a labelled set.</summary>
    public static double Accuracy(TextClassifier model, EncodedSet set)
    {
        int[] predicted = Predict(model, set);
        return predicted.Where((p, i) => p == set.Labels[i]).Count() / (double)predicted.Length;
    }

    // Data-parallel, each rank scores every W-th text and the counts are added up.
    private static double Accuracy(TextClassifier model, EncodedSet set, ProcessGroup? group)
    {
        if (group is not { WorldSize: > 1 } g) return Accuracy(model, set);
        int[] mine = Enumerable.Range(0, set.Ids.Count).Where(i => i % g.WorldSize == g.Rank).ToArray();
        var part = new EncodedSet(mine.Select(i => set.Ids[i]).ToList(), mine.Select(i => set.Labels[i]).ToList());
        int correct = mine.Length == 0 ? 0 : Predict(model, part).Where((p, i) => p == part.Labels[i]).Count();
        double[] sums = TrainingLoop.SumOverRanks(g, correct, mine.Length);
        return sums[0] / sums[1];
    }
}

using System.Diagnostics;
using System.Text.Json.Serialization;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
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

    /// <summary>Batches of texts of similar length (less padding; the order of batches shuffled), or, when false, batches drawn
    /// from a plain shuffle.</summary>
    public bool GroupByLength { get; init; } = true;

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

    /// <summary>Trains a recurrent or CNN classifier with Adam; <paramref name="onEpoch"/> sees each epoch, <paramref name="onBatch"/> each batch.</summary>
    public static ClassifierTrainingResult Train(TextClassifier model, EncodedSet train, EncodedSet valid, ClassifierTrainingOptions o,
                                                 Action<ClassifierEpoch>? onEpoch = null, Action<TrainingProgress>? onBatch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        if (train.Ids.Count == 0 || valid.Ids.Count == 0) throw new ArgumentException("training and validation sets must not be empty", nameof(train));
        using var opt = new Adam(model.Parameters().Where(p => p.RequiresGrad), lr: o.LearningRate);
        var examples = new Examples(train.Ids.Select(x => x.Length).ToList(), train.Labels, model.Options.Classes, o.GroupByLength, batch =>
        {
            (Tensor x, Tensor lengths) = Pack(model, train.Ids, batch);
            return model.Forward(x, lengths);                                                  // (B, C)
        });
        return Run(model, opt, o, examples, group => Accuracy(model, valid, group), o.Group, onEpoch, onBatch);
    }

    /// <summary>
    /// Fine-tunes a BERT-shaped encoder with its head on labelled texts, on the same task as the other classifiers
    /// (length-bucketed batches, cross-entropy, validation accuracy each epoch, early stopping, the best epoch's weights
    /// kept; with no validation texts, no epoch is scored and the last one's weights stay): AdamW without decay on biases and
    /// LayerNorms, the schedule of <paramref name="o"/> (warm-up, then a cosine).
    /// </summary>
    public static ClassifierTrainingResult Train(BertClassifier model, IReadOnlyList<LabeledText> train, IReadOnlyList<LabeledText> valid, BertFineTuneOptions o,
                                                 Action<ClassifierEpoch>? onEpoch = null, Action<TrainingProgress>? onBatch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        if (train.Count < 2) throw new ArgumentException("fine-tuning needs at least two training texts", nameof(train));
        using var opt = new AdamW(model.Parameters(), lr: o.LearningRate, weightDecay: o.WeightDecay, noWeightDecay: model.NoWeightDecayParameters());
        var lengths = new int[train.Count];
        if (o.GroupByLength) Parallel.For(0, train.Count, i => lengths[i] = model.Encoder.Ids(train[i].Text).Length);
        var examples = new Examples(lengths, train.Select(t => t.Label).ToList(), model.Classes, o.GroupByLength, batch => model.Logits(batch.Select(i => train[i].Text).ToList()));
        List<string> validTexts = valid.Select(v => v.Text).ToList();
        double Accuracy(ProcessGroup? _)
        {
            if (valid.Count == 0) return double.NaN; // nothing held out: every epoch trains on, and the last one's weights are kept
            int[] predicted = model.Predict(validTexts);
            return predicted.Where((x, i) => x == valid[i].Label).Count() / (double)valid.Count;
        }
        return Run(model, opt, o, examples, Accuracy, null, onEpoch, onBatch);
    }

    /// <summary>What the task trains on: each example's length (for bucketing) and label, whether batches group similar
    /// lengths, and the logits (B, C) of a batch of examples.</summary>
    private sealed record Examples(IReadOnlyList<int> Lengths, IReadOnlyList<int> Labels, int Classes, bool GroupByLength, Func<int[], Tensor> Logits);

    private static ClassifierTrainingResult Run(Module model, Optimizer opt, TrainingOptions o, Examples train, Func<ProcessGroup?, double> accuracy, ProcessGroup? group,
                                                Action<ClassifierEpoch>? onEpoch, Action<TrainingProgress>? onBatch)
    {
        if (train.Labels.Any(l => l < 0 || l >= train.Classes)) throw new ArgumentException($"training labels must lie in [0, {train.Classes})", nameof(train));
        var clock = Stopwatch.StartNew();
        using var loop = new TrainingLoop(model, opt, o) { OnProgress = onBatch, DataParallel = DataParallelTraining.Wrap(model, group) };
        var state = new TrainingState<ClassifierEpoch>();
        loop.Run(new TrainingTask(train, accuracy, o, group, onEpoch), state, keepBestInMemory: true);
        model.Eval();
        return new ClassifierTrainingResult(state.History, state.BestEpoch, state.BestScore ?? double.NaN, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Every classifier's part of the training loop: length-bucketed batches, cross-entropy, validation accuracy.</summary>
    private sealed class TrainingTask(Examples train, Func<ProcessGroup?, double> accuracy, TrainingOptions o, ProcessGroup? group, Action<ClassifierEpoch>? onEpoch)
        : ITrainingTask<int[], ClassifierEpoch>
    {
        public IReadOnlyList<int[]> Batches(int epoch)
        {
            if (train.GroupByLength) return LengthBuckets.Groups(train.Lengths, o.BatchSize, new Random(unchecked(o.Seed * 1_000_003 + epoch + 1)));
            // A plain shuffle, reshuffled every epoch from the seed's one stream (the same order for the same epoch on every call).
            var rng = new Random(o.Seed);
            int[] order = Enumerable.Range(0, train.Lengths.Count).ToArray();
            for (int e = 0; e <= epoch; ++e) rng.Shuffle(order);
            return order.Chunk(o.BatchSize).ToList();
        }

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
                Tensor logits = train.Logits(batch);                                                 // (B, C)
                Tensor y = Tensor.From(batch.Select(i => (long)train.Labels[i]).ToArray()).To(logits.Device);
                // Data-parallel, a rank's share of the whole batch's mean: its texts' summed loss over the whole batch's count.
                Tensor loss = batch.Length == whole.Length ? Losses.CrossEntropy(logits, y) : Losses.CrossEntropy(logits, y, reduction: Reduction.Sum) / whole.Length;
                l = loss.ToDouble() * whole.Length / batch.Length;
                return loss;
            });
            return new BatchLoss(l * batch.Length, batch.Length);
        }

        public EpochOutcome<ClassifierEpoch> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore)
        {
            double a = accuracy(group);
            var report = new ClassifierEpoch(epoch, trainLoss, a, seconds);
            onEpoch?.Invoke(report);
            return new EpochOutcome<ClassifierEpoch>(report, a);
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

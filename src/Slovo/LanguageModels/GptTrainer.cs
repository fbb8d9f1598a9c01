using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Evaluation;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.LanguageModels;

// Shapes: B windows per batch, T context, V vocabulary.

/// <summary>Settings of <see cref="GptTrainer"/>: the shared ones with a GPT's defaults, the context and how texts are laid
/// into rows. The same options must be given to continue a run.</summary>
public sealed record GptTrainingOptions : TrainingOptions
{
    /// <summary>A GPT's defaults: 10 epochs of 8 rows, AdamW at 3e-4 with weight decay 0.1, 100 steps of warm-up then a cosine to
    /// a tenth, clipping at 1, patience 2, a checkpoint every 100 batches.</summary>
    public GptTrainingOptions()
    {
        (Epochs, BatchSize, LearningRate, Schedule, WarmupSteps, WeightDecay, Clip, Patience, CheckpointEvery) =
            (10, 8, 3e-4, LearningRateSchedule.Cosine, 100, 0.1, 1.0, 2, 100);
    }

    /// <summary>Positions per window (at most the model's n_positions).</summary>
    public int Context { get; init; } = 256;

    /// <summary>How the texts are laid into rows, for training and validation alike.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public GptRows Rows { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Context < 1) throw new ArgumentOutOfRangeException(nameof(Context), Context, "must be at least 1");
    }
}

/// <summary>How <see cref="GptTrainer"/> lays texts into the rows of a batch.</summary>
public enum GptRows
{
    /// <summary>
    /// All texts run together and are cut into windows of the context: no padding, so the most targets per step, but a
    /// window mostly starts inside a text, with earlier texts as its context. Suits long texts (books, abstracts).
    /// </summary>
    Packed,

    /// <summary>
    /// One text per row from its start (a text longer than the context is cut into windows), padded to the longest row of
    /// its batch, batches bucketed by length; padding is never a target. This is how a completion sees a text, which is
    /// what short texts (tweets, titles, queries) want: a packed model learns their starts mostly at late positions.
    /// </summary>
    PerText,
}

/// <summary>
/// Trains a <see cref="GptModel"/> on id sequences (SOS … EOS) joined into one stream and cut into windows of
/// <see cref="GptTrainingOptions.Context"/> positions, on the shared <see cref="TrainingLoop"/>: AdamW without decay on
/// biases, LayerNorms and embeddings, linear warm-up then cosine, gradient accumulation, clipping, validation each
/// epoch, early stopping, checkpoints and exact resume. With a run folder the best weights are a Hugging Face folder
/// (<c>model/</c>) beside the vocabulary (<c>vocab.json</c>).
/// </summary>
public sealed class GptTrainer
{
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>The checkpoint of a GPT run.</summary>
    public static readonly ModelArchiveKind CheckpointArchive = new("slovo-gpt-lm-checkpoint", "GPT language-model run", "train one with 'slovo lm train --model gpt'", RunFolder.CheckpointFile);

    /// <summary>Called after every batch.</summary>
    public Action<TrainingProgress>? OnStep { get; init; }

    /// <summary>Called after every epoch's validation.</summary>
    public Action<LmEpochReport>? OnEpoch { get; init; }

    /// <summary>Called after every checkpoint is written.</summary>
    public Action<long>? OnCheckpoint { get; init; }

    /// <summary>Trains data-parallel over this group's ranks when it has more than one, as <see cref="RecurrentLmTrainer.Group"/>: each
    /// rank reads its share of every batch's windows and of the validation windows; only rank 0 writes the run folder.</summary>
    public ProcessGroup? Group { get; init; }

    /// <summary>Called with the folder of the best weights each time it is written (to add files beside them, e.g. a chat template).</summary>
    public Action<string>? OnModelSaved { get; init; }

    /// <summary>
    /// A LoRA adapter attached to the model: then only the adapter trains (the model's own weights are frozen and get neither
    /// gradients nor optimizer state), the checkpoint holds the adapter and its optimizer state, and the best weights are the
    /// adapter in PEFT's format (<c>adapter/</c>) instead of a whole model folder.
    /// </summary>
    public LoraAdapter? Adapter { get; init; }

    /// <summary>Checkpoint each block's activations in training (<see cref="CachedDecoder.CheckpointActivations"/>): less memory,
    /// about one more forward pass of compute, the same result.</summary>
    public bool CheckpointActivations { get; init; }

    /// <summary>The stream of every sequence, cut into windows of context + 1 ids (each window's last id is the next one's first).</summary>
    public static List<long[]> Windows(IReadOnlyList<int[]> sequences, int context)
    {
        long[] stream = sequences.SelectMany(s => s).Select(i => (long)i).ToArray();
        var windows = new List<long[]>();
        for (int start = 0; start + 1 < stream.Length; start += context)
            windows.Add(stream[start..Math.Min(stream.Length, start + context + 1)]);
        return windows;
    }

    /// <summary>Each sequence from its start, cut into rows of at most context + 1 ids (a row's last id is the next one's first); rows of 1 id are dropped.</summary>
    public static List<long[]> TextRows(IReadOnlyList<int[]> sequences, int context)
    {
        var rows = new List<long[]>();
        foreach (int[] s in sequences)
            for (int start = 0; start + 1 < s.Length; start += context)
                rows.Add(s[start..Math.Min(s.Length, start + context + 1)].Select(i => (long)i).ToArray());
        return rows;
    }

    // The inputs (B, T) and targets (B·T) of rows of up to T + 1 ids, T the longest row's length - 1: a shorter row's
    // inputs are padded with id 0 after its end (which causal attention keeps out of every real position) and its targets with
    // the cross-entropy's ignored index. Rows of one length, as packed windows are, come out unpadded.
    private static (Tensor Ids, Tensor Targets, long Real) Pad(CachedDecoder model, long[][] rows)
    {
        int t = rows.Max(r => r.Length) - 1;
        var ids = new long[rows.Length * t];
        long[] y = new long[rows.Length * t];
        Array.Fill(y, IgnoredTarget);
        long real = 0;
        for (int b = 0; b < rows.Length; ++b)
        {
            long[] r = rows[b];
            r.AsSpan(0, r.Length - 1).CopyTo(ids.AsSpan(b * t));
            r.AsSpan(1).CopyTo(y.AsSpan(b * t));
            real += r.Length - 1;
        }
        return (model.ToDevice(Tensor.From(ids, rows.Length, t)), model.ToDevice(Tensor.From(y)), real);
    }

    private const long IgnoredTarget = -100; // Losses.CrossEntropy's default ignore index

    /// <summary>Trains <paramref name="model"/>; see <see cref="RecurrentLmTrainer.Train"/> for the arguments, which mean the same here.</summary>
    public LmTrainingResult Train(CachedDecoder model, Vocabulary vocab, IReadOnlyList<int[]> train, IReadOnlyList<int[]> valid, long validChars,
                                  GptTrainingOptions o, string? runDir = null, bool resume = false)
    {
        if (model.VocabSize < vocab.Size) throw new ArgumentException($"the model predicts {model.VocabSize} ids, the vocabulary has {vocab.Size}", nameof(vocab));
        if (o.Context < 1 || o.Context > model.ContextLength)
            throw new ArgumentException($"the context ({o.Context}) must lie in [1, the model's {model.ContextLength} positions]", nameof(o));
        if (resume && runDir is null) throw new ArgumentException("resuming needs the run folder", nameof(resume));
        List<long[]> trainRows = o.Rows == GptRows.PerText ? TextRows(train, o.Context) : Windows(train, o.Context).Where(w => w.Length == o.Context + 1).ToList();
        if (trainRows.Count == 0)
            throw new ArgumentException(o.Rows == GptRows.PerText ? "no training text holds 2 ids or more" : $"the training data holds fewer than {o.Context + 1} ids", nameof(train));
        if (valid.Count == 0) throw new ArgumentException("no validation sequences", nameof(valid));

        if (Adapter is not null && !ReferenceEquals(Adapter.Model, model)) throw new ArgumentException("the adapter is attached to another model", nameof(model));
        if (Adapter is not null) LoraAdapter.FreezeBase(model);
        Module trained = (Module?)Adapter ?? model; // what the optimizer updates and the checkpoint holds
        model.CheckpointActivations = CheckpointActivations;
        using var opt = new AdamW(trained.Parameters(), lr: o.LearningRate, weightDecay: o.WeightDecay,
                                  noWeightDecay: Adapter is null ? model.NoWeightDecayParameters() : []);
        string settings = JsonSerializer.Serialize(model.ConfigRecord, Json) + JsonSerializer.Serialize(o with { Patience = 0 }, Json)
                          + (Adapter is null ? "" : JsonSerializer.Serialize(Adapter.Options, Json));
        RunFolder? run = runDir is null ? null : new RunFolder(runDir, Group).Create();
        var state = resume
            ? LmRun.Resume(run![RunFolder.CheckpointFile], CheckpointArchive, settings, trained, opt, vocab, Json)
            : new TrainingState<LmEpochReport>();
        RunFolder? writes = run is { Writes: true } ? run : null; // data-parallel, only rank 0 writes
        writes?.WriteText(RunFolder.VocabularyFile, vocab.ToJson());
        writes?.WriteJson(RunFolder.TrainingFile, o, Json); // how the run validates, read back when the run is loaded
        using TensorBoardWriter? tb = writes?.OpenTensorBoard();
        var clock = Stopwatch.StartNew();
        var task = new TrainingTask(model, Adapter, vocab, opt, trainRows, valid, validChars, o, settings, writes, tb, OnEpoch, Group, OnModelSaved);
        using var loop = new TrainingLoop(trained, opt, o)
        {
            Log = tb, OnProgress = OnStep, OnCheckpoint = OnCheckpoint, DataParallel = DataParallelTraining.Wrap(trained, Group),
        };
        bool stoppedEarly = loop.Run(task, state, keepBestInMemory: writes is null);
        if (Adapter is not null && writes is not null && writes.Has(RunFolder.AdapterDir)) Adapter.LoadWeights(writes[RunFolder.AdapterDir]);
        else if (Adapter is null && writes is not null && writes.Has(RunFolder.ModelDir)) model.LoadFolderWeights(writes[RunFolder.ModelDir]);
        model.Eval();
        LmTrainingResult result = LmRun.Result(state, stoppedEarly, task.Tokens, clock.Elapsed.TotalSeconds);
        writes?.WriteSummary(LmRun.Summary(model.Kind, model.ConfigRecord, model.ParameterCount(), vocab, o, result));
        return result;
    }

    /// <summary>Token-weighted validation: the NLL summed over every target of the validation stream, read in packed windows.</summary>
    public static LmEvaluation Evaluate(CachedDecoder model, IReadOnlyList<int[]> sequences, long chars, int context, int batchSize = 8) =>
        Evaluate(model, sequences, chars, context, batchSize, GptRows.Packed, null);

    /// <summary>
    /// Token-weighted validation with the texts laid into rows as <paramref name="rows"/> says: packed, the validation stream in
    /// windows (each target sees the texts before its own); per text, every text from its start, as such a run trains.
    /// </summary>
    public static LmEvaluation Evaluate(CachedDecoder model, IReadOnlyList<int[]> sequences, long chars, int context, int batchSize, GptRows rows) =>
        Evaluate(model, sequences, chars, context, batchSize, rows, null);

    // Data-parallel, each rank reads every W-th window and the sums are added up over the ranks.
    private static LmEvaluation Evaluate(CachedDecoder model, IReadOnlyList<int[]> sequences, long chars, int context, int batchSize, GptRows layout, ProcessGroup? ranks)
    {
        model.Eval();
        using var noGrad = LibTorch.NoGrad();
        double nll = 0;
        long tokens = 0;
        List<long[]> windows = layout == GptRows.PerText ? TextRows(sequences, context) : Windows(sequences, context);
        if (ranks is { WorldSize: > 1 }) windows = windows.Where((_, i) => i % ranks.WorldSize == ranks.Rank).ToList();
        IEnumerable<long[][]> batches = layout == GptRows.PerText
            ? LengthBuckets.Groups(windows.Select(w => w.Length).ToList(), batchSize).Select(g => g.Select(i => windows[i]).ToArray())
            : windows.GroupBy(w => w.Length).SelectMany(group => group.Chunk(batchSize));
        foreach (long[][] rows in batches)
        {
            using var scope = DisposeScope.Begin();
            (Tensor ids, Tensor y, long real) = Pad(model, rows);                                                  // (B, T), (B·T)
            (Tensor logits, _) = model.Forward(ids);                                                              // (B, T, V)
            nll += Losses.CrossEntropy(logits.Reshape(-1, model.VocabSize), y, ignoreIndex: IgnoredTarget, reduction: Reduction.Sum).ToDouble();
            tokens += real;
        }
        double[] sums = TrainingLoop.SumOverRanks(ranks, nll, tokens);
        return new LmEvaluation(sums[0], (long)sums[1], chars);
    }

    private sealed class TrainingTask(CachedDecoder model, LoraAdapter? adapter, Vocabulary vocab, Optimizer opt, List<long[]> windows, IReadOnlyList<int[]> valid, long validChars,
                                      GptTrainingOptions o, string settings, RunFolder? run, TensorBoardWriter? tb, Action<LmEpochReport>? onEpoch,
                                      ProcessGroup? ranks, Action<string>? onModelSaved)
        : ITrainingTask<long[][], LmEpochReport>
    {
        public long Tokens { get; private set; }

        public IReadOnlyList<long[][]> Batches(int epoch)
        {
            var rng = new Random(unchecked(o.Seed * 1_000_003 + epoch));
            if (o.Rows == GptRows.PerText)
                return LengthBuckets.Groups(windows.Select(w => w.Length).ToList(), o.BatchSize, rng).Select(g => g.Select(i => windows[i]).ToArray()).ToList();
            int[] order = Enumerable.Range(0, windows.Count).ToArray();
            rng.Shuffle(order);
            return order.Chunk(o.BatchSize).Select(c => c.Select(i => windows[i]).ToArray()).ToList();
        }

        public BatchLoss TrainBatch(long[][] whole, TrainingLoop loop)
        {
            using var scope = DisposeScope.Begin();
            long total = whole.Sum(r => r.Length - 1L); // every rank's share is divided by the whole batch's targets
            (int first, int count) = loop.Shard(whole.Length);
            long[][] batch = whole[first..(first + count)];
            double nll = 0;
            if (batch.Length == 0)
            {
                loop.Step(() => null); // no windows here: the other ranks' gradients still come through
                return new BatchLoss(0, 0);
            }
            int parts = Math.Min(o.Accumulate, batch.Length);
            var steps = batch.Chunk((batch.Length + parts - 1) / parts).Select(rows => (Func<Tensor?>)(() =>
            {
                (Tensor ids, Tensor y, _) = Pad(model, rows);                                                          // (b, T), (b·T)
                (Tensor logits, _) = model.Forward(ids);                                                               // (b, T, V)
                Tensor sum = Losses.CrossEntropy(logits.Reshape(-1, model.VocabSize), y, ignoreIndex: IgnoredTarget, reduction: Reduction.Sum);
                nll += sum.ToDouble();
                return sum / total; // the parts add up to the batch's mean
            })).ToList();
            loop.Step(steps);
            long mine = batch.Sum(r => r.Length - 1L);
            Tokens += mine;
            return new BatchLoss(nll, mine);
        }

        public EpochOutcome<LmEpochReport> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore)
        {
            LmEvaluation v = Evaluate(model, valid, validChars, o.Context, o.BatchSize, o.Rows, ranks);
            return LmRun.EndEpoch(v, tb, epoch, trainLoss, seconds, itemsPerSecond, step, bestScore, onEpoch);
        }

        // A subword vocabulary is a tokenizer.json: with it the model folder is a whole Hugging Face model.
        public void KeepBest()
        {
            if (adapter is not null) run?.Save(RunFolder.AdapterDir, adapter.Save);
            else KeepModel();
        }

        private void KeepModel() => run?.Save(RunFolder.ModelDir, dir =>
        {
            model.SaveFolder(dir);
            if (vocab is SubwordVocabulary s) AtomicFile.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson.ToJson(s.Tokenizer));
            onModelSaved?.Invoke(dir);
        });

        public void SaveCheckpoint(TrainingState<LmEpochReport> state) =>
            run?.Save(RunFolder.CheckpointFile, path => LmRun.Checkpoint(path, CheckpointArchive, settings, (Module?)adapter ?? model, opt, vocab, state, Json));
    }
}

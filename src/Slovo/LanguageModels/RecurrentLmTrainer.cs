using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;
using Slovo.Training;
using Slovo.Text;
using Slovo.Evaluation;

namespace Slovo.LanguageModels;

// Shapes: B batch rows, W window length (≤ Bptt), V vocabulary.

/// <summary>
/// Trains an <see cref="RnnLanguageModel"/> with Adam on length-bucketed batches, truncated back-propagation, validation
/// each epoch and early stopping; the best weights are back in the model at the end, in evaluation mode. With a run folder it writes
/// <c>checkpoint.safetensors</c> (everything to continue exactly), <c>model.safetensors</c> (the best weights and the
/// vocabulary, for generation), TensorBoard events and <c>summary.json</c>, all atomically.
/// </summary>
public sealed class RecurrentLmTrainer
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Called after every batch.</summary>
    public Action<TrainingProgress>? OnStep { get; init; }

    /// <summary>Called after every epoch's validation.</summary>
    public Action<LmEpochReport>? OnEpoch { get; init; }

    /// <summary>Called after every checkpoint is written (tests use it to stop a run at a known point).</summary>
    public Action<long>? OnCheckpoint { get; init; }

    /// <summary>
    /// Trains data-parallel over this group's ranks when it has more than one (see <see cref="TrainingLoop.DataParallel"/>):
    /// every rank is given the same data and options, reads its share of the rows of each batch and of the validation
    /// texts, and ends with the same weights; only rank 0 writes the run folder (the others read it to resume).
    /// </summary>
    public ProcessGroup? Group { get; init; }

    /// <summary>The checkpoint of a language-model run.</summary>
    public static readonly ModelArchiveKind CheckpointArchive = new("slovo-rnn-lm-checkpoint", "language-model run", "train one with 'slovo lm train'", RunFolder.CheckpointFile);

    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="train"/> (id sequences SOS … EOS). <paramref name="validChars"/>
    /// is the character count of the validation texts (for bits per character). With <paramref name="runDir"/> and
    /// <paramref name="resume"/>, continues from that folder's checkpoint, which must come from the same settings.
    /// </summary>
    public LmTrainingResult Train(RnnLanguageModel model, Vocabulary vocab, IReadOnlyList<int[]> train, IReadOnlyList<int[]> valid,
                                  long validChars, RecurrentLmTrainingOptions o, string? runDir = null, bool resume = false)
    {
        if (train.Count == 0) throw new ArgumentException("no training sequences", nameof(train));
        if (valid.Count == 0) throw new ArgumentException("no validation sequences", nameof(valid));
        if (model.VocabSize != vocab.Size) throw new ArgumentException($"the model predicts {model.VocabSize} ids, the vocabulary has {vocab.Size}", nameof(vocab));
        if (resume && runDir is null) throw new ArgumentException("resuming needs the run folder", nameof(resume));

        using var opt = new Adam(model.Parameters(), lr: o.LearningRate);
        RunFolder? run = runDir is null ? null : new RunFolder(runDir, Group).Create();
        var state = resume
            ? LmRun.Resume(run![RunFolder.CheckpointFile], CheckpointArchive, SettingsKey(model, o), model, opt, vocab, Json)
            : new TrainingState<LmEpochReport>();
        RunFolder? writes = run is { Writes: true } ? run : null; // data-parallel, only rank 0 writes
        writes?.WriteText(RunFolder.VocabularyFile, vocab.ToJson());
        using TensorBoardWriter? tb = writes?.OpenTensorBoard();
        var clock = Stopwatch.StartNew();
        var task = new TrainingTask(model, vocab, opt, train, valid, validChars, o, writes, tb, OnEpoch, Group);
        using var loop = new TrainingLoop(model, opt, o)
        {
            Log = tb, OnProgress = OnStep, OnCheckpoint = OnCheckpoint, DataParallel = DataParallelTraining.Wrap(model, Group),
        };
        bool stoppedEarly = loop.Run(task, state, keepBestInMemory: writes is null);

        // The best weights go back into the model (from the run folder; without one the loop restored them).
        if (writes is not null && writes.Has(RunFolder.ModelFile))
        {
            Dictionary<string, Tensor> best = SafeTensors.Load(writes[RunFolder.ModelFile]);
            model.LoadStateDict(best);
            TensorDictionary.DisposeAll(best);
        }
        model.Eval(); // ready for generation and evaluation, also when a finished run was only reloaded
        LmTrainingResult result = LmRun.Result(state, stoppedEarly, task.Tokens, clock.Elapsed.TotalSeconds);
        writes?.WriteSummary(LmRun.Summary(Kind(model), model.Options, model.ParameterCount(), vocab, o, result));
        return result;
    }

    /// <summary>"lstm", "gru" or "rnn".</summary>
    internal static string Kind(RnnLanguageModel model) => model.Options.Kind switch { RecurrentKind.Gru => "gru", RecurrentKind.Lstm => "lstm", _ => "rnn" };

    /// <summary>The language model's part of the training loop: bucketed batches, truncated back-propagation, validation.</summary>
    private sealed class TrainingTask(RnnLanguageModel model, Vocabulary vocab, Optimizer opt, IReadOnlyList<int[]> train, IReadOnlyList<int[]> valid,
                              long validChars, RecurrentLmTrainingOptions o, RunFolder? run, TensorBoardWriter? tb, Action<LmEpochReport>? onEpoch,
                              ProcessGroup? group)
        : ITrainingTask<LmBatch, LmEpochReport>
    {
        public long Tokens { get; private set; }

        public IReadOnlyList<LmBatch> Batches(int epoch) =>
            LmBatching.Bucketed(train, o.BatchSize, vocab.PadId, new Random(unchecked(o.Seed * 1_000_003 + epoch)));

        public BatchLoss TrainBatch(LmBatch whole, TrainingLoop loop)
        {
            (Tensor H, Tensor? C)? carried = null;
            double nll = 0;
            long tokens = 0;
            int positions = whole.Length - 1;
            (int first, int count) = loop.Shard(whole.Rows);
            LmBatch batch = count == whole.Rows ? whole : whole.Slice(first, count); // data-parallel: this rank's rows
            try
            {
                for (int start = 0; start < positions; start += o.Bptt)
                {
                    int w = Math.Min(o.Bptt, positions - start);
                    using var scope = DisposeScope.Begin();
                    if (batch.Rows == 0)
                    {
                        loop.Step(() => null); // no rows here: the other ranks' gradients still come through
                        continue;
                    }
                    // The loss is divided by the real targets of the whole batch (all ranks' rows): the ranks' shares add up to its mean.
                    long wholeReal = ReferenceEquals(batch, whole) ? -1 : whole.Columns(start + 1, w).Count(t => t != vocab.PadId);
                    (Tensor H, Tensor? C) next = default;
                    loop.Step(() =>
                    {
                        Tensor x = model.ToDevice(Tensor.From(batch.Columns(start, w), batch.Rows, w)); // (B, W)
                        long[] targets = batch.Columns(start + 1, w);
                        // Only positions with a real target are scored: the vocabulary projection, the costliest layer, skips
                        // the padding (the loss is the same as cross-entropy with the pad id ignored).
                        long[] real = Enumerable.Range(0, targets.Length).Where(i => targets[i] != vocab.PadId).Select(i => (long)i).ToArray();
                        (Tensor hidden, next) = model.Hidden(x, carried);                            // (B, W, H)
                        if (real.Length == 0) return null;
                        Tensor rows = hidden.Reshape(-1, hidden.Size(-1)).IndexSelect(0, model.ToDevice(Tensor.From(real))); // (N, H)
                        Tensor y = model.ToDevice(Tensor.From(real.Select(i => targets[i]).ToArray()));         // (N)
                        Tensor loss = Losses.CrossEntropy(model.Head(rows), y, reduction: Reduction.Sum);      // logits (N, V)
                        nll += loss.ToDouble();
                        tokens += real.Length;
                        return loss / (wholeReal < 0 ? real.Length : wholeReal);
                    });
                    DisposeState(carried);
                    carried = (next.H!.Detach().DetachFromScope(), next.C?.Detach().DetachFromScope());
                }
            }
            finally { DisposeState(carried); }
            Tokens += tokens;
            return new BatchLoss(nll, tokens);
        }

        public EpochOutcome<LmEpochReport> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore)
        {
            LmEvaluation v = LmRun.EvaluateShared(group, valid, validChars, part => Evaluate(model, part, validChars, vocab.PadId, o.BatchSize, o.Bptt));
            return LmRun.EndEpoch(v, tb, epoch, trainLoss, seconds, itemsPerSecond, step, bestScore, onEpoch);
        }

        public void KeepBest() => run?.Save(RunFolder.ModelFile, path => model.Save(path, vocab));

        public void SaveCheckpoint(TrainingState<LmEpochReport> state) =>
            run?.Save(RunFolder.CheckpointFile, path => LmRun.Checkpoint(path, CheckpointArchive, SettingsKey(model, o), model, opt, vocab, state, Json));
    }

    private static void DisposeState((Tensor H, Tensor? C)? s)
    {
        s?.H.Dispose();
        s?.C?.Dispose();
    }

    /// <summary>Token-weighted validation: the NLL summed over every non-pad target of every sequence, in windows of
    /// <paramref name="bptt"/> with the state carried (the same as reading each sequence whole).</summary>
    public static LmEvaluation Evaluate(RnnLanguageModel model, IReadOnlyList<int[]> sequences, long chars, int padId, int batchSize = 32, int bptt = 128)
    {
        model.Eval();
        using var noGrad = LibTorch.NoGrad();
        double nll = 0;
        long tokens = 0;
        foreach (LmBatch batch in LmBatching.Bucketed(sequences, batchSize, padId))
        {
            (Tensor H, Tensor? C)? carried = null;
            for (int start = 0; start < batch.Length - 1; start += bptt)
            {
                int w = Math.Min(bptt, batch.Length - 1 - start);
                using var scope = DisposeScope.Begin();
                Tensor x = model.ToDevice(Tensor.From(batch.Columns(start, w), batch.Rows, w));     // (B, W)
                Tensor y = model.ToDevice(Tensor.From(batch.Columns(start + 1, w), batch.Rows, w)); // (B, W)
                (Tensor logits, (Tensor H, Tensor? C) next) = model.Forward(x, carried);     // (B, W, V)
                (double s, long n) = Perplexity.Accumulate(logits, y, padId);
                (nll, tokens) = (nll + s, tokens + n);
                DisposeState(carried);
                carried = (next.H.DetachFromScope(), next.C?.DetachFromScope());
            }
            DisposeState(carried);
        }
        return new LmEvaluation(nll, tokens, chars);
    }

    private static string SettingsKey(RnnLanguageModel model, RecurrentLmTrainingOptions o) =>
        JsonSerializer.Serialize(model.Options, Json) + JsonSerializer.Serialize(o with { Epochs = o.Schedule == LearningRateSchedule.Constant ? 0 : o.Epochs, Patience = 0 }, Json);
}

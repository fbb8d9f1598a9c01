using System.Diagnostics;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Training;

/// <summary>Where a run stands after a batch: the one progress record of every trainer (for bars and logs).</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Epochs">Epochs at most.</param>
/// <param name="Batch">Batches of this epoch done, from 1.</param>
/// <param name="Batches">Batches in this epoch.</param>
/// <param name="Step">Optimizer steps taken in the whole run.</param>
/// <param name="Loss">The batch's mean loss.</param>
/// <param name="LearningRate">The optimizer's rate after the batch.</param>
/// <param name="ItemsPerSecond">Items (tokens, texts, pairs, words) trained per second in this epoch.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, long Step, double Loss, double LearningRate, double ItemsPerSecond);

/// <summary>What one batch added: its summed loss and the items it covered (the epoch's loss is their ratio).</summary>
public readonly record struct BatchLoss(double Sum, long Items)
{
    /// <summary>The batch's mean loss.</summary>
    public double Mean => Items > 0 ? Sum / Items : double.NaN;
}

/// <summary>The end of an epoch: what to report, and the score early stopping watches (higher is better; NaN: nothing watched).</summary>
public readonly record struct EpochOutcome<TReport>(TReport Report, double Score);

/// <summary>
/// The state of a run, the same type written into a checkpoint and read back (<see cref="Torch.Serialization.ModelArchive"/>):
/// with it and the model and optimizer tensors, a killed run continues exactly.
/// </summary>
public sealed class TrainingState<TReport>
{
    /// <summary>Epochs finished.</summary>
    public int Epoch { get; set; }

    /// <summary>Batches of the current epoch finished.</summary>
    public int Batch { get; set; }

    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; set; }

    /// <summary>The current epoch's summed loss so far.</summary>
    public double EpochLossSum { get; set; }

    /// <summary>The items that loss covers.</summary>
    public long EpochItems { get; set; }

    /// <summary>Seconds the current epoch trained in earlier sessions (a resumed epoch reports them with its own).</summary>
    public double EpochSeconds { get; set; }

    /// <summary>The epoch (from 1) with the best score; 0 before any.</summary>
    public int BestEpoch { get; set; }

    /// <summary>Epochs since the best one.</summary>
    public int BadEpochs { get; set; }

    /// <summary>The best score so far (null before any).</summary>
    public double? BestScore { get; set; }

    /// <summary>Training seconds over every session of the run.</summary>
    public double Seconds { get; set; }

    /// <summary>The processes the run trains on (1 unless data-parallel); a run resumes only with as many.</summary>
    public int WorldSize { get; set; } = 1;

    /// <summary>Every finished epoch's report.</summary>
    public List<TReport> History { get; set; } = [];
}

/// <summary>What a trainer supplies to <see cref="TrainingLoop.Run{TBatch, TReport}"/>.</summary>
public interface ITrainingTask<TBatch, TReport>
{
    /// <summary>The batches of epoch <paramref name="epoch"/> (from 0), in training order; the same for the same epoch on every call.</summary>
    IReadOnlyList<TBatch> Batches(int epoch);

    /// <summary>Trains on one batch with one or more <see cref="TrainingLoop.Step(Func{Tensor})"/> calls.</summary>
    BatchLoss TrainBatch(TBatch batch, TrainingLoop loop);

    /// <summary>
    /// Evaluates after epoch <paramref name="epoch"/> (from 1), whose mean training loss is <paramref name="trainLoss"/>;
    /// <paramref name="bestScore"/> is the best score before it (see <see cref="TrainingLoop.Improves"/>).
    /// </summary>
    EpochOutcome<TReport> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore);

    /// <summary>The epoch just ended has the best score so far: keep its weights (or leave it to the loop's in-memory copy).</summary>
    void KeepBest();

    /// <summary>Writes a checkpoint of the run (atomically), or nothing when the run has no folder.</summary>
    void SaveCheckpoint(TrainingState<TReport> state);
}

/// <summary>
/// The one training loop of Slovo. <see cref="Step(Func{Tensor})"/> is one optimizer step (seed, zero-grad, forward and loss, backward,
/// clip, step, schedule); <see cref="Run{TBatch, TReport}"/> drives epochs and batches around a task: progress records,
/// the evaluation hook, best-epoch tracking, early stopping, checkpoints at a fixed batch interval and at every epoch's
/// end, and exact resume from a <see cref="TrainingState{TReport}"/>.
/// </summary>
/// <remarks>
/// Randomness: every step reseeds the run's own <see cref="RandomGenerator"/> from (seed, step) and makes it the thread's
/// current generator, so dropout masks depend only on the run's seed and the step — a resumed run draws exactly what an
/// unbroken one drew, and runs on other threads draw independently. The one exception is libtorch's fused multi-layer
/// RNN kernel, whose inter-layer dropout draws from the process-wide generator and takes no other: for a model that
/// holds one (<see cref="Module.DrawsFromGlobalGenerator"/>), the step reseeds the global generator instead and every
/// draw of the step comes from it, in the same order as before there were run generators. Such runs must not share a
/// process with another training run at the same time.
/// </remarks>
public sealed class TrainingLoop : IDisposable
{
    private readonly Optimizer _optimizer;
    private readonly IReadOnlyList<Tensor> _clipped;
    private readonly RandomGenerator _random;
    private long _step;

    /// <summary>A loop over <paramref name="model"/>'s training with <paramref name="optimizer"/>.</summary>
    /// <remarks><paramref name="options"/> are validated here, once (<see cref="TrainingOptions.Validate"/>); its schedule is made
    /// for every epoch from its batch count (<see cref="TrainingOptions.CreateSchedule"/>).</remarks>
    public TrainingLoop(Module model, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        try { options.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"{e.ParamName}: {e.Message.Split(" (Parameter")[0]}", nameof(options), e); }
        (Model, _optimizer, Options) = (model, optimizer, options);
        _clipped = optimizer.Parameters;
        GlobalRandomness = model.DrawsFromGlobalGenerator;
        _random = new RandomGenerator(SeedOf(0), model.Device); // dropout draws on the model's device
    }

    /// <summary>The model trained.</summary>
    public Module Model { get; }

    /// <summary>The settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Whether steps draw from libtorch's process-wide generator (the model holds a fused multi-layer RNN with dropout).</summary>
    public bool GlobalRandomness { get; }

    /// <summary>Optimizer steps taken.</summary>
    public long Steps => _step;

    /// <summary>Logs train/loss each batch (and train/lr when scheduled), when given.</summary>
    public TensorBoardWriter? Log { get; init; }

    /// <summary>Called after every batch.</summary>
    public Action<TrainingProgress>? OnProgress { get; init; }

    /// <summary>Called after every checkpoint is written, with the step count (tests stop a run at a known point with it).</summary>
    public Action<long>? OnCheckpoint { get; init; }

    /// <summary>
    /// Data-parallel training over the wrapper's ranks, when given. Every rank runs the same loop over the same batches and
    /// trains on its <see cref="Shard"/> of each; a step's losses must then be each rank's share of the whole batch's loss
    /// (its examples' summed loss over the whole batch's count), so that the gradients, summed over the ranks, are the
    /// whole batch's. Batch losses are summed over the ranks before they are reported, so every rank keeps the same state.
    /// Each rank draws its dropout masks from its own seed.
    /// </summary>
    public DistributedDataParallel? DataParallel { get; init; }

    /// <summary>The data-parallel group, or null when training alone.</summary>
    public ProcessGroup? Group => DataParallel?.Group;

    /// <summary>This rank's part of <paramref name="count"/> examples: a contiguous range, the ranks' sizes differing by at most one
    /// (the whole range when training alone).</summary>
    public (int Start, int Count) Shard(int count)
    {
        if (Group is not { WorldSize: > 1 } g) return (0, count);
        int each = count / g.WorldSize, extra = count % g.WorldSize;
        return (g.Rank * each + Math.Min(g.Rank, extra), each + (g.Rank < extra ? 1 : 0));
    }

    /// <summary>The element-wise sums of <paramref name="values"/> over the ranks (the values themselves when training alone):
    /// evaluation sums (losses, counts) of each rank's part of a validation set become the whole set's.</summary>
    public double[] SumOverRanks(params double[] values) => SumOverRanks(Group, values);

    /// <summary>The element-wise sums of <paramref name="values"/> over <paramref name="group"/>'s ranks (the values themselves without one).</summary>
    public static double[] SumOverRanks(ProcessGroup? group, params double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (group is not { WorldSize: > 1 } g) return values;
        using Tensor t = Tensor.From(values, values.Length);
        g.AllReduce(t, ReduceOp.Sum);
        return t.ToArray<double>();
    }

    private ulong SeedOf(long step)
    {
        ulong seed = unchecked((ulong)Options.Seed * 1_000_003UL + (ulong)step);
        return Group is { WorldSize: > 1 } g ? unchecked(seed + (ulong)g.Rank * 0x9E3779B97F4A7C15UL) : seed;
    }

    /// <summary>
    /// One optimizer step: reseeds the run's randomness from (seed, step), zeroes the gradients, runs
    /// <paramref name="loss"/> (forward pass and loss; null when there is nothing to learn from, e.g. a window of padding
    /// only), back-propagates, clips and steps. Returns whether a step was taken.
    /// </summary>
    public bool Step(Func<Tensor?> loss) => Step([loss]);

    /// <summary>
    /// One optimizer step over a batch read in parts (gradient accumulation, for batches larger than memory allows):
    /// each part's loss is back-propagated as it comes (freeing its graph), the gradients add up, then one clip and one
    /// update. Scale each part's loss so that the parts sum to the batch's loss (a micro-batch mean divided by the
    /// number of equal parts). Parts that return null are skipped; returns whether any part gave a loss (and so a step).
    /// Data-parallel, the gradients are then summed over the ranks (see <see cref="DataParallel"/>), and every rank steps when
    /// any rank had a loss. Every rank must call it the same number of times.
    /// </summary>
    public bool Step(IReadOnlyList<Func<Tensor?>> parts)
    {
        ulong seed = SeedOf(_step);
        if (GlobalRandomness) LibTorch.ManualSeed(seed);
        else _random.ManualSeed(seed);
        using RandomGenerator.Scope use = GlobalRandomness ? default : _random.Use();
        _optimizer.ZeroGrad();
        bool any = false;
        foreach (Func<Tensor?> part in parts)
        {
            Tensor? l;
            using (Options.Autocast is { } lower ? LibTorch.Autocast(Model.Device, lower) : null)
                l = part(); // tensors a part makes stay in the caller's scope (the LM carries its state out of them)
            if (l is null) continue;
            l.Backward();
            any = true;
        }
        if (DataParallel is { } ddp) any = ddp.SynchronizeGradients(any, ReduceOp.Sum);
        if (!any) return false;
        if (Options.Clip > 0) GradClip.ClipGradNorm(_clipped, Options.Clip);
        _optimizer.Step();
        ++_step;
        return true;
    }

    /// <summary>
    /// Trains epochs of <paramref name="task"/> from <paramref name="state"/> (a new state, or one read from a checkpoint)
    /// until the last epoch or early stopping. Returns whether it stopped early; when the task keeps no best weights of its
    /// own, the best epoch's weights are back in the model at the end.
    /// </summary>
    public bool Run<TBatch, TReport>(ITrainingTask<TBatch, TReport> task, TrainingState<TReport> state, bool keepBestInMemory)
    {
        _step = state.Step;
        if (Options.Threads is { } threads) LibTorch.Threads = threads;
        int world = Group?.WorldSize ?? 1;
        if (state.Step == 0 && state.Epoch == 0 && state.Batch == 0) state.WorldSize = world;
        else if (state.WorldSize != world)
            throw new InvalidDataException($"the checkpoint was written by a run of {state.WorldSize} process(es) and this one has {world}: resume it with the same number " +
                                           (state.WorldSize == 1 ? "(without slovo launch)" : $"(slovo launch --nproc {state.WorldSize})") + ", or start a new run");
        Dictionary<string, Tensor>? best = null;
        var session = Stopwatch.StartNew();
        double secondsBefore = state.Seconds;
        bool Stopped() => Options.Patience > 0 && state.BadEpochs >= Options.Patience && state.Epoch < Options.Epochs;
        try
        {
            while (state.Epoch < Options.Epochs && !Stopped())
            {
                IReadOnlyList<TBatch> batches = task.Batches(state.Epoch);
                LRScheduler? schedule = Options.CreateSchedule(_optimizer, batches.Count); // set to the run's global batch index before every batch
                var epochClock = Stopwatch.StartNew();
                double epochSecondsBefore = state.EpochSeconds;
                long epochItems = 0;
                for (int bi = state.Batch; bi < batches.Count; ++bi)
                {
                    schedule?.SetEpoch((long)state.Epoch * batches.Count + bi);
                    Model.Train();
                    BatchLoss b = task.TrainBatch(batches[bi], this);
                    if (Group is { WorldSize: > 1 })
                    {
                        double[] total = SumOverRanks(b.Sum, b.Items);
                        b = new BatchLoss(total[0], (long)total[1]);
                    }
                    state.EpochLossSum += b.Sum;
                    state.EpochItems += b.Items;
                    epochItems += b.Items;
                    state.Batch = bi + 1;
                    state.Step = _step;
                    Log?.Scalar("train/loss", b.Mean, _step);
                    if (schedule is not null) Log?.Scalar("train/lr", _optimizer.LearningRate, _step);
                    OnProgress?.Invoke(new TrainingProgress(state.Epoch + 1, Options.Epochs, bi + 1, batches.Count, _step, b.Mean,
                        _optimizer.LearningRate, epochItems / epochClock.Elapsed.TotalSeconds));
                    if (Options.CheckpointEvery > 0 && state.Batch % Options.CheckpointEvery == 0 && state.Batch < batches.Count)
                    {
                        state.EpochSeconds = epochSecondsBefore + epochClock.Elapsed.TotalSeconds;
                        Checkpoint(task, state, secondsBefore, session);
                    }
                }

                double trainLoss = state.EpochLossSum / Math.Max(1, state.EpochItems);
                EpochOutcome<TReport> end = task.EndEpoch(state.Epoch + 1, trainLoss, epochSecondsBefore + epochClock.Elapsed.TotalSeconds,
                    epochItems / epochClock.Elapsed.TotalSeconds, _step, state.BestScore);
                state.History.Add(end.Report);
                state.Epoch++;
                if (!double.IsNaN(end.Score))
                {
                    if (Improves(end.Score, state.BestScore))
                    {
                        (state.BestScore, state.BestEpoch, state.BadEpochs) = (end.Score, state.Epoch, 0);
                        task.KeepBest();
                        if (keepBestInMemory)
                        {
                            TensorDictionary.DisposeAll(best);
                            best = Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone().DetachFromScope());
                        }
                    }
                    else state.BadEpochs++;
                }
                (state.Batch, state.EpochLossSum, state.EpochItems, state.EpochSeconds) = (0, 0, 0, 0);
                Checkpoint(task, state, secondsBefore, session);
            }
            if (best is not null) Model.LoadStateDict(best);
            return Stopped();
        }
        finally
        {
            state.Seconds = secondsBefore + session.Elapsed.TotalSeconds;
            TensorDictionary.DisposeAll(best);
        }
    }

    /// <summary>Whether <paramref name="score"/> beats <paramref name="best"/> (strictly; anything beats no best; NaN never does).</summary>
    public static bool Improves(double score, double? best) => !double.IsNaN(score) && (best is null || score > best);

    private void Checkpoint<TBatch, TReport>(ITrainingTask<TBatch, TReport> task, TrainingState<TReport> state, double secondsBefore, Stopwatch session)
    {
        state.Seconds = secondsBefore + session.Elapsed.TotalSeconds;
        state.Step = _step;
        task.SaveCheckpoint(state);
        OnCheckpoint?.Invoke(_step);
    }

    /// <summary>Releases the run's generator.</summary>
    public void Dispose() => _random.Dispose();
}

/// <summary>
/// The simplest task: batches of item indices in a seeded shuffle (one stream over all epochs), one optimizer step on
/// each batch's <paramref name="loss"/>; an epoch's loss is the mean of its batches' losses, and there is nothing to
/// evaluate or checkpoint. A last batch smaller than <paramref name="minLastBatch"/> is skipped.
/// </summary>
public sealed class ShuffledLossTask(int count, int batchSize, int seed, Func<int[], Tensor> loss, int minLastBatch = 1) : ITrainingTask<int[], double>
{
    private readonly Random _rng = new(seed);
    private readonly int[] _order = Enumerable.Range(0, count).ToArray();

    /// <summary>Trains <paramref name="loop"/>'s model for its epochs on this task; returns the run's state (each epoch's mean loss in its history).</summary>
    public TrainingState<double> Run(TrainingLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        var state = new TrainingState<double>();
        loop.Run(this, state, keepBestInMemory: false);
        return state;
    }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Batches(int epoch)
    {
        _rng.Shuffle(_order);
        var batches = new List<int[]>();
        for (int start = 0; start < _order.Length; start += batchSize)
        {
            int[] b = _order.AsSpan(start, Math.Min(batchSize, _order.Length - start)).ToArray();
            if (b.Length < minLastBatch) break;
            batches.Add(b);
        }
        return batches;
    }

    /// <inheritdoc />
    public BatchLoss TrainBatch(int[] batch, TrainingLoop loop)
    {
        using var scope = DisposeScope.Begin();
        double value = 0;
        loop.Step(() =>
        {
            Tensor l = loss(batch);
            value = l.ToDouble();
            return l;
        });
        return new BatchLoss(value, 1);
    }

    /// <inheritdoc />
    public EpochOutcome<double> EndEpoch(int epoch, double trainLoss, double seconds, double itemsPerSecond, long step, double? bestScore) =>
        new(trainLoss, double.NaN);

    /// <inheritdoc />
    public void KeepBest() { }

    /// <inheritdoc />
    public void SaveCheckpoint(TrainingState<double> state) { }
}

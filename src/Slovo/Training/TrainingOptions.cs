using System.Text.Json.Serialization;
using Slovo.Torch;
using Slovo.Torch.Optim;

namespace Slovo.Training;

/// <summary>How the learning rate moves during a run (after any warm-up).</summary>
public enum LearningRateSchedule
{
    /// <summary>The same rate throughout.</summary>
    Constant,

    /// <summary>A cosine from the learning rate down to the minimum at the end of the last epoch, updated every batch.</summary>
    Cosine,
}

/// <summary>
/// The settings every trainer shares, in one record that <see cref="TrainingLoop"/> takes: epochs, batch size, learning rate
/// and its schedule, weight decay, clipping, accumulation, early stopping, seed, checkpoints, precision, device and threads.
/// Each trainer's options derive from it, adding only what is its own and setting its own defaults; <see cref="Validate"/>
/// is the one check of these fields, and <see cref="CreateSchedule"/> the one place a schedule is made from them.
/// </summary>
public record TrainingOptions
{
    /// <summary>Passes over the training data at most.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Examples (texts, rows, pairs) per batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The optimizer's (peak) learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Where a cosine schedule ends; null: a tenth of <see cref="LearningRate"/> (see <see cref="MinimumLearningRate"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? MinLearningRate { get; init; }

    /// <summary>How the rate moves after the warm-up.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>Optimizer steps of linear warm-up from 0 (0: none).</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Decoupled weight decay (AdamW; the trainer says which parameters decay).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Gradient norm limit (0: none).</summary>
    public double Clip { get; init; }

    /// <summary>Each batch is read in this many parts (gradient accumulation), one optimizer step per batch.</summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>Stop after this many epochs without a better validation score (0: never stop early).</summary>
    public int Patience { get; init; }

    /// <summary>Seed of initialisation, batch order and dropout.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Write a resumable checkpoint every this many batches, besides every epoch's end (0: only there).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Mixed precision: forward passes run under <see cref="LibTorch.Autocast"/> in this type (e.g. bfloat16) on the
    /// model's device; null runs them in float32.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ScalarType? Autocast { get; init; }

    /// <summary>Where the model trains (null: where it is); not part of a run's settings, so a run may resume elsewhere.</summary>
    [JsonIgnore] public Device? Device { get; init; }

    /// <summary>Intra-op threads (null: as set); not part of a run's settings.</summary>
    [JsonIgnore] public int? Threads { get; init; }

    /// <summary>The rate a cosine schedule ends at: <see cref="MinLearningRate"/>, or a tenth of <see cref="LearningRate"/>.</summary>
    [JsonIgnore] public double MinimumLearningRate => MinLearningRate ?? LearningRate / 10;

    /// <summary>The warm-up of a run of <paramref name="totalSteps"/> optimizer steps (a trainer may count it otherwise, e.g. as a share).</summary>
    public virtual long WarmupFor(long totalSteps) => WarmupSteps;

    /// <summary>
    /// Checks every shared setting, naming the bad one (its property name as the exception's parameter name, which the CLI
    /// turns into the option's name). Trainers check their own settings besides.
    /// </summary>
    public virtual void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "must be at least 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (!(LearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must not be negative");
        if (MinLearningRate is { } min && !(min >= 0 && min <= LearningRate))
            throw new ArgumentOutOfRangeException(nameof(MinLearningRate), min, $"must lie in [0, the learning rate {LearningRate}]");
        if (MinLearningRate is not null && Schedule != LearningRateSchedule.Cosine)
            throw new ArgumentOutOfRangeException(nameof(MinLearningRate), MinLearningRate, "is where a cosine schedule ends: give it with a cosine schedule");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must not be negative");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must not be negative");
        if (!(Clip >= 0)) throw new ArgumentOutOfRangeException(nameof(Clip), Clip, "must not be negative");
        if (Accumulate < 1 || Accumulate > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(Accumulate), Accumulate, $"must lie in [1, the batch size {BatchSize}]");
        if (Patience < 0) throw new ArgumentOutOfRangeException(nameof(Patience), Patience, "must not be negative");
        if (CheckpointEvery < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "must not be negative");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "must be at least 1");
    }

    /// <summary>
    /// The learning-rate schedule of a run whose epochs have <paramref name="batchesPerEpoch"/> batches (one optimizer step
    /// each), or null for a constant rate without warm-up: linear warm-up over <see cref="WarmupFor"/> steps, then constant or
    /// a cosine down to <see cref="MinimumLearningRate"/> at the end of the last epoch.
    /// </summary>
    public LRScheduler? CreateSchedule(Optimizer optimizer, int batchesPerEpoch)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        long total = Math.Max(1, (long)Epochs * batchesPerEpoch);
        long warmup = Math.Clamp(WarmupFor(total), 0, total - 1);
        return Schedule switch
        {
            LearningRateSchedule.Cosine when warmup > 0 => new WarmupCosineLR(optimizer, warmup, total, MinimumLearningRate),
            LearningRateSchedule.Cosine => new CosineAnnealingLR(optimizer, total, MinimumLearningRate),
            _ when warmup > 0 => new LinearWarmupLR(optimizer, warmup),
            _ => null,
        };
    }
}

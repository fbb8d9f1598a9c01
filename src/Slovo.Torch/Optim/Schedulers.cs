namespace Slovo.Torch.Optim;

/// <summary>
/// Sets the optimizer's learning rate from the number of scheduler steps taken (call <see cref="Step"/> once per
/// epoch or per batch). The rate for step 0 is applied at construction, as in PyTorch.
/// </summary>
public abstract class LRScheduler
{
    /// <summary>The optimizer being driven.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Scheduler steps taken.</summary>
    public long Epoch { get; private set; }

    /// <summary>Creates the scheduler.</summary>
    protected LRScheduler(Optimizer optimizer) => Optimizer = optimizer;

    /// <summary>The learning rate for scheduler step <paramref name="epoch"/>.</summary>
    public abstract double RateAt(long epoch);

    /// <summary>Advances one step and updates the optimizer's learning rate.</summary>
    public void Step() => SetEpoch(Epoch + 1);

    /// <summary>Jumps to step <paramref name="epoch"/> (for resuming).</summary>
    public void SetEpoch(long epoch)
    {
        Epoch = epoch;
        Optimizer.LearningRate = RateAt(epoch);
    }
}

/// <summary>Multiplies the rate by gamma every stepSize steps.</summary>
public sealed class StepLR : LRScheduler
{
    private readonly long _stepSize;
    private readonly double _gamma;

    /// <summary>Creates the scheduler.</summary>
    public StepLR(Optimizer optimizer, long stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "must be positive");
        (_stepSize, _gamma) = (stepSize, gamma);
        SetEpoch(0);
    }

    /// <inheritdoc />
    public override double RateAt(long epoch) => Optimizer.InitialLearningRate * Math.Pow(_gamma, epoch / _stepSize);
}

/// <summary>Cosine annealing from the initial rate to minLr over tMax steps; past tMax the cosine continues (rising again), as in PyTorch.</summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    private readonly long _tMax;
    private readonly double _minLr;

    /// <summary>Creates the scheduler.</summary>
    public CosineAnnealingLR(Optimizer optimizer, long tMax, double minLr = 0) : base(optimizer)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "must be positive");
        (_tMax, _minLr) = (tMax, minLr);
        SetEpoch(0);
    }

    /// <inheritdoc />
    public override double RateAt(long epoch) =>
        _minLr + (Optimizer.InitialLearningRate - _minLr) * (1 + Math.Cos(Math.PI * epoch / _tMax)) / 2;
}

/// <summary>Linear warm-up from 0 over warmupSteps, then linear decay to 0 at totalSteps (held constant when totalSteps is 0).</summary>
public sealed class LinearWarmupLR : LRScheduler
{
    private readonly long _warmup, _total;

    /// <summary>Creates the scheduler.</summary>
    public LinearWarmupLR(Optimizer optimizer, long warmupSteps, long totalSteps = 0) : base(optimizer)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "must be non-negative");
        if (totalSteps != 0 && totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "must exceed the warm-up steps (or be 0)");
        (_warmup, _total) = (warmupSteps, totalSteps);
        SetEpoch(0);
    }

    /// <inheritdoc />
    public override double RateAt(long epoch)
    {
        double lr0 = Optimizer.InitialLearningRate;
        if (epoch < _warmup) return lr0 * epoch / _warmup;
        if (_total <= 0) return lr0;
        return lr0 * Math.Max(0.0, (double)(_total - epoch) / (_total - _warmup));
    }
}

/// <summary>
/// Linear warm-up from 0 over warmupSteps, then a cosine from the initial rate down to minLr at totalSteps (held there
/// after): the usual schedule for transformers (Hugging Face's get_cosine_schedule_with_warmup, with a floor).
/// </summary>
public sealed class WarmupCosineLR : LRScheduler
{
    private readonly long _warmup, _total;
    private readonly double _minLr;

    /// <summary>Creates the scheduler.</summary>
    public WarmupCosineLR(Optimizer optimizer, long warmupSteps, long totalSteps, double minLr = 0) : base(optimizer)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "must be non-negative");
        if (totalSteps <= warmupSteps) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "must exceed the warm-up steps");
        if (minLr < 0 || minLr > optimizer.InitialLearningRate)
            throw new ArgumentOutOfRangeException(nameof(minLr), minLr, "must lie between 0 and the initial learning rate");
        (_warmup, _total, _minLr) = (warmupSteps, totalSteps, minLr);
        SetEpoch(0);
    }

    /// <inheritdoc />
    public override double RateAt(long epoch)
    {
        double lr0 = Optimizer.InitialLearningRate;
        if (epoch < _warmup) return lr0 * epoch / _warmup;
        double progress = Math.Min(1.0, (double)(epoch - _warmup) / (_total - _warmup));
        return _minLr + (lr0 - _minLr) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}

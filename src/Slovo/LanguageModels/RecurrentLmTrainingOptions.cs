using Slovo.Training;

namespace Slovo.LanguageModels;

/// <summary>Settings of <see cref="RecurrentLmTrainer"/>: the shared ones with a recurrent model's defaults, and the truncated
/// back-propagation window. The same options must be given to continue a run (<see cref="TrainingOptions.Epochs"/> may differ
/// under a constant rate).</summary>
public sealed record RecurrentLmTrainingOptions : TrainingOptions
{
    /// <summary>A recurrent model's defaults: 10 epochs of 32 sequences, Adam at 2e-3, clipping at 1, patience 2, a checkpoint every 100 batches.</summary>
    public RecurrentLmTrainingOptions()
    {
        (Epochs, BatchSize, LearningRate, Clip, Patience, CheckpointEvery) = (10, 32, 2e-3, 1.0, 2, 100);
    }

    /// <summary>Truncated back-propagation: a batch longer than this is trained in windows of this many steps, the state
    /// carried (detached) from one window to the next; each window is one optimizer step.</summary>
    public int Bptt { get; init; } = 128;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Bptt < 1) throw new ArgumentOutOfRangeException(nameof(Bptt), Bptt, "must be at least 1");
        if (Accumulate != 1) throw new ArgumentOutOfRangeException(nameof(Accumulate), Accumulate, "a recurrent model steps once per window; it does not accumulate");
        if (WeightDecay != 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "a recurrent model trains with Adam, without weight decay");
    }
}

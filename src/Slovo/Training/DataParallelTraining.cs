using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;

namespace Slovo.Training;

/// <summary>How a trainer joins a data-parallel group: the wrapper its <see cref="TrainingLoop"/> synchronises gradients with.</summary>
public static class DataParallelTraining
{
    /// <summary>The data-parallel wrapper of <paramref name="model"/> over <paramref name="group"/> (null alone or in a group of one).</summary>
    public static DistributedDataParallel? Wrap(Module model, ProcessGroup? group)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (group is not { WorldSize: > 1 }) return null;
        if (model.Device.Type == DeviceType.CUDA && group.Backend == Backend.Gloo)
            throw new NotSupportedException("data-parallel training over Gloo needs CPU tensors; train on --device cpu (NCCL, for CUDA, is not in this build)");
        return new DistributedDataParallel(model, group);
    }
}

using Slovo.Torch.NN;

namespace Slovo.Torch.Distributed;

/// <summary>
/// Data-parallel training of any <see cref="Module"/> over a <see cref="ProcessGroup"/>, as PyTorch's
/// DistributedDataParallel: every rank starts from rank 0's parameters and buffers (broadcast at construction); each rank
/// runs forward and backward on its own batch; <see cref="SynchronizeGradients()"/> then averages the gradients over the ranks,
/// in buckets of about <c>bucketBytes</c> flattened into one tensor each, parameters taken in reverse order (the order
/// backward produces them), so that every rank steps its optimizer with the same gradient. Parameters without a gradient
/// are skipped on every rank alike. Inside <see cref="NoSync"/> nothing is exchanged: gradients accumulate locally until
/// the next synchronised backward. (The all-reduce runs after backward, not overlapped with it.)
/// </summary>
public sealed class DistributedDataParallel
{
    private readonly Tensor[] _parameters;
    private readonly long _bucketBytes;
    private int _noSync;

    /// <summary>Wraps <paramref name="module"/> (which stays the caller's) and broadcasts rank 0's state to every rank.</summary>
    public DistributedDataParallel(Module module, ProcessGroup group, long bucketBytes = 25L << 20)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketBytes);
        (Module, Group, _bucketBytes) = (module, group, bucketBytes);
        _parameters = module.Parameters().Where(p => p.RequiresGrad).ToArray();
        using var noGrad = LibTorch.NoGrad();
        group.Broadcast([.. module.Parameters(), .. module.NamedBuffers().Select(b => b.Buffer)], root: 0);
    }

    /// <summary>The wrapped module.</summary>
    public Module Module { get; }

    /// <summary>The ranks it trains over.</summary>
    public ProcessGroup Group { get; }

    /// <summary>Whether gradients are currently exchanged (false inside <see cref="NoSync"/>).</summary>
    public bool Synchronizing => _noSync == 0;

    /// <summary>Averages every parameter's gradient over the ranks (call after backward, before the optimizer step).</summary>
    public void SynchronizeGradients() => SynchronizeGradients(hasLoss: true, ReduceOp.Average);

    /// <summary>
    /// Combines every parameter's gradient over the ranks with <paramref name="op"/>: <see cref="ReduceOp.Average"/> when each
    /// rank's loss is the mean over its own examples, <see cref="ReduceOp.Sum"/> when each rank's loss is its share of the whole
    /// batch's (its examples' summed loss over the batch's count: then the result is exactly the gradient of the whole batch,
    /// however unevenly the examples were dealt). First the ranks agree, in one small all-reduce, on which parameters have a
    /// gradient anywhere: a rank whose batch reached a parameter no other rank's did (or that had nothing to learn from,
    /// <paramref name="hasLoss"/> false) contributes zeros for it, and a parameter no rank reached is left without one.
    /// Returns whether any rank had a loss (when none had, no rank should step).
    /// </summary>
    public bool SynchronizeGradients(bool hasLoss, ReduceOp op)
    {
        if (_noSync > 0 || Group.WorldSize == 1) return hasLoss;
        using var noGrad = LibTorch.NoGrad();
        var grads = new List<Tensor>();
        try
        {
            // Which parameters have a gradient on some rank (and whether any rank had a loss): the same answer everywhere.
            var present = new float[_parameters.Length + 1];
            for (int i = 0; i < _parameters.Length; ++i)
                if (_parameters[i].Grad is { } g) { present[i] = 1; g.Dispose(); }
            present[^1] = hasLoss ? 1 : 0;
            using (Tensor mask = Tensor.From(present, present.Length))
            {
                Group.AllReduce(mask, ReduceOp.Max);
                present = mask.ToArray<float>();
            }
            if (present[^1] == 0) return false;
            // Reverse order: the last layers' gradients are ready first in backward, as DDP buckets them.
            for (int i = _parameters.Length - 1; i >= 0; --i)
            {
                if (present[i] == 0) continue;
                Tensor? g = _parameters[i].Grad;
                if (g is null)
                {
                    using (Tensor zeros = Tensor.Zeros(_parameters[i].Shape, _parameters[i].DType, _parameters[i].Device)) _parameters[i].Grad = zeros;
                    g = _parameters[i].Grad!;
                }
                grads.Add(g);
            }
            var bucket = new List<Tensor>();
            long bytes = 0;
            foreach (Tensor g in grads)
            {
                long size = g.NumElements * g.DType.ElementSize();
                if (bucket.Count > 0 && (bytes + size > _bucketBytes || g.DType != bucket[0].DType))
                {
                    Reduce(bucket, op);
                    (bucket, bytes) = ([], 0);
                }
                bucket.Add(g);
                bytes += size;
            }
            if (bucket.Count > 0) Reduce(bucket, op);
            return true;
        }
        finally
        {
            foreach (Tensor g in grads) g.Dispose();
        }
    }

    // One flattened all-reduce for the bucket, then each gradient gets its slice back (in place).
    private void Reduce(List<Tensor> bucket, ReduceOp op)
    {
        using var scope = DisposeScope.Begin();
        Tensor flat = Tensor.Cat(bucket.Select(g => g.Reshape(-1)).ToArray());
        Group.AllReduce(flat, op);
        long offset = 0;
        foreach (Tensor g in bucket)
        {
            long n = g.NumElements;
            g.Copy_(flat.Narrow(0, offset, n).View(g.Shape));
            offset += n;
        }
    }

    /// <summary>Until disposed, <see cref="SynchronizeGradients()"/> exchanges nothing (gradient accumulation across backward passes).</summary>
    public IDisposable NoSync()
    {
        Interlocked.Increment(ref _noSync);
        return new Release(this);
    }

    private sealed class Release(DistributedDataParallel owner) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref owner._noSync);
        }
    }
}

/// <summary>
/// Which examples a rank reads, as PyTorch's DistributedSampler: the indices 0..count−1 shuffled with seed + epoch (the
/// same order on every rank), padded by repeating from the start so that every rank gets the same number, and dealt out
/// rank by rank (rank r takes positions r, r + W, r + 2W, …).
/// </summary>
public sealed class DistributedSampler(int count, int rank, int worldSize, int seed = 0, bool shuffle = true)
{
    /// <summary>The epoch whose order <see cref="Indices"/> gives (set it before each epoch).</summary>
    public int Epoch { get; set; }

    /// <summary>Examples per rank: count / world size, rounded up.</summary>
    public int PerRank => (count + worldSize - 1) / worldSize;

    /// <summary>This rank's indices for <see cref="Epoch"/>.</summary>
    public int[] Indices()
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) throw new InvalidOperationException($"rank {rank} is outside a world of {worldSize}");
        int[] order = Enumerable.Range(0, count).ToArray();
        if (shuffle) new Random(seed + Epoch).Shuffle(order);
        int total = PerRank * worldSize;
        var mine = new int[PerRank];
        for (int k = 0; k < PerRank; ++k)
        {
            int position = rank + k * worldSize;
            mine[k] = count == 0 ? 0 : order[position % count];
        }
        return total == 0 ? [] : mine;
    }
}

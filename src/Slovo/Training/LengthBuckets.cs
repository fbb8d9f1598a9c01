namespace Slovo.Training;

/// <summary>Length-bucketed batching of any sequences (texts, token ids): similar lengths share a batch, so little of it is padding.</summary>
public static class LengthBuckets
{
    /// <summary>
    /// The bucketing itself: indices grouped <paramref name="batchSize"/> at a time in order of length. With
    /// <paramref name="rng"/>, equal lengths are ordered randomly and the groups are shuffled; without, all is fixed.
    /// </summary>
    public static List<int[]> Groups(IReadOnlyList<int> lengths, int batchSize, Random? rng = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        int[] order = Enumerable.Range(0, lengths.Count).ToArray();
        rng?.Shuffle(order);
        order = order.OrderBy(i => lengths[i]).ToArray(); // stable: ties keep the shuffled order
        List<int[]> groups = order.Chunk(batchSize).ToList();
        rng?.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(groups));
        return groups;
    }
}

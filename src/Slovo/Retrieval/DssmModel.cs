using Slovo.Training;
using Slovo.Embeddings;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Retrieval;

// Shapes: B pairs in a batch, L features in the batch, D embedding size.

/// <summary>Settings of <see cref="DssmModel"/>.</summary>
public sealed record DssmOptions : TrainingOptions
{
    /// <summary>DSSM's defaults: 10 epochs of 64 pairs, Adam at 1e-3, seed 0.</summary>
    public DssmOptions()
    {
        (Epochs, BatchSize, LearningRate, Seed) = (10, 64, 1e-3, 0);
    }

    /// <summary>The embedding size.</summary>
    public int Dimension { get; init; } = 128;

    /// <summary>Add word bigrams to each sentence's bag (the course's extension).</summary>
    public bool WordBigrams { get; init; }

    /// <summary>Add character trigrams of each word to the bag (the course's extension).</summary>
    public bool CharTrigrams { get; init; }

    /// <summary>Put a two-layer MLP (tanh) on top of the bag (the course's extension).</summary>
    public bool MlpHead { get; init; }

    /// <summary>Features seen fewer times in training are dropped.</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>NT-Xent temperature α.</summary>
    public double Temperature { get; init; } = 0.05;
}

/// <summary>
/// A DSSM-like sentence encoder: a bag of features (words, optionally word bigrams and character trigrams) summed by an
/// EmbeddingBag, optionally through an MLP head, trained with <see cref="Losses.NtXent"/> on pairs of sentences that mean the
/// same, with the other sentences of the batch as negatives.
/// </summary>
public sealed class DssmModel : IDisposable
{
    private readonly Dictionary<string, long> _features;
    private readonly EmbeddingBag _bag;
    private readonly Sequential? _head;

    /// <summary>The settings it was trained with.</summary>
    public DssmOptions Options { get; }

    /// <summary>The number of features in the bag vocabulary.</summary>
    public int FeatureCount => _features.Count;

    private DssmModel(Dictionary<string, long> features, DssmOptions options)
    {
        (_features, Options) = (features, options);
        using var random = new RandomGenerator((ulong)options.Seed);
        using RandomGenerator.Scope use = random.Use();
        _bag = new EmbeddingBag(Math.Max(1, features.Count), options.Dimension, BagMode.Mean);
        using (LibTorch.NoGrad()) _bag.Weight.Mul_(0.1);
        if (options.MlpHead)
            _head = new Sequential(new Linear(options.Dimension, options.Dimension), Activation.Tanh(), new Linear(options.Dimension, options.Dimension));
    }

    private IEnumerable<Tensor> Parameters() => _bag.Parameters().Concat(_head?.Parameters() ?? []);

    /// <summary>The bag features of a tokenized sentence.</summary>
    public static IEnumerable<string> Features(IReadOnlyList<string> words, DssmOptions options)
    {
        foreach (string w in words) yield return "w:" + w;
        if (options.WordBigrams)
            for (int i = 0; i + 1 < words.Count; ++i) yield return "b:" + words[i] + " " + words[i + 1];
        if (options.CharTrigrams)
            foreach (string w in words)
                foreach (string t in TrigramOovModel.Trigrams(w)) yield return "t:" + t;
    }

    /// <summary>An untrained model over the features of <paramref name="pairs"/> (for comparisons and as the start of training).</summary>
    public static DssmModel Create(IReadOnlyList<(IReadOnlyList<string> A, IReadOnlyList<string> B)> pairs, DssmOptions options)
    {
        if (pairs.Count < 2) throw new ArgumentException("at least two pairs are needed (the batch supplies the negatives)", nameof(pairs));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((IReadOnlyList<string> a, IReadOnlyList<string> b) in pairs)
            foreach (string f in Features(a, options).Concat(Features(b, options))) counts[f] = counts.GetValueOrDefault(f) + 1;
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string f, int c) in counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (c >= options.MinCount) ids[f] = ids.Count;
        return new DssmModel(ids, options);
    }

    /// <summary>Trains on pairs of tokenized sentences that mean the same; <paramref name="onProgress"/> sees every batch.</summary>
    public static DssmModel Train(IReadOnlyList<(IReadOnlyList<string> A, IReadOnlyList<string> B)> pairs, DssmOptions options,
                                  Action<TrainingProgress>? onProgress = null)
    {
        DssmModel model = Create(pairs, options);
        using var opt = new Adam(model.Parameters(), lr: options.LearningRate);
        Module[] parts = model._head is null ? [model._bag] : [model._bag, model._head];
        using var loop = new TrainingLoop(new ModuleList(parts), opt, options) { OnProgress = onProgress };
        // A last batch of one pair has no negative and is skipped.
        new ShuffledLossTask(pairs.Count, options.BatchSize, options.Seed, batch =>
        {
            Tensor qa = model.Forward(batch.Select(i => pairs[i].A).ToList());   // (B, D)
            Tensor qb = model.Forward(batch.Select(i => pairs[i].B).ToList());   // (B, D)
            return Losses.NtXent(qa, qb, options.Temperature);
        }, minLastBatch: 2).Run(loop);
        return model;
    }

    private Tensor Forward(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var flat = new List<long>();
        var offsets = new long[sentences.Count];
        for (int b = 0; b < sentences.Count; ++b)
        {
            offsets[b] = flat.Count;
            foreach (string f in Features(sentences[b], Options))
                if (_features.TryGetValue(f, out long id)) flat.Add(id);
        }
        Tensor bag = _bag.Forward(Tensor.From(flat.ToArray()), Tensor.From(offsets)); // (B, D); an empty bag gives zeros
        return _head is null ? bag : _head.Forward(bag);
    }

    /// <summary>Embeddings of many tokenized sentences, row-major (N, D).</summary>
    public float[] Encode(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var result = new float[sentences.Count * Options.Dimension];
        using var noGrad = LibTorch.NoGrad();
        for (int start = 0; start < sentences.Count; start += 512)
        {
            using var scope = DisposeScope.Begin();
            var chunk = sentences.Skip(start).Take(512).ToList();
            Forward(chunk).CopyTo<float>(result.AsSpan(start * Options.Dimension, chunk.Count * Options.Dimension));
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _bag.Dispose();
        _head?.Dispose();
    }
}

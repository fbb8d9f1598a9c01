using Slovo.Training;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Embeddings;

// Shapes: B words in a batch, L trigrams in the batch, T trigram vocabulary, D vector size.

/// <summary>How <see cref="TrigramOovModel"/> compares predicted and true vectors while training.</summary>
public enum OovLoss
{
    /// <summary>Mean squared error.</summary>
    Mse,
    /// <summary>1 − cosine similarity.</summary>
    Cosine,
}

/// <summary>
/// Predicts vectors for out-of-vocabulary words from their character trigrams (the course's model): a word is padded
/// as "#word#" and cut into trigrams ("#wo", "wor", ..., "rd#"); an EmbeddingBag averages learned trigram vectors,
/// trained to regress the vectors of known words.
/// </summary>
public sealed class TrigramOovModel : IDisposable
{
    private readonly Dictionary<string, long> _trigramIds;
    private readonly EmbeddingBag _bag;

    /// <summary>The output vector size.</summary>
    public int Dimension { get; }

    /// <summary>The number of distinct trigrams the model knows.</summary>
    public int TrigramCount => _trigramIds.Count;

    private TrigramOovModel(Dictionary<string, long> trigramIds, int dimension)
    {
        (_trigramIds, Dimension) = (trigramIds, dimension);
        _bag = new EmbeddingBag(Math.Max(1, trigramIds.Count), dimension, BagMode.Mean);
        using (LibTorch.NoGrad()) _bag.Weight.Mul_(0.1);
    }

    /// <summary>The trigrams of <paramref name="word"/>: "#wo", "wor", ..., "rd#".</summary>
    public static IReadOnlyList<string> Trigrams(string word)
    {
        string padded = "#" + word + "#";
        var result = new List<string>(Math.Max(1, padded.Length - 2));
        for (int i = 0; i + 3 <= padded.Length; ++i) result.Add(padded.Substring(i, 3));
        return result;
    }

    /// <summary>
    /// Trains on every word of <paramref name="vectors"/> except <paramref name="holdOut"/>, for <paramref name="epochs"/>
    /// passes in shuffled batches (seeded), and returns the model.
    /// </summary>
    public static TrigramOovModel Train(KeyedVectors vectors, OovLoss loss = OovLoss.Cosine, int epochs = 5, int batchSize = 256,
                                        double lr = 0.01, int seed = 0, IReadOnlySet<string>? holdOut = null, Action<TrainingProgress>? onProgress = null)
    {
        var words = vectors.Words.Where(w => holdOut is null || !holdOut.Contains(w)).ToList();
        if (words.Count == 0) throw new ArgumentException("no words to train on", nameof(vectors));
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string w in words)
            foreach (string t in Trigrams(w))
                ids.TryAdd(t, ids.Count);
        TrigramOovModel model = RandomGenerator.Seeded((ulong)seed, () => new TrigramOovModel(ids, vectors.Dimension));
        using var opt = new Adam(model._bag.Parameters(), lr: lr);
        VectorRegression.Fit(model._bag, vectors, words, batch => { (Tensor input, Tensor offsets) = model.Encode(batch); return model._bag.Forward(input, offsets); },
            opt, loss, epochs, batchSize, seed, onProgress);
        return model;
    }

    /// <summary>Flat trigram ids and bag offsets for <paramref name="words"/> (a word with no known trigram gets an empty bag).</summary>
    private (Tensor Input, Tensor Offsets) Encode(IReadOnlyList<string> words)
    {
        var flat = new List<long>();
        var offsets = new long[words.Count];
        for (int b = 0; b < words.Count; ++b)
        {
            offsets[b] = flat.Count;
            foreach (string t in Trigrams(words[b]))
                if (_trigramIds.TryGetValue(t, out long id)) flat.Add(id);
        }
        return (Tensor.From(flat.ToArray()), Tensor.From(offsets));                           // (L), (B)
    }

    /// <summary>The predicted vector of <paramref name="word"/>, or null when none of its trigrams is known.</summary>
    public float[]? Vector(string word)
    {
        if (!Trigrams(word).Any(_trigramIds.ContainsKey)) return null;
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        (Tensor input, Tensor offsets) = Encode([word]);
        return _bag.Forward(input, offsets).ToArray<float>();
    }

    /// <inheritdoc />
    public void Dispose() => _bag.Dispose();
}

namespace Slovo.Embeddings;

/// <summary>
/// A sentence vector as the mean of its known words' vectors (the course's question_to_vec): unknown words are skipped,
/// a sentence with no known word gets the zero vector, never NaN. Optionally each word is weighted by its IDF and the
/// result scaled to unit length.
/// </summary>
public sealed class SentenceEmbedder
{
    private readonly KeyedVectors _vectors;
    private readonly Dictionary<string, float>? _idf;
    private readonly Func<string, float[]?>? _fallback;

    /// <summary>Whether results are scaled to unit length (zero vectors stay zero).</summary>
    public bool Normalize { get; init; }

    /// <summary>The vector size.</summary>
    public int Dimension => _vectors.Dimension;

    /// <summary>Creates the embedder; <paramref name="fallback"/> may supply vectors for unknown words (e.g. a char-trigram model).</summary>
    public SentenceEmbedder(KeyedVectors vectors, IReadOnlyDictionary<string, float>? idf = null, Func<string, float[]?>? fallback = null)
    {
        _vectors = vectors;
        _idf = idf is null ? null : new Dictionary<string, float>(idf, StringComparer.Ordinal);
        _fallback = fallback;
    }

    /// <summary>IDF weights log(N / df) from a corpus of tokenized documents.</summary>
    public static Dictionary<string, float> ComputeIdf(IEnumerable<IReadOnlyList<string>> documents)
    {
        var df = new Dictionary<string, int>(StringComparer.Ordinal);
        int n = 0;
        foreach (IReadOnlyList<string> doc in documents)
        {
            ++n;
            foreach (string w in doc.Distinct()) df[w] = df.GetValueOrDefault(w) + 1;
        }
        return df.ToDictionary(kv => kv.Key, kv => (float)Math.Log((double)n / kv.Value), StringComparer.Ordinal);
    }

    /// <summary>The vector of a tokenized sentence, written into <paramref name="destination"/>.</summary>
    public void Embed(IReadOnlyList<string> words, Span<float> destination)
    {
        if (destination.Length != Dimension) throw new ArgumentException($"destination holds {destination.Length} values, expected {Dimension}", nameof(destination));
        destination.Clear();
        float total = 0;
        foreach (string w in words)
        {
            float weight = _idf is null ? 1f : _idf.GetValueOrDefault(w, 0f);
            if (weight == 0) continue;
            if (_vectors.Contains(w)) VectorMath.AddScaled(destination, _vectors[w], weight);
            else if (_fallback?.Invoke(w) is { } v) VectorMath.AddScaled(destination, v, weight);
            else continue;
            total += weight;
        }
        if (total > 0) VectorMath.Scale(destination, 1 / total);
        if (Normalize) VectorMath.Normalize(destination);
    }

    /// <summary>The vector of a tokenized sentence.</summary>
    public float[] Embed(IReadOnlyList<string> words)
    {
        var v = new float[Dimension];
        Embed(words, v);
        return v;
    }

    /// <summary>Vectors of many sentences, row-major (count, D), computed in parallel.</summary>
    public float[] EmbedAll(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var all = new float[sentences.Count * Dimension];
        Parallel.For(0, sentences.Count, i => Embed(sentences[i], all.AsSpan(i * Dimension, Dimension)));
        return all;
    }
}

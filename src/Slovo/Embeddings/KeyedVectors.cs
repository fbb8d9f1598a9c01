namespace Slovo.Embeddings;

/// <summary>
/// Word vectors keyed by word, with gensim's queries: most_similar (with negatives), doesnt_match,
/// most_similar_to_given, similarity, n_similarity and rank. Unit-length copies are computed once and cached.
/// Reading and writing word2vec and GloVe files is in KeyedVectors.IO.cs.
/// </summary>
public sealed partial class KeyedVectors
{
    private readonly float[] _data;                    // (N, D) row-major
    private readonly string[] _words;
    private readonly Dictionary<string, int> _index;
    private float[]? _unit;

    /// <summary>Wraps <paramref name="words"/> and their vectors (row-major, <paramref name="dimension"/> per word).</summary>
    public KeyedVectors(IReadOnlyList<string> words, float[] vectors, int dimension)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "must be positive");
        if (vectors.Length != (long)words.Count * dimension)
            throw new ArgumentException($"{words.Count} words of dimension {dimension} need {words.Count * (long)dimension} values, got {vectors.Length}", nameof(vectors));
        _words = words.ToArray();
        _data = vectors;
        Dimension = dimension;
        _index = new Dictionary<string, int>(_words.Length, StringComparer.Ordinal);
        for (int i = 0; i < _words.Length; ++i)
            if (!_index.TryAdd(_words[i], i)) throw new ArgumentException($"word '{_words[i]}' appears twice (at {_index[_words[i]]} and {i})", nameof(words));
    }

    /// <summary>The number of words.</summary>
    public int Count => _words.Length;

    /// <summary>The vector size.</summary>
    public int Dimension { get; }

    /// <summary>The words, in file order (most frequent first for word2vec and GloVe files).</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>Whether <paramref name="word"/> has a vector.</summary>
    public bool Contains(string word) => _index.ContainsKey(word);

    /// <summary>The row of <paramref name="word"/>, or −1.</summary>
    public int IndexOf(string word) => _index.TryGetValue(word, out int i) ? i : -1;

    /// <summary>The vector of <paramref name="word"/> (a view of the stored values).</summary>
    public ReadOnlySpan<float> this[string word] => Row(Require(word));

    /// <summary>The vector at row <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Row(int index) => _data.AsSpan(index * Dimension, Dimension);

    /// <summary>All vectors, row-major (N, D).</summary>
    public ReadOnlySpan<float> Data => _data;

    /// <summary>The vector of <paramref name="word"/> scaled to unit length.</summary>
    public ReadOnlySpan<float> UnitVector(string word) => UnitRow(Require(word));

    private ReadOnlySpan<float> UnitRow(int index) => Unit().AsSpan(index * Dimension, Dimension);

    /// <summary>Every vector scaled to unit length (computed once).</summary>
    public ReadOnlySpan<float> UnitData => Unit();

    private float[] Unit()
    {
        float[]? u = _unit;
        if (u is not null) return u;
        u = (float[])_data.Clone();
        for (int i = 0; i < _words.Length; ++i) VectorMath.Normalize(u.AsSpan(i * Dimension, Dimension));
        return _unit = u;
    }

    private int Require(string word) => _index.TryGetValue(word, out int i) ? i
        : throw new KeyNotFoundException($"'{word}' is not in the vocabulary of {Count:N0} words");

    /// <summary>Cosine similarity of two words.</summary>
    public double Similarity(string a, string b) => VectorMath.Dot(UnitVector(a), UnitVector(b));

    /// <summary>Cosine similarity between the means of two word sets (gensim's n_similarity).</summary>
    public double NSimilarity(IEnumerable<string> a, IEnumerable<string> b)
    {
        float[] ma = Mean(a, unit: false, nameof(a)), mb = Mean(b, unit: false, nameof(b));
        VectorMath.Normalize(ma);
        VectorMath.Normalize(mb);
        return VectorMath.Dot(ma, mb);
    }

    private float[] Mean(IEnumerable<string> words, bool unit, string paramName)
    {
        var list = words.ToList();
        if (list.Count == 0) throw new ArgumentException("at least one word is needed", paramName);
        var mean = new float[Dimension];
        foreach (string w in list) VectorMath.AddScaled(mean, unit ? UnitVector(w) : this[w], 1f / list.Count);
        return mean;
    }

    /// <summary>
    /// The <paramref name="topn"/> words closest by cosine to the mean of the unit vectors of <paramref name="positive"/>
    /// minus those of <paramref name="negative"/> (so king − man + woman is MostSimilar([king, woman], [man])); the
    /// query words themselves are left out.
    /// </summary>
    public IReadOnlyList<(string Word, double Similarity)> MostSimilar(IEnumerable<string> positive, IEnumerable<string>? negative = null, int topn = 10)
    {
        var pos = positive.ToList();
        var neg = (negative ?? []).ToList();
        if (pos.Count + neg.Count == 0) throw new ArgumentException("give at least one word", nameof(positive));
        var query = new float[Dimension];
        foreach (string w in pos) VectorMath.AddScaled(query, UnitVector(w), 1);
        foreach (string w in neg) VectorMath.AddScaled(query, UnitVector(w), -1);
        VectorMath.Scale(query, 1f / (pos.Count + neg.Count));
        VectorMath.Normalize(query);
        var exclude = new HashSet<int>(pos.Concat(neg).Select(Require));
        return MostSimilarToVector(query, topn, exclude);
    }

    /// <summary>The <paramref name="topn"/> words closest by cosine to <paramref name="vector"/>.</summary>
    public IReadOnlyList<(string Word, double Similarity)> MostSimilarToVector(ReadOnlySpan<float> vector, int topn = 10, IReadOnlySet<int>? exclude = null)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"vector has {vector.Length} values, expected {Dimension}", nameof(vector));
        float[] q = vector.ToArray();
        VectorMath.Normalize(q);
        var sims = new float[Count];
        float[] unit = Unit();
        Parallel.For(0, Count, i => sims[i] = VectorMath.Dot(unit.AsSpan(i * Dimension, Dimension), q));
        var heap = new PriorityQueue<int, float>(); // min-heap of the best topn
        for (int i = 0; i < Count; ++i)
        {
            if (exclude is not null && exclude.Contains(i)) continue;
            if (heap.Count < topn) heap.Enqueue(i, sims[i]);
            else if (topn > 0 && sims[i] > sims[heap.Peek()]) { heap.Dequeue(); heap.Enqueue(i, sims[i]); }
        }
        var result = new List<(string, double)>(heap.Count);
        while (heap.TryDequeue(out int i, out float s)) result.Add((_words[i], s));
        result.Reverse();
        return result;
    }

    /// <summary>The word furthest from the mean of the group (gensim's doesnt_match).</summary>
    public string DoesntMatch(IEnumerable<string> words)
    {
        var list = words.Where(Contains).ToList();
        if (list.Count == 0) throw new ArgumentException("none of the words has a vector", nameof(words));
        float[] mean = Mean(list, unit: true, nameof(words));
        VectorMath.Normalize(mean);
        return list.OrderBy(w => VectorMath.Dot(UnitVector(w), mean)).First();
    }

    /// <summary>The candidate most similar to <paramref name="word"/>.</summary>
    public string MostSimilarToGiven(string word, IEnumerable<string> candidates)
    {
        var list = candidates.ToList();
        if (list.Count == 0) throw new ArgumentException("no candidates", nameof(candidates));
        return list.OrderByDescending(c => Similarity(word, c)).First();
    }

    /// <summary>1 + the number of words closer to <paramref name="a"/> than <paramref name="b"/> is (gensim's rank).</summary>
    public int Rank(string a, string b)
    {
        int ia = Require(a);
        float target = VectorMath.Dot(UnitRow(ia), UnitVector(b));
        int closer = 0;
        for (int i = 0; i < Count; ++i)
            if (i != ia && VectorMath.Dot(UnitRow(ia), UnitRow(i)) > target) ++closer;
        return closer + 1;
    }
}

using Slovo.Training;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Embeddings;

// Shapes: B words in a batch, L longest word (characters), E character embedding, H hidden size, D vector size.

/// <summary>
/// The char-level alternative to <see cref="TrigramOovModel"/>: a word's characters run through a bidirectional LSTM
/// (variable lengths, packed), the final states of both directions are joined and projected to the vector size,
/// trained to regress known words' vectors.
/// </summary>
public sealed class CharLstmOovModel : IDisposable
{
    private const long Pad = 0, Unknown = 1;
    private readonly Dictionary<char, long> _chars;
    private readonly Embedding _embedding;
    private readonly LSTM _lstm;
    private readonly Linear _project;

    /// <summary>The output vector size.</summary>
    public int Dimension { get; }

    private CharLstmOovModel(Dictionary<char, long> chars, int dimension, int charDim, int hidden)
    {
        (_chars, Dimension) = (chars, dimension);
        _embedding = new Embedding(chars.Count + 2, charDim, paddingIdx: Pad);
        _lstm = new LSTM(charDim, hidden, batchFirst: true, bidirectional: true);
        _project = new Linear(2 * hidden, dimension);
    }

    private IEnumerable<Tensor> Parameters() => _embedding.Parameters().Concat(_lstm.Parameters()).Concat(_project.Parameters());

    /// <summary>Trains on every word of <paramref name="vectors"/> except <paramref name="holdOut"/>, in shuffled batches (seeded).</summary>
    public static CharLstmOovModel Train(KeyedVectors vectors, OovLoss loss = OovLoss.Cosine, int epochs = 5, int batchSize = 256,
                                         double lr = 3e-3, int seed = 0, int charDim = 32, int hidden = 128, IReadOnlySet<string>? holdOut = null,
                                         Action<TrainingProgress>? onProgress = null)
    {
        var words = vectors.Words.Where(w => w.Length > 0 && (holdOut is null || !holdOut.Contains(w))).ToList();
        if (words.Count == 0) throw new ArgumentException("no words to train on", nameof(vectors));
        var chars = new Dictionary<char, long>();
        foreach (char c in words.SelectMany(w => w).Distinct().Order()) chars[c] = chars.Count + 2;
        CharLstmOovModel model = RandomGenerator.Seeded((ulong)seed, () => new CharLstmOovModel(chars, vectors.Dimension, charDim, hidden));
        using var opt = new Adam(model.Parameters(), lr: lr);
        VectorRegression.Fit(new ModuleList(model._embedding, model._lstm, model._project), vectors, words, model.Forward, opt, loss, epochs, batchSize, seed, onProgress);
        return model;
    }

    private Tensor Forward(IReadOnlyList<string> words)
    {
        int longest = words.Max(w => w.Length);
        var ids = new long[words.Count * longest];
        var lengths = new long[words.Count];
        for (int b = 0; b < words.Count; ++b)
        {
            lengths[b] = words[b].Length;
            for (int i = 0; i < words[b].Length; ++i) ids[b * longest + i] = _chars.GetValueOrDefault(words[b][i], Unknown);
        }
        using Tensor x = Tensor.From(ids, words.Count, longest);                                // (B, L)
        using Tensor emb = _embedding.Forward(x);                                               // (B, L, E)
        using Tensor lens = Tensor.From(lengths);
        (Tensor output, (Tensor h, Tensor c)) = _lstm.Forward(emb, lengths: lens);
        using (output) using (c) using (h)
        {
            using Tensor both = Tensor.Cat([h[0], h[1]], 1);                                    // (B, 2H): forward and backward final states
            return _project.Forward(both);                                                      // (B, D)
        }
    }

    /// <summary>The predicted vector of <paramref name="word"/>, or null when it has no known character.</summary>
    public float[]? Vector(string word)
    {
        if (word.Length == 0 || !word.Any(_chars.ContainsKey)) return null;
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        return Forward([word]).ToArray<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _embedding.Dispose();
        _lstm.Dispose();
        _project.Dispose();
    }
}

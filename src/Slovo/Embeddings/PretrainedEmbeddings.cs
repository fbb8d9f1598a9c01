using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Embeddings;

/// <summary>Loads pretrained word vectors into a model's embedding layer.</summary>
public static class PretrainedEmbeddings
{
    /// <summary>
    /// Copies the vector of every vocabulary token found in <paramref name="vectors"/> into row <c>id</c> of
    /// <paramref name="embedding"/> (the padding row is left alone); returns how many were found. Other rows keep their
    /// initialisation. <paramref name="freeze"/> stops the embedding from training.
    /// </summary>
    public static int Copy(Embedding embedding, KeyedVectors vectors, IReadOnlyList<string> vocabulary, int? padId, bool freeze = false)
    {
        long rows = embedding.Weight.Size(0), dim = embedding.Weight.Size(1);
        if (vectors.Dimension != dim)
            throw new ArgumentException($"the vectors have {vectors.Dimension} dimensions but the embedding has {dim}", nameof(vectors));
        if (vocabulary.Count != rows)
            throw new ArgumentException($"the vocabulary has {vocabulary.Count} tokens but the embedding {rows} rows", nameof(vocabulary));
        int found = 0;
        using (LibTorch.NoGrad())
            for (int id = 0; id < vocabulary.Count; ++id)
            {
                if (id == padId || !vectors.Contains(vocabulary[id])) continue;
                using Tensor row = embedding.Weight[id];
                using Tensor v = Tensor.From(vectors[vocabulary[id]].ToArray());
                row.Copy_(v);
                ++found;
            }
        embedding.Frozen = freeze;
        return found;
    }
}

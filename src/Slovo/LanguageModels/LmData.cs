using Slovo.Text;
using Slovo.Training;

namespace Slovo.LanguageModels;

/// <summary>A padded batch of whole sequences (SOS … EOS): <see cref="Ids"/> is (B, T) row-major, padded with the pad id.</summary>
public sealed record LmBatch(long[] Ids, int Rows, int Length)
{
    /// <summary>The columns [start, start + length) of every row, as a (B, length) array.</summary>
    public long[] Columns(int start, int length)
    {
        var x = new long[Rows * length];
        for (int b = 0; b < Rows; ++b) Array.Copy(Ids, b * Length + start, x, b * length, length);
        return x;
    }

    /// <summary>The rows [start, start + count) as a batch of their own (a data-parallel rank's part).</summary>
    public LmBatch Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"rows [{start}, {start + count}) are outside the batch's {Rows}");
        return new LmBatch(Ids[(start * Length)..((start + count) * Length)], count, Length);
    }
}

/// <summary>Length-bucketed batching: similar lengths share a batch, so little of it is padding.</summary>
public static class LmBatching
{
    /// <summary>
    /// Groups sequences into batches of <paramref name="batchSize"/> with similar lengths, padded with
    /// <paramref name="padId"/>. With <paramref name="rng"/>, ties in length are broken randomly and the batch order is
    /// shuffled; without it, the order is fixed (for evaluation).
    /// </summary>
    public static List<LmBatch> Bucketed(IReadOnlyList<int[]> sequences, int batchSize, int padId, Random? rng = null)
    {
        var batches = new List<LmBatch>();
        foreach (int[] rows in LengthBuckets.Groups(sequences.Select(s => s.Length).ToList(), batchSize, rng))
        {
            int length = rows.Max(r => sequences[r].Length);
            var ids = new long[rows.Length * length];
            Array.Fill(ids, padId);
            for (int r = 0; r < rows.Length; ++r)
            {
                int[] s = sequences[rows[r]];
                for (int t = 0; t < s.Length; ++t) ids[r * length + t] = s[t];
            }
            batches.Add(new LmBatch(ids, rows.Length, length));
        }
        return batches;
    }
}

/// <summary>A corpus split into training and validation texts and encoded with a vocabulary built from the training part.</summary>
public sealed record LmDataset(Vocabulary Vocab, IReadOnlyList<string> TrainTexts, IReadOnlyList<string> ValidTexts,
                               IReadOnlyList<int[]> Train, IReadOnlyList<int[]> Valid)
{
    /// <summary>Characters the validation targets cover: each text's length plus one for its end (bits per character).</summary>
    public long ValidChars => ValidTexts.Sum(t => (long)t.Length + 1);

    /// <summary>Target tokens in the training part (EOS included).</summary>
    public long TrainTokens => Train.Sum(s => (long)s.Length - 1);

    /// <summary>Splits <paramref name="texts"/> with a fixed seed, builds the vocabulary from the training texts only (or
    /// uses <paramref name="vocab"/>), and encodes both parts as SOS … EOS sequences.</summary>
    public static LmDataset Create(IReadOnlyList<string> texts, double validFraction, int seed,
                                   Func<IReadOnlyList<string>, Vocabulary>? buildVocab = null, Vocabulary? vocab = null)
    {
        if (buildVocab is null && vocab is null) throw new ArgumentException("give a vocabulary or a way to build one", nameof(vocab));
        (List<string> train, List<string> valid) = Corpus.Split(texts, validFraction, seed);
        vocab ??= buildVocab!(train);
        int[][] Encode(List<string> part)
        {
            var result = new int[part.Count][];
            Parallel.For(0, part.Count, i => result[i] = vocab.EncodeSequence(part[i]));
            return result;
        }
        return new LmDataset(vocab, train, valid, Encode(train), Encode(valid));
    }
}

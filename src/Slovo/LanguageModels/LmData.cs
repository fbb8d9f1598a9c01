using System.Text;
using System.Text.Json;

namespace Slovo.LanguageModels;

/// <summary>Readers for language-model corpora and the seeded train/validation split.</summary>
public static class LmCorpus
{
    /// <summary>
    /// arXiv metadata (a JSON array of objects with "title" and "summary"): one text per paper, "title ; summary" with
    /// line breaks turned into spaces, as the course prepared it.
    /// </summary>
    public static List<string> ReadArxiv(string path)
    {
        using FileStream stream = OpenOrExplain(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid JSON ({e.Message}); expected an array of {{\"title\", \"summary\"}} objects"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path}: expected a JSON array of {{\"title\", \"summary\"}} objects");
            var texts = new List<string>();
            int i = 0;
            foreach (JsonElement paper in doc.RootElement.EnumerateArray())
            {
                if (paper.ValueKind != JsonValueKind.Object || !paper.TryGetProperty("title", out JsonElement title) || !paper.TryGetProperty("summary", out JsonElement summary)
                    || title.ValueKind != JsonValueKind.String || summary.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}: entry {i} lacks a string \"title\" or \"summary\"");
                texts.Add(Flatten(title.GetString()! + " ; " + summary.GetString()!));
                ++i;
            }
            return texts;
        }
    }

    private static string Flatten(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (char c in s)
        {
            bool ws = char.IsWhiteSpace(c);
            if (ws && !space && sb.Length > 0) sb.Append(' ');
            else if (!ws) sb.Append(c);
            space = ws;
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>One text per non-empty line.</summary>
    public static List<string> ReadLines(string path) =>
        ReadStrict(path).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();

    /// <summary>One text per paragraph (blocks separated by blank lines), line breaks kept inside a block — a stanza of a poem.</summary>
    public static List<string> ReadParagraphs(string path)
    {
        var texts = new List<string>();
        var block = new List<string>();
        foreach (string raw in ReadStrict(path).Split('\n'))
        {
            string line = raw.TrimEnd('\r', ' ', '\t');
            if (line.Length == 0)
            {
                if (block.Count > 0) texts.Add(string.Join('\n', block));
                block.Clear();
            }
            else block.Add(line);
        }
        if (block.Count > 0) texts.Add(string.Join('\n', block));
        return texts;
    }

    /// <summary>Reads a corpus by format: "arxiv" (JSON), "lines" or "paragraphs".</summary>
    public static List<string> Read(string path, string format) => format switch
    {
        "arxiv" => ReadArxiv(path),
        "lines" => ReadLines(path),
        "paragraphs" => ReadParagraphs(path),
        _ => throw new ArgumentException($"unknown corpus format '{format}'; use arxiv, lines or paragraphs", nameof(format)),
    };

    /// <summary>Joins every <paramref name="count"/> consecutive texts into one, line breaks kept (e.g. 8 lines of a poem per text).</summary>
    public static List<string> JoinLines(IReadOnlyList<string> lines, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return lines.Chunk(count).Select(c => string.Join('\n', c)).ToList();
    }

    /// <summary>A seeded shuffle split: <paramref name="validFraction"/> of the items (at least one) go to validation.</summary>
    public static (List<T> Train, List<T> Valid) Split<T>(IReadOnlyList<T> items, double validFraction, int seed)
    {
        if (validFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validFraction), validFraction, "must be in (0, 1)");
        if (items.Count < 2) throw new ArgumentException($"need at least 2 texts to split, got {items.Count}", nameof(items));
        int[] order = Enumerable.Range(0, items.Count).ToArray();
        new Random(seed).Shuffle(order);
        int nValid = Math.Clamp((int)Math.Round(items.Count * validFraction), 1, items.Count - 1);
        return (order[nValid..].Select(i => items[i]).ToList(), order[..nValid].Select(i => items[i]).ToList());
    }

    private static FileStream OpenOrExplain(string path) =>
        File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"corpus not found: {Path.GetFullPath(path)}", path);

    private static string ReadStrict(string path)
    {
        using FileStream s = OpenOrExplain(path);
        using var reader = new StreamReader(s, new UTF8Encoding(false, throwOnInvalidBytes: true));
        try { return reader.ReadToEnd().TrimStart('\uFEFF'); }
        catch (DecoderFallbackException e) { throw new InvalidDataException($"{path} is not valid UTF-8 (bad byte at index {e.Index}); convert it, e.g. iconv -f cp1251 -t utf-8"); }
    }
}

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
        foreach (int[] rows in Groups(sequences.Select(s => s.Length).ToList(), batchSize, rng))
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

/// <summary>A corpus split into training and validation texts and encoded with a vocabulary built from the training part.</summary>
public sealed record LmDataset(LmVocabulary Vocab, IReadOnlyList<string> TrainTexts, IReadOnlyList<string> ValidTexts,
                               IReadOnlyList<int[]> Train, IReadOnlyList<int[]> Valid)
{
    /// <summary>Characters the validation targets cover: each text's length plus one for its end (bits per character).</summary>
    public long ValidChars => ValidTexts.Sum(t => (long)t.Length + 1);

    /// <summary>Target tokens in the training part (EOS included).</summary>
    public long TrainTokens => Train.Sum(s => (long)s.Length - 1);

    /// <summary>Splits <paramref name="texts"/> with a fixed seed, builds the vocabulary from the training texts only (or
    /// uses <paramref name="vocab"/>), and encodes both parts as SOS … EOS sequences.</summary>
    public static LmDataset Create(IReadOnlyList<string> texts, double validFraction, int seed,
                                   Func<IReadOnlyList<string>, LmVocabulary>? buildVocab = null, LmVocabulary? vocab = null)
    {
        if (buildVocab is null && vocab is null) throw new ArgumentException("give a vocabulary or a way to build one", nameof(vocab));
        (List<string> train, List<string> valid) = LmCorpus.Split(texts, validFraction, seed);
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

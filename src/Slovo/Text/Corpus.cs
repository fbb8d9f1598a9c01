using System.Text;
using System.Text.Json;

namespace Slovo.Text;

/// <summary>Readers of text corpora (arXiv JSON, lines, paragraphs) and the seeded train/validation split.</summary>
public static class Corpus
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

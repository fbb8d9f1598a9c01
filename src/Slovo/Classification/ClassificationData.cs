using System.Text;

namespace Slovo.Classification;

/// <summary>A text and its class (0 … K−1).</summary>
public sealed record LabeledText(string Text, int Label);

/// <summary>Readers for classification data: IMDb folders, unlabelled line files (Yelp), "text TAB label" files and
/// "index TAB label" answer keys.</summary>
public static class ClassificationData
{
    /// <summary>
    /// The course's IMDb layout: <c>{root}/{split}/positive</c> and <c>negative</c>, one review per line; a review with a
    /// double quote is wrapped in quotes with inner quotes doubled (CSV style); <c>&lt;br /&gt;</c> becomes a space.
    /// Labels: 1 positive, 0 negative.
    /// </summary>
    public static List<LabeledText> ReadImdb(string root, string split)
    {
        string dir = Path.Combine(root, split);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"IMDb split not found: {Path.GetFullPath(dir)} (expected {split}/positive and {split}/negative)");
        var data = new List<LabeledText>();
        foreach ((string file, int label) in new[] { ("negative", 0), ("positive", 1) })
            foreach (string line in ReadLines(Path.Combine(dir, file)))
                data.Add(new LabeledText(CleanReview(Unquote(line)), label));
        return data;
    }

    /// <summary>Removes CSV-style quoting: a field wrapped in quotes, with inner quotes doubled.</summary>
    public static string Unquote(string line)
    {
        if (line.Length >= 2 && line[0] == '"' && line[^1] == '"') return line[1..^1].Replace("\"\"", "\"");
        return line;
    }

    /// <summary>Replaces HTML line breaks (<c>&lt;br /&gt;</c>, <c>&lt;br&gt;</c>) with spaces.</summary>
    public static string CleanReview(string text) =>
        text.Replace("<br />", " ", StringComparison.OrdinalIgnoreCase).Replace("<br/>", " ", StringComparison.OrdinalIgnoreCase).Replace("<br>", " ", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every line of a UTF-8 file (empty lines kept, so line numbers stay aligned with predictions).</summary>
    public static List<string> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {Path.GetFullPath(path)}", path);
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var lines = new List<string>();
        int n = 0;
        try
        {
            for (string? line; (line = reader.ReadLine()) is not null;) { ++n; lines.Add(line); }
        }
        catch (DecoderFallbackException) { throw new InvalidDataException($"{path}:{n + 1}: not valid UTF-8; convert the file, e.g. iconv -f cp1251 -t utf-8"); }
        return lines;
    }

    /// <summary>"text TAB label" lines (label an integer ≥ 0); a bad line is an error naming file and line.</summary>
    public static List<LabeledText> ReadTsv(string path)
    {
        var data = new List<LabeledText>();
        int n = 0;
        foreach (string line in ReadLines(path))
        {
            ++n;
            if (line.Length == 0) continue;
            int tab = line.LastIndexOf('\t');
            if (tab < 0 || !int.TryParse(line[(tab + 1)..], out int label) || label < 0)
                throw new InvalidDataException($"{path}:{n}: expected \"text<TAB>label\" with an integer label ≥ 0");
            data.Add(new LabeledText(line[..tab], label));
        }
        return data;
    }

    /// <summary>An answer key: "line index TAB label" (index 0-based, into a predictions file).</summary>
    public static Dictionary<int, int> ReadLabels(string path)
    {
        var labels = new Dictionary<int, int>();
        int n = 0;
        foreach (string line in ReadLines(path))
        {
            ++n;
            if (line.Trim().Length == 0) continue;
            string[] f = line.Split('\t');
            if (f.Length != 2 || !int.TryParse(f[0], out int index) || index < 0 || !int.TryParse(f[1], out int label) || label < 0)
                throw new InvalidDataException($"{path}:{n}: expected \"line index<TAB>label\"");
            if (!labels.TryAdd(index, label)) throw new InvalidDataException($"{path}:{n}: index {index} appears twice");
        }
        return labels;
    }
}

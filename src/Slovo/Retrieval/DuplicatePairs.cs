using System.Text;

namespace Slovo.Retrieval;

/// <summary>A labelled question pair.</summary>
public sealed record QuestionPair(bool IsDuplicate, string Question1, string Question2);

/// <summary>Reads the shipped duplicate-question TSV files: <c>label&lt;TAB&gt;question1&lt;TAB&gt;question2</c>.</summary>
public static class DuplicatePairs
{
    /// <summary>Reads every pair; labels "duplicate"/"true" are positive, "non-duplicate"/"false" negative.</summary>
    public static List<QuestionPair> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"pairs file not found: {Path.GetFullPath(path)}", path);
        var pairs = new List<QuestionPair>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            ++lineNo;
            if (line.Length == 0) continue;
            string[] f = line.Split('\t');
            if (f.Length != 3) throw new InvalidDataException($"{path}:{lineNo}: expected label<TAB>question1<TAB>question2, found {f.Length} fields");
            bool dup = f[0].Trim().ToLowerInvariant() switch
            {
                "duplicate" or "true" or "1" => true,
                "non-duplicate" or "false" or "0" => false,
                _ => throw new InvalidDataException($"{path}:{lineNo}: unknown label '{f[0]}' (use duplicate/non-duplicate or true/false)"),
            };
            pairs.Add(new QuestionPair(dup, f[1], f[2]));
        }
        return pairs;
    }
}

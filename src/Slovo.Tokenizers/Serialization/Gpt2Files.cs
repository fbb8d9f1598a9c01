using System.Text;
using System.Text.Json;

namespace Slovo.Tokenizers.Serialization;

/// <summary>Reads GPT-2's original files: <c>encoder.json</c> (token → id) and <c>vocab.bpe</c> (one merge "a b" per line).</summary>
public static class Gpt2Files
{
    /// <summary>The vocabulary and the ranked merges; malformed input is an error naming the file and line.</summary>
    public static (Dictionary<string, int> Vocab, List<(string, string)> Merges) Read(string encoderJson, string vocabBpe) =>
        (ReadVocab(encoderJson), ReadMerges(vocabBpe));

    private static Dictionary<string, int> ReadVocab(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"vocabulary file not found: {path}", path);
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument doc = JsonDocument.Parse(stream);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object of token → id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
                    throw new InvalidDataException($"{path}: token '{p.Name}' has a non-integer id {p.Value}");
                vocab[p.Name] = id;
            }
            if (vocab.Count == 0) throw new InvalidDataException($"{path}: the vocabulary is empty");
            return vocab;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }
    }

    private static List<(string, string)> ReadMerges(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"merges file not found: {path}", path);
        var merges = new List<(string, string)>();
        int lineNo = 0;
        try
        {
            foreach (string raw in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
            {
                ++lineNo;
                string line = raw.TrimEnd('\r');
                if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
                string[] parts = line.Split(' ');
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                    throw new InvalidDataException($"{path}:{lineNo}: expected two tokens separated by one space, got '{line}'");
                merges.Add((parts[0], parts[1]));
            }
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}:{lineNo + 1}: not valid UTF-8");
        }
        return merges;
    }
}

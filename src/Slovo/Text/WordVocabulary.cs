using System.Text.Json;
using System.Text.RegularExpressions;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Text;

/// <summary>Words and punctuation runs (<c>\w+|[^\w\s]+</c>), optionally lowercased; rare words become &lt;unk&gt;.</summary>
public sealed partial class WordVocabulary : Vocabulary
{
    private readonly List<string> _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Lowercase text before splitting it.</summary>
    public bool Lowercase { get; }

    /// <summary>The tokens by id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <inheritdoc />
    public override TokenLevel Level => TokenLevel.Word;

    /// <inheritdoc />
    public override int Size => _tokens.Count;

    /// <summary>A vocabulary over these tokens; the four specials must come first.</summary>
    public WordVocabulary(IReadOnlyList<string> tokens, bool lowercase)
    {
        if (tokens.Count < 4 || tokens[0] != Pad || tokens[1] != Sos || tokens[2] != Eos || tokens[3] != Unk)
            throw new InvalidDataException($"a word vocabulary starts with {Pad} {Sos} {Eos} {Unk}");
        _tokens = tokens.ToList();
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Count; ++i)
            if (!_ids.TryAdd(_tokens[i], i)) throw new InvalidDataException($"the vocabulary holds '{_tokens[i]}' twice");
        Lowercase = lowercase;
        (PadId, SosId, EosId, UnkId) = (0, 1, 2, 3);
    }

    [GeneratedRegex(@"\w+|[^\w\s]+")]
    private static partial Regex WordPunct();

    /// <summary>The words of a text, as this vocabulary splits them.</summary>
    public static IEnumerable<string> Split(string text, bool lowercase) =>
        WordPunct().Matches(lowercase ? text.ToLowerInvariant() : text).Select(m => m.Value);

    /// <summary>Builds a vocabulary from texts: words seen at least <paramref name="minCount"/> times, the most frequent
    /// <paramref name="maxSize"/> at most (ties by spelling, so the result is deterministic).</summary>
    public static WordVocabulary Build(IEnumerable<string> texts, bool lowercase = true, int minCount = 1, int maxSize = int.MaxValue)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string text in texts)
            foreach (string w in Split(text, lowercase)) counts[w] = counts.GetValueOrDefault(w) + 1;
        var words = counts.Where(kv => kv.Value >= minCount && kv.Key is not (Pad or Sos or Eos or Unk))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(Math.Max(0, maxSize - 4)).Select(kv => kv.Key);
        return new WordVocabulary([Pad, Sos, Eos, Unk, .. words], lowercase);
    }

    /// <summary>The id of a word, or <see cref="Vocabulary.UnkId"/>.</summary>
    public int IdOf(string word) => _ids.TryGetValue(word, out int id) ? id : UnkId;

    /// <inheritdoc />
    public override int[] Encode(string text) => Split(text, Lowercase).Select(IdOf).ToArray();

    /// <inheritdoc />
    public override string Decode(IEnumerable<int> ids) =>
        string.Join(' ', ids.Where(i => i != PadId && i != SosId && i != EosId).Select(TokenOf));

    /// <inheritdoc />
    public override string TokenOf(int id) => id >= 0 && id < _tokens.Count ? _tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the vocabulary of {_tokens.Count}");

    /// <inheritdoc />
    public override string ToJson() => JsonSerializer.Serialize(new { level = "word", lowercase = Lowercase, tokens = _tokens });
}

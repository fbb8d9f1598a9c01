using System.Text;
using System.Text.Json;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Text;

/// <summary>Single characters (UTF-16 code units as they occur in the training text); unseen ones become &lt;unk&gt;.</summary>
public sealed class CharVocabulary : Vocabulary
{
    private readonly List<string> _tokens;
    private readonly Dictionary<char, int> _ids = new();

    /// <inheritdoc />
    public override TokenLevel Level => TokenLevel.Char;

    /// <inheritdoc />
    public override int Size => _tokens.Count;

    /// <summary>A vocabulary over these tokens: the four specials, then one-character strings.</summary>
    public CharVocabulary(IReadOnlyList<string> tokens)
    {
        if (tokens.Count < 4 || tokens[0] != Pad || tokens[1] != Sos || tokens[2] != Eos || tokens[3] != Unk)
            throw new InvalidDataException($"a character vocabulary starts with {Pad} {Sos} {Eos} {Unk}");
        _tokens = tokens.ToList();
        for (int i = 4; i < _tokens.Count; ++i)
        {
            if (_tokens[i].Length != 1) throw new InvalidDataException($"character vocabulary entry {i} is '{_tokens[i]}', not one character");
            if (!_ids.TryAdd(_tokens[i][0], i)) throw new InvalidDataException($"the vocabulary holds '{_tokens[i]}' twice");
        }
        (PadId, SosId, EosId, UnkId) = (0, 1, 2, 3);
    }

    /// <summary>Every character of the texts, in ordinal order.</summary>
    public static CharVocabulary Build(IEnumerable<string> texts)
    {
        var seen = new HashSet<char>();
        foreach (string t in texts) seen.UnionWith(t);
        return new CharVocabulary([Pad, Sos, Eos, Unk, .. seen.Order().Select(c => c.ToString())]);
    }

    /// <inheritdoc />
    public override int[] Encode(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; ++i) ids[i] = _ids.TryGetValue(text[i], out int id) ? id : UnkId;
        return ids;
    }

    /// <inheritdoc />
    public override string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int i in ids)
            if (i == UnkId) sb.Append('\uFFFD');
            else if (!IsSpecial(i)) sb.Append(TokenOf(i));
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string TokenOf(int id) => id >= 0 && id < _tokens.Count ? _tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the vocabulary of {_tokens.Count}");

    /// <inheritdoc />
    public override string ToJson() => JsonSerializer.Serialize(new { level = "char", tokens = _tokens });
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Text;

/// <summary>The unit a language model predicts.</summary>
public enum TokenLevel
{
    /// <summary>Words and punctuation runs (the course's WordPunct tokenization).</summary>
    Word,
    /// <summary>Single characters.</summary>
    Char,
    /// <summary>Subwords from a tokenizer.json (e.g. a byte-level BPE trained by Slovo).</summary>
    Subword,
}

/// <summary>
/// Turns text into a language model's ids and back. Every vocabulary holds a padding, a start, an end and an unknown
/// token (ids <see cref="PadId"/>, <see cref="SosId"/>, <see cref="EosId"/>, <see cref="UnkId"/>); a sequence is
/// read as SOS, its tokens, EOS. Saved as JSON beside the model.
/// </summary>
public abstract class Vocabulary
{
    /// <summary>The special tokens' spellings.</summary>
    public const string Pad = "<pad>", Sos = "<s>", Eos = "</s>", Unk = "<unk>";

    /// <summary>The token level.</summary>
    public abstract TokenLevel Level { get; }

    /// <summary>The number of ids.</summary>
    public abstract int Size { get; }

    /// <summary>Id of the padding token (its targets are ignored).</summary>
    public int PadId { get; protected init; }

    /// <summary>Id of the start-of-sequence token.</summary>
    public int SosId { get; protected init; }

    /// <summary>Id of the end-of-sequence token.</summary>
    public int EosId { get; protected init; }

    /// <summary>Id of the unknown token.</summary>
    public int UnkId { get; protected init; }

    /// <summary>The ids of a text, without SOS/EOS.</summary>
    public abstract int[] Encode(string text);

    /// <summary>The text of ids; special tokens are skipped.</summary>
    public abstract string Decode(IEnumerable<int> ids);

    /// <summary>The spelling of one id.</summary>
    public abstract string TokenOf(int id);

    /// <summary>The ids of a text wrapped as SOS, tokens, EOS.</summary>
    public int[] EncodeSequence(string text) => [SosId, .. Encode(text), EosId];

    /// <summary>Whether an id is one of the four special tokens.</summary>
    public bool IsSpecial(int id) => id == PadId || id == SosId || id == EosId || id == UnkId;

    /// <summary>The JSON that <see cref="FromJson"/> reads back.</summary>
    public abstract string ToJson();

    /// <summary>Reads a vocabulary written by <see cref="ToJson"/>; malformed JSON is an <see cref="InvalidDataException"/>.</summary>
    public static Vocabulary FromJson(string json)
    {
        try
        {
            JsonNode root = JsonNode.Parse(json) ?? throw new InvalidDataException("empty vocabulary JSON");
            string level = root["level"]?.GetValue<string>() ?? throw new InvalidDataException("vocabulary JSON lacks \"level\"");
            JsonNode Field(string name) => root[name] ?? throw new InvalidDataException($"{level} vocabulary JSON lacks \"{name}\"");
            return level switch
            {
                "word" => new WordVocabulary(Field("tokens").AsArray().Select(t => t!.GetValue<string>()).ToList(), Field("lowercase").GetValue<bool>()),
                "char" => new CharVocabulary(Field("tokens").AsArray().Select(t => t!.GetValue<string>()).ToList()),
                "subword" => new SubwordVocabulary(TokenizerJson.Parse(Field("tokenizer").ToJsonString()), root["special"]?["sos"]?.GetValue<int>(),
                                                   root["special"]?["eos"]?.GetValue<int>(), root["special"]?["pad"]?.GetValue<int>()),
                _ => throw new InvalidDataException($"unknown vocabulary level '{level}' (expected word, char or subword)"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"malformed vocabulary JSON ({e.Message})", e);
        }
    }

    /// <summary>Reads a <c>vocab.json</c> written by a language-model run; a broken file is an error naming it and the fix.</summary>
    public static Vocabulary Load(string path)
    {
        try { return FromJson(File.ReadAllText(path)); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}; it is not a vocabulary written by 'slovo lm train' (delete the run folder and train again)", e);
        }
    }
}

/// <summary>The subword models <see cref="SubwordVocabulary.Train"/> can train.</summary>
public enum SubwordModel
{
    /// <summary>Byte-pair encoding over characters.</summary>
    Bpe,

    /// <summary>WordPiece (BERT's continuation-prefixed pieces).</summary>
    WordPiece,

    /// <summary>Unigram language model (SentencePiece's).</summary>
    Unigram,
}

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

/// <summary>
/// Subwords of a <see cref="Tokenizer"/>: its &lt;pad&gt;, &lt;s&gt;, &lt;/s&gt; and &lt;unk&gt; tokens, or, in a tokenizer without them, its
/// end-of-text token (GPT-2's &lt;|endoftext|&gt;) as start, end and padding alike, as GPT-2 uses it.
/// </summary>
public sealed class SubwordVocabulary : Vocabulary
{
    /// <summary>GPT-2's one special token.</summary>
    public const string EndOfText = "<|endoftext|>";

    private readonly bool _explicitIds;

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <inheritdoc />
    public override TokenLevel Level => TokenLevel.Subword;

    /// <inheritdoc />
    public override int Size => Tokenizer.VocabSize;

    /// <summary>
    /// Wraps a tokenizer. The start, end and padding ids are, in this order of preference: the ones given (a Hugging Face
    /// model's bos/eos/pad_token_id), the tokenizer's &lt;s&gt; &lt;/s&gt; &lt;pad&gt;, its <see cref="EndOfText"/> token. The unknown id is
    /// &lt;unk&gt;'s, or -1 where the tokenizer has none (a byte-level one needs none). A start or end that cannot be found is an
    /// error that names the fix.
    /// </summary>
    public SubwordVocabulary(Tokenizer tokenizer, int? sos = null, int? eos = null, int? pad = null)
    {
        Tokenizer = tokenizer;
        int? endOfText = tokenizer.TokenToId(EndOfText);
        int Need(int? given, string name) => given ?? tokenizer.TokenToId(name) ?? endOfText ?? throw new InvalidDataException(
            $"the tokenizer has no '{name}' token; a language model needs {Pad} {Sos} {Eos} {Unk} (train it with --special-tokens \"{Pad},{Sos},{Eos},{Unk}\") " +
            $"or an end-of-text token {EndOfText}");
        SosId = Need(sos, Sos);
        EosId = Need(eos, Eos);
        PadId = pad ?? tokenizer.TokenToId(Pad) ?? EosId;
        UnkId = tokenizer.TokenToId(Unk) ?? -1;
        foreach (int id in new[] { SosId, EosId, PadId })
            if (id < 0 || id >= tokenizer.VocabSize) throw new InvalidDataException($"special token id {id} lies outside the tokenizer's {tokenizer.VocabSize} ids");
        _explicitIds = sos is not null || eos is not null || pad is not null;
    }

    /// <summary>Trains a byte-level BPE (GPT-2 split, lossless on any text) of <paramref name="vocabSize"/> tokens,
    /// the four special tokens included.</summary>
    public static SubwordVocabulary TrainByteLevelBpe(IEnumerable<string> texts, int vocabSize, IProgress<TrainerProgress>? progress = null) =>
        new(TokenizerTrainer.Train(texts, new TokenizerTrainingOptions
        {
            Model = TokenizerModel.ByteLevelBpe, VocabSize = vocabSize, MinFrequency = 2, SpecialTokens = [Pad, Sos, Eos, Unk], Progress = progress,
        }));

    /// <summary>
    /// Trains a subword tokenizer of kind <paramref name="model"/> on words split at whitespace and punctuation;
    /// <paramref name="vocabSize"/> counts the four special tokens.
    /// </summary>
    public static SubwordVocabulary Train(IEnumerable<string> texts, SubwordModel model, int vocabSize, bool lowercase = true, IProgress<TrainerProgress>? progress = null) =>
        new(TokenizerTrainer.Train(texts, new TokenizerTrainingOptions
        {
            Model = model switch
            {
                SubwordModel.Bpe => TokenizerModel.Bpe,
                SubwordModel.WordPiece => TokenizerModel.WordPiece,
                SubwordModel.Unigram => TokenizerModel.Unigram,
                _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown subword model"),
            },
            VocabSize = vocabSize, MinFrequency = 2, SpecialTokens = [Pad, Sos, Eos, Unk], UnkToken = Unk, Lowercase = lowercase, Progress = progress,
        }));

    /// <inheritdoc />
    public override int[] Encode(string text) => Tokenizer.Encode(text, addSpecialTokens: false).Ids.ToArray();

    /// <inheritdoc />
    public override string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids.Where(i => !IsSpecial(i) || i == UnkId).ToList(), skipSpecialTokens: true);

    /// <inheritdoc />
    public override string TokenOf(int id) => Tokenizer.IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the vocabulary of {Size}");

    /// <inheritdoc />
    public override string ToJson()
    {
        var root = new JsonObject { ["level"] = "subword", ["tokenizer"] = JsonNode.Parse(TokenizerJson.ToJson(Tokenizer)) };
        if (_explicitIds) root["special"] = new JsonObject { ["sos"] = SosId, ["eos"] = EosId, ["pad"] = PadId };
        return root.ToJsonString();
    }
}

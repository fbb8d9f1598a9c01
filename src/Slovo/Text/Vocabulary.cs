using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;

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

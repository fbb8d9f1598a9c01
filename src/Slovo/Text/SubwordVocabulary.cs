using System.Text.Json.Nodes;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Text;

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

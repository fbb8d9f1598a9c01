using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Processors;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Tokenizers.Tests;

/// <summary>The extension points: one trainer interface, post-processors, the unknown token, pre-tokenizers that map pieces.</summary>
public class SeamTests
{
    private static readonly string[] Texts =
    [
        "the cat sat on the mat", "the dog sat on the log", "cats and dogs are pets", "a mat, a log, a cat!",
        "Привет, мир: кошка сидит на ковре", "the the the cat cat dog",
    ];

    private static Dictionary<string, long> Count(IPreTokenizer pre)
    {
        var counter = new WordCounter(null, pre);
        foreach (string t in Texts) counter.Add(t);
        return counter.Counts;
    }

    [Theory]
    [InlineData(TokenizerModel.Bpe)]
    [InlineData(TokenizerModel.ByteLevelBpe)]
    [InlineData(TokenizerModel.WordPiece)]
    [InlineData(TokenizerModel.WordLevel)]
    [InlineData(TokenizerModel.Unigram)]
    public void EveryModelTrainsThroughOneInterfaceAndRoundTrips(TokenizerModel kind)
    {
        string[] specials = kind == TokenizerModel.ByteLevelBpe ? ["<|endoftext|>"] : ["<unk>", "<pad>"];
        int size = kind == TokenizerModel.ByteLevelBpe ? 300 : 60; // the byte alphabet alone is 256
        ITrainer trainer = Trainers.Trainers.Create(kind, new BpeTrainerOptions
        {
            VocabSize = size, MinFrequency = 1, SpecialTokens = specials, UnkToken = kind == TokenizerModel.ByteLevelBpe ? null : "<unk>",
        });
        Assert.Equal(size, trainer.Options.VocabSize);
        IModel model = trainer.Train(Count(trainer.PreTokenizer));
        Assert.InRange(model.VocabSize, specials.Length + 1, size);
        Assert.Equal(kind == TokenizerModel.ByteLevelBpe ? null : "<unk>", model.UnkToken);
        if (model.UnkToken is { } unk) Assert.NotNull(model.TokenToId(unk));

        // The interface trains what the trainer's own entry point trains.
        Dictionary<string, long> counts = Count(trainer.PreTokenizer);
        IReadOnlyDictionary<string, int> direct = kind switch
        {
            TokenizerModel.Bpe => BpeTrainer.Train(counts, new BpeTrainerOptions { VocabSize = 60, MinFrequency = 1, SpecialTokens = specials }, "<unk>").Vocab,
            TokenizerModel.ByteLevelBpe => BpeTrainer.Train(counts, new BpeTrainerOptions { VocabSize = size, MinFrequency = 1, SpecialTokens = specials, ByteLevelAlphabet = true }).Vocab,
            TokenizerModel.WordPiece => WordPieceTrainer.Train(counts, new BpeTrainerOptions { VocabSize = 60, MinFrequency = 1, SpecialTokens = specials }, "<unk>").Vocab,
            TokenizerModel.WordLevel => WordLevelTrainer.Train(counts, 60, 1, specials, "<unk>").Vocab,
            _ => UnigramTrainer.Train(counts, new UnigramTrainerOptions { VocabSize = 60, SpecialTokens = specials, UnkToken = "<unk>" }).Vocab,
        };
        Assert.Equal(direct.OrderBy(kv => kv.Value), model.Vocab.OrderBy(kv => kv.Value));

        var tokenizer = new Tokenizer(model, specials.Select(s => new AddedToken(s, model.TokenToId(s)!.Value)))
        {
            PreTokenizer = trainer.PreTokenizer, Decoder = trainer.Decoder,
        };
        string text = "the cat sat on the log";
        TokenEncoding e = tokenizer.Encode(text);
        if (trainer.Decoder is not null) Assert.Equal(text, tokenizer.Decode(e.Ids).Trim());
        foreach ((int s, int end) in e.Offsets) Assert.InRange(s, 0, end);
    }

    [Fact]
    public void AnyPostProcessorAddsItsTokensAndTruncationLeavesThemRoom()
    {
        var model = new WordLevel(new Dictionary<string, int> { ["[UNK]"] = 0, ["<bos>"] = 1, ["a"] = 2, ["b"] = 3 }, "[UNK]");
        var tokenizer = new Tokenizer(model) { PreTokenizer = new WhitespacePreTokenizer(), PostProcessor = new BosOnly(1) };
        Assert.Equal([1, 2, 3, 2], tokenizer.Encode("a b a").Ids);
        Assert.Equal([1, 2], tokenizer.Encode("a b a", maxLength: 2).Ids);
        Assert.Equal([2, 3, 2], tokenizer.Encode("a b a", addSpecialTokens: false).Ids);
        Assert.Equal([1, 0, 0, 0], tokenizer.Encode("a b a").SpecialTokensMask);
        Assert.Throws<NotSupportedException>(() => Serialization.TokenizerJson.ToJson(tokenizer));
    }

    private sealed class BosOnly(int id) : IPostProcessor
    {
        public int Added => 1;

        public TokenEncoding Process(TokenEncoding e) => new()
        {
            Ids = [id, .. e.Ids], Tokens = ["<bos>", .. e.Tokens], Offsets = [(0, 0), .. e.Offsets], AttentionMask = [1, .. e.AttentionMask],
            SpecialTokensMask = [1, .. e.SpecialTokensMask], TypeIds = [0, .. e.TypeIds],
        };
    }

    [Fact]
    public void APreTokenizerCanPrepareTextAndMapPiecesForTheModel()
    {
        // A pre-tokenizer that upper-cases pieces for the model (a vocabulary of upper-case words) and marks the start:
        // the tokenizer knows nothing of either, and offsets still point into the caller's text.
        var model = new WordLevel(new Dictionary<string, int> { ["[UNK]"] = 0, ["^"] = 1, ["AB"] = 2, ["CD"] = 3 }, "[UNK]");
        var tokenizer = new Tokenizer(model) { PreTokenizer = new Shouting() };
        TokenEncoding e = tokenizer.Encode("ab cd");
        Assert.Equal([1, 2, 3], e.Ids);
        Assert.Equal([(0, 0), (0, 2), (3, 5)], e.Offsets);
        var byteLevel = new ByteLevelPreTokenizer(addPrefixSpace: true);
        NormalizedText prepared = byteLevel.Prepare(NormalizedText.Identity("hi", 4), origin: 4, first: true);
        Assert.Equal(" hi", prepared.Text);
        Assert.Equal("hi", byteLevel.Prepare(NormalizedText.Identity("hi", 4), origin: 4, first: false).Text);
        Assert.Equal("Ġhi", byteLevel.MapPiece(" hi", out int[]? source));
        Assert.Equal([0, 1, 2], source!);
    }

    private sealed class Shouting : IPreTokenizer
    {
        private readonly WhitespacePreTokenizer _words = new();

        public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces) => _words.Split(text, pieces);

        public NormalizedText Prepare(NormalizedText text, int origin, bool first) =>
            first ? new NormalizedText("^ " + text.Text, [origin, origin, .. text.Starts], [origin, origin, .. text.Ends]) : text;

        public string? MapPiece(ReadOnlySpan<char> piece, out int[]? source)
        {
            source = Enumerable.Range(0, piece.Length).ToArray();
            return piece.ToString().ToUpperInvariant();
        }
    }
}

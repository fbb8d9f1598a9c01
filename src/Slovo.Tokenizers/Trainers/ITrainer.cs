using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Trainers;

/// <summary>The tokenization models Slovo trains.</summary>
public enum TokenizerModel
{
    /// <summary>Byte-pair encoding over characters.</summary>
    Bpe,

    /// <summary>Byte-pair encoding over GPT-2's byte alphabet (any text, no unknown token).</summary>
    ByteLevelBpe,

    /// <summary>WordPiece (BERT's "##"-continued pieces).</summary>
    WordPiece,

    /// <summary>Whole words.</summary>
    WordLevel,

    /// <summary>Unigram language model (SentencePiece's).</summary>
    Unigram,
}

/// <summary>Settings every tokenizer trainer shares; each trainer's own options add to these.</summary>
public abstract record TrainerOptions
{
    /// <summary>The vocabulary size to reach (special tokens included).</summary>
    public virtual int VocabSize { get; init; } = 30_000;

    /// <summary>Pairs (BPE, WordPiece) or words (word level) seen fewer times are not merged or kept.</summary>
    public long MinFrequency { get; init; } = 2;

    /// <summary>Tokens given the first ids, in order.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [];

    /// <summary>The token for what the vocabulary cannot spell (it must be a special token), or null for none.</summary>
    public virtual string? UnkToken { get; init; }

    /// <summary>Receives progress of the training loop.</summary>
    public IProgress<TrainerProgress>? Progress { get; init; }
}

/// <summary>Learns a tokenization model from word counts (as <see cref="WordCounter"/> makes them).</summary>
public interface ITrainer
{
    /// <summary>The settings.</summary>
    TrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="wordCounts"/>.</summary>
    IModel Train(IReadOnlyDictionary<string, long> wordCounts);

    /// <summary>The pre-tokenizer the words must be counted with, and the model later used with.</summary>
    IPreTokenizer PreTokenizer { get; }

    /// <summary>The decoder that turns the model's tokens back into text (null: tokens joined by spaces).</summary>
    IDecoder? Decoder { get; }
}

/// <summary>Makes the trainer of a <see cref="TokenizerModel"/>.</summary>
public static class Trainers
{
    /// <summary>
    /// The trainer of <paramref name="model"/> with the shared <paramref name="options"/> (a trainer's own options type
    /// may be given instead to set more).
    /// </summary>
    public static ITrainer Create(TokenizerModel model, TrainerOptions options) => model switch
    {
        TokenizerModel.Bpe => new BpeTrainer(Bpe(options)),
        TokenizerModel.ByteLevelBpe => new BpeTrainer(Bpe(options) with { ByteLevelAlphabet = true, UnkToken = null }),
        TokenizerModel.WordPiece => new WordPieceTrainer(Bpe(options)),
        TokenizerModel.WordLevel => new WordLevelTrainer(options as WordLevelTrainerOptions ?? Copy(options, new WordLevelTrainerOptions())),
        TokenizerModel.Unigram => new UnigramTrainer(options as UnigramTrainerOptions ?? Copy(options, new UnigramTrainerOptions())),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown tokenizer model"),
    };

    private static BpeTrainerOptions Bpe(TrainerOptions o) => o as BpeTrainerOptions ?? Copy(o, new BpeTrainerOptions());

    private static T Copy<T>(TrainerOptions from, T to) where T : TrainerOptions => to with
    {
        VocabSize = from.VocabSize, MinFrequency = from.MinFrequency, SpecialTokens = from.SpecialTokens,
        UnkToken = from.UnkToken ?? to.UnkToken, Progress = from.Progress,
    };
}

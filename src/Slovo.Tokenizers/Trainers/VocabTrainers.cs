using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Trainers;

/// <summary>Trains a WordPiece vocabulary the way Hugging Face does: BPE with the "##" continuation prefix, whose vocabulary then drives greedy WordPiece matching.</summary>
public sealed class WordPieceTrainer(BpeTrainerOptions options) : ITrainer
{
    /// <inheritdoc />
    public TrainerOptions Options => options;

    /// <inheritdoc />
    public IModel Train(IReadOnlyDictionary<string, long> wordCounts) => Train(wordCounts, options, options.UnkToken ?? "[UNK]");

    /// <summary>Whitespace-and-punctuation words.</summary>
    public IPreTokenizer PreTokenizer => new WhitespacePreTokenizer();

    /// <summary>Joins "##" pieces back into words.</summary>
    public IDecoder? Decoder => new WordPieceDecoder(options.ContinuingSubwordPrefix ?? "##");

    /// <summary>Trains on word counts; the unknown token must be among the special tokens.</summary>
    public static WordPiece Train(IReadOnlyDictionary<string, long> wordCounts, BpeTrainerOptions options, string unkToken = "[UNK]")
    {
        if (!options.SpecialTokens.Contains(unkToken))
            throw new ArgumentException($"the unknown token '{unkToken}' must be one of the special tokens", nameof(unkToken));
        string prefix = options.ContinuingSubwordPrefix ?? "##";
        Bpe bpe = BpeTrainer.Train(wordCounts, options with { ContinuingSubwordPrefix = prefix, EndOfWordSuffix = null });
        return new WordPiece(bpe.Vocab, unkToken, prefix);
    }
}

/// <summary>Trains a word-level vocabulary: special tokens, then the most frequent words (ties in ordinal order).</summary>
public sealed class WordLevelTrainer(WordLevelTrainerOptions options) : ITrainer
{
    /// <inheritdoc />
    public TrainerOptions Options => options;

    /// <inheritdoc />
    public IModel Train(IReadOnlyDictionary<string, long> wordCounts) =>
        Train(wordCounts, options.VocabSize, options.MinFrequency, options.SpecialTokens.Count > 0 ? options.SpecialTokens : null, options.UnkToken);

    /// <summary>Whitespace-and-punctuation words.</summary>
    public IPreTokenizer PreTokenizer => new WhitespacePreTokenizer();

    /// <inheritdoc />
    public IDecoder? Decoder => null;

    /// <summary>Keeps up to <paramref name="vocabSize"/> tokens, words seen at least <paramref name="minFrequency"/> times.</summary>
    public static WordLevel Train(IReadOnlyDictionary<string, long> wordCounts, int vocabSize, long minFrequency = 1,
                                  IReadOnlyList<string>? specialTokens = null, string? unkToken = "[UNK]")
    {
        if (wordCounts.Count == 0) throw new ArgumentException("the corpus holds no words; check the training files and the pre-tokenizer", nameof(wordCounts));
        IReadOnlyList<string> specials = specialTokens ?? (unkToken is null ? [] : [unkToken]);
        if (vocabSize <= specials.Count)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, $"vocab size must exceed the {specials.Count} special tokens");
        if (unkToken is not null && !specials.Contains(unkToken))
            throw new ArgumentException($"the unknown token '{unkToken}' must be one of the special tokens", nameof(unkToken));
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string s in specials) vocab.TryAdd(s, vocab.Count);
        foreach ((string w, _) in wordCounts.Where(kv => kv.Value >= minFrequency)
                     .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (vocab.Count >= vocabSize) break;
            vocab.TryAdd(w, vocab.Count);
        }
        return new WordLevel(vocab, unkToken);
    }
}

/// <summary>Settings of <see cref="WordLevelTrainer"/>: every word seen at least once is kept by default, "[UNK]" stands for the rest.</summary>
public sealed record WordLevelTrainerOptions : TrainerOptions
{
    /// <summary>Sets the word-level defaults (minimum frequency 1, unknown token "[UNK]").</summary>
    public WordLevelTrainerOptions()
    {
        MinFrequency = 1;
        UnkToken = "[UNK]";
    }
}

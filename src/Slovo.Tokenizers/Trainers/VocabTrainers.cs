using Slovo.Tokenizers.Models;

namespace Slovo.Tokenizers.Trainers;

/// <summary>Trains a WordPiece vocabulary the way Hugging Face does: BPE with the "##" continuation prefix, whose vocabulary then drives greedy WordPiece matching.</summary>
public static class WordPieceTrainer
{
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
public static class WordLevelTrainer
{
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

using System.Text;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.Processors;

namespace Slovo.Tokenizers.Trainers;

/// <summary>
/// Settings of a whole trained tokenizer (<see cref="TokenizerTrainer"/>): the trainer's shared settings, the model, and the
/// pipeline around it (normalization, a post-processing template).
/// </summary>
public sealed record TokenizerTrainingOptions : TrainerOptions
{
    /// <summary>The tokenization model.</summary>
    public TokenizerModel Model { get; init; } = TokenizerModel.Bpe;

    /// <summary>BPE and WordPiece: keep at most this many initial characters (null: all).</summary>
    public int? LimitAlphabet { get; init; }

    /// <summary>Lowercase the text first.</summary>
    public bool Lowercase { get; init; }

    /// <summary>NFKC-normalise the text first.</summary>
    public bool Nfkc { get; init; }

    /// <summary>A post-processing template such as <c>"[CLS] $A [SEP]"</c>, or null.</summary>
    public string? Template { get; init; }

    /// <summary>
    /// The special tokens: <see cref="TrainerOptions.SpecialTokens"/>, or when none are given, the model's usual ones
    /// (&lt;|endoftext|&gt; for byte-level BPE, &lt;unk&gt; &lt;pad&gt; for Unigram, [UNK] [PAD] otherwise).
    /// </summary>
    public IReadOnlyList<string> Specials => SpecialTokens.Count > 0 ? SpecialTokens
        : Model switch { TokenizerModel.ByteLevelBpe => ["<|endoftext|>"], TokenizerModel.Unigram => ["<unk>", "<pad>"], _ => ["[UNK]", "[PAD]"] };

    /// <summary>The unknown token: <see cref="TrainerOptions.UnkToken"/>, or the first special token (none for byte-level BPE,
    /// which spells any text).</summary>
    public string? Unknown => Model == TokenizerModel.ByteLevelBpe ? null : UnkToken ?? Specials.FirstOrDefault();
}

/// <summary>
/// The one road to a trained tokenizer, for the <c>slovo tokenizer train</c> command and the vocabularies a model trains
/// alike: normalizer, word counts (from texts or files) with the model's pre-tokenizer, the model's trainer, the special
/// tokens, the decoder and a post-processing template, put together into a <see cref="Tokenizer"/>.
/// </summary>
public static class TokenizerTrainer
{
    /// <summary>Trains on <paramref name="texts"/>.</summary>
    public static Tokenizer Train(IEnumerable<string> texts, TokenizerTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        (ITrainer trainer, INormalizer? normalizer) = Prepare(options);
        var counter = new WordCounter(normalizer, trainer.PreTokenizer);
        foreach (string t in texts) counter.Add(t);
        return Build(trainer, normalizer, counter.Counts, options);
    }

    /// <summary>Trains on the lines of <paramref name="files"/>, counted in parallel; <paramref name="counting"/> receives the
    /// bytes read (the training loop's progress goes to <see cref="TrainerOptions.Progress"/>).</summary>
    public static Tokenizer TrainFiles(IReadOnlyList<string> files, TokenizerTrainingOptions options, IProgress<TrainerProgress>? counting = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        (ITrainer trainer, INormalizer? normalizer) = Prepare(options);
        Dictionary<string, long> counts = WordCounter.CountFiles(files, normalizer, trainer.PreTokenizer, progress: counting);
        return Build(trainer, normalizer, counts, options);
    }

    private static (ITrainer, INormalizer?) Prepare(TokenizerTrainingOptions o)
    {
        if (o.Model == TokenizerModel.WordPiece && o.Unknown is null) throw new ArgumentException("WordPiece needs an unknown token among the special tokens", nameof(o));
        ITrainer trainer = Trainers.Create(o.Model, new BpeTrainerOptions
        {
            VocabSize = o.VocabSize, MinFrequency = o.MinFrequency, SpecialTokens = o.Specials, UnkToken = o.Unknown, LimitAlphabet = o.LimitAlphabet,
            Progress = o.Progress,
        });
        var steps = new List<INormalizer>();
        if (o.Nfkc) steps.Add(new UnicodeNormalizer(NormalizationForm.FormKC));
        if (o.Lowercase) steps.Add(new LowercaseNormalizer());
        INormalizer? normalizer = steps.Count == 0 ? null : steps.Count == 1 ? steps[0] : new SequenceNormalizer(steps);
        return (trainer, normalizer);
    }

    private static Tokenizer Build(ITrainer trainer, INormalizer? normalizer, IReadOnlyDictionary<string, long> counts, TokenizerTrainingOptions o)
    {
        IModel model = trainer.Train(counts);
        var added = o.Specials.Select(s => new AddedToken(s, model.TokenToId(s) ?? throw new InvalidOperationException($"the trained model lacks the special token {s}"))).ToList();
        return new Tokenizer(model, added)
        {
            Normalizer = normalizer,
            PreTokenizer = trainer.PreTokenizer,
            Decoder = trainer.Decoder,
            PostProcessor = string.IsNullOrEmpty(o.Template) ? null : TemplateProcessing.Parse(o.Template, added.ToDictionary(a => a.Content, a => a.Id)),
        };
    }
}

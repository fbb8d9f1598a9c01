using Slovo.Training;
using Slovo.Embeddings;
using Slovo.Torch;
using Slovo.Text;

namespace Slovo.Classification;

/// <summary>The steps every classifier comparison shares: one split and vocabulary for all models, one training per seed.</summary>
internal static class ClassifierExperiment
{
    /// <summary>Encoded training, validation and (optional) test sets with their vocabulary.</summary>
    public sealed record Data(Vocabulary Vocab, EncodedSet Train, EncodedSet Valid, EncodedSet? Test, int MaxLength);

    /// <summary>Holds out <paramref name="validFraction"/> of <paramref name="all"/> (seed 1, the same for every model),
    /// builds the vocabulary from the rest (words, or a subword model when <paramref name="subword"/> is given), and encodes everything.</summary>
    public static Data Prepare(IReadOnlyList<LabeledText> all, IReadOnlyList<LabeledText>? test, SubwordModel? subword, int vocabSize, int maxLength, double validFraction = 0.1)
    {
        (List<LabeledText> train, List<LabeledText> valid) = Corpus.Split(all, validFraction, seed: 1);
        List<string> texts = train.Select(t => t.Text).ToList();
        Vocabulary vocab = subword is { } model
            ? SubwordVocabulary.Train(texts, model, vocabSize)
            : WordVocabulary.Build(texts, lowercase: true, minCount: 2, maxSize: vocabSize);
        EncodedSet Encode(IReadOnlyList<LabeledText> part) => EncodedSet.Create(vocab, part.Select(t => t.Text).ToList(), part.Select(t => t.Label).ToList(), maxLength);
        return new Data(vocab, Encode(train), Encode(valid), test is null ? null : Encode(test), maxLength);
    }

    /// <summary>Trains one model with one seed; returns it (the caller disposes it), its result and how many tokens the
    /// pretrained vectors covered.</summary>
    public static (TextClassifier Model, ClassifierTrainingResult Result, int PretrainedFound) TrainOne(Data data, ClassifierOptions options, ClassifierTrainingOptions training,
        KeyedVectors? vectors = null, bool freeze = false, Action<TrainingProgress>? onBatch = null, Action<ClassifierEpoch>? onEpoch = null, Device? device = null)
    {
        TextClassifier model = RandomGenerator.Seeded((ulong)training.Seed, () => new TextClassifier(options with { VocabSize = data.Vocab.Size, PadId = data.Vocab.PadId }));
        int found = 0;
        if (vectors is not null)
            found = model.InitializeEmbeddings(vectors, Enumerable.Range(0, data.Vocab.Size).Select(data.Vocab.TokenOf).ToList(), freeze);
        if (device is { } d) model.To(d);
        ClassifierTrainingResult result = ClassifierTrainer.Train(model, data.Train, data.Valid, training, onEpoch, onBatch);
        return (model, result, found);
    }
}

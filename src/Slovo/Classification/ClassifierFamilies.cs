using Slovo.Models;
using Slovo.Text;
using Slovo.Torch;

namespace Slovo.Classification;

/// <summary>Slovo's recurrent and CNN classifiers: one model file with the options, the vocabulary and the text length inside.</summary>
internal static class TextClassifierFamily
{
    public static ModelFamily Family { get; } = new("text-classifier", ModelTask.Classifier, typeof(ClassifierOptions), typeof(TextClassifier),
        "the word or subword vocabulary inside the model file", Load) { Format = TextClassifier.Archive.Format };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        (TextClassifier model, Vocabulary vocab, int maxLength) = TextClassifier.Load(location.Weights);
        return OnDevice(TrainedClassifier.Of(model, vocab, maxLength, location.Path), options.Device);
    }

    internal static TrainedClassifier OnDevice(TrainedClassifier classifier, Device device)
    {
        try { return classifier.To(device); }
        catch { classifier.Dispose(); throw; }
    }
}

/// <summary>A fine-tuned BERT-shaped encoder with a classification head: the encoder's Hugging Face folder plus classifier.json and head.safetensors.</summary>
internal static class BertClassifierFamily
{
    public static ModelFamily Family { get; } = new("bert-classifier", ModelTask.Classifier, typeof(BertClassifierInfo), typeof(BertClassifier),
        "the encoder's tokenizer.json or vocab.txt", Load) { Format = BertClassifier.FormatTag };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options) =>
        TextClassifierFamily.OnDevice(TrainedClassifier.Of(BertClassifier.Load(location.Weights), location.Path), options.Device);
}

using Slovo.Models;
using Slovo.Text;
using Slovo.Torch;

namespace Slovo.Classification;

/// <summary>Slovo's recurrent and CNN classifiers: one model file with the options, the vocabulary and the text length inside.</summary>
internal sealed class TextClassifierFamily : ModelFamily
{
    public override string Name => "text-classifier";
    public override ModelTask Task => ModelTask.Classifier;
    public override Type Config => typeof(ClassifierOptions);
    public override Type Module => typeof(TextClassifier);
    public override string? Format => TextClassifier.Archive.Format;
    public override string Tokenizer => "the word or subword vocabulary inside the model file";

    public override IDisposable Load(ModelLocation location, ModelLoadOptions options)
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
internal sealed class BertClassifierFamily : ModelFamily
{
    public override string Name => "bert-classifier";
    public override ModelTask Task => ModelTask.Classifier;
    public override Type Config => typeof(BertClassifierInfo);
    public override Type Module => typeof(BertClassifier);
    public override string? Format => BertClassifier.FormatTag;
    public override string Tokenizer => "the encoder's tokenizer.json or vocab.txt";

    public override IDisposable Load(ModelLocation location, ModelLoadOptions options) =>
        TextClassifierFamily.OnDevice(TrainedClassifier.Of(BertClassifier.Load(location.Weights), location.Path), options.Device);
}

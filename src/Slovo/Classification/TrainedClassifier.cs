using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Classification;

/// <summary>
/// A trained text classifier ready to predict, whichever architecture it has: a recurrent or CNN <see cref="TextClassifier"/>
/// with the vocabulary and text length it was trained with, or a fine-tuned <see cref="BertClassifier"/>. Commands and the
/// server load one with <see cref="Models.ModelRegistry.LoadClassifier"/>. Disposing it disposes the model.
/// </summary>
public abstract class TrainedClassifier : IDisposable
{
    private protected TrainedClassifier(Module module, string source) => (Module, Source) = (module, source);

    /// <summary>The network.</summary>
    public Module Module { get; }

    /// <summary>Where the model was read from ("memory" for one built in the process).</summary>
    public string Source { get; }

    /// <summary>Number of classes.</summary>
    public abstract int Classes { get; }

    /// <summary>"lstm", "cnn", "hand-lstm", "bert", ...</summary>
    public abstract string Architecture { get; }

    /// <summary>Class probabilities of every text, in order.</summary>
    public abstract float[][] Probabilities(IReadOnlyList<string> texts);

    /// <summary>The most likely class of every text.</summary>
    public int[] Predict(IReadOnlyList<string> texts) => Probabilities(texts).Select(p => Array.IndexOf(p, p.Max())).ToArray();

    /// <summary>Moves the model to <paramref name="device"/>.</summary>
    public TrainedClassifier To(Device device)
    {
        Module.To(device);
        return this;
    }

    /// <summary>A recurrent or CNN classifier with its vocabulary and text length (disposing the result disposes the model).</summary>
    public static TrainedClassifier Of(TextClassifier model, Vocabulary vocabulary, int maxLength, string source = "memory") =>
        new Recurrent(model, vocabulary, maxLength, source);

    /// <summary>A fine-tuned encoder with its head (disposing the result disposes the model).</summary>
    public static TrainedClassifier Of(BertClassifier model, string source = "memory") => new Bert(model, source);

    /// <inheritdoc />
    public void Dispose()
    {
        Module.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class Recurrent(TextClassifier model, Vocabulary vocabulary, int maxLength, string source) : TrainedClassifier(model, source)
    {
        public override int Classes => model.Options.Classes;
        public override string Architecture => Kebab(model.Options.Encoder.ToString());

        public override float[][] Probabilities(IReadOnlyList<string> texts) =>
            ClassifierTrainer.Probabilities(model, EncodedSet.Create(vocabulary, texts, maxLength: maxLength));

        private static string Kebab(string name) =>
            string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
    }

    private sealed class Bert(BertClassifier model, string source) : TrainedClassifier(model, source)
    {
        public override int Classes => model.Classes;
        public override string Architecture => "bert";
        public override float[][] Probabilities(IReadOnlyList<string> texts) => model.Probabilities(texts);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Text;
using Slovo.Torch.Serialization;

namespace Slovo.Classification;

public sealed partial class TextClassifier
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The model file of a classifier run (<c>model.safetensors</c> of a run folder).</summary>
    public static readonly ModelArchiveKind Archive = new("slovo-text-classifier", "text classifier", "train one with 'slovo classify train'");

    /// <summary>Writes the model, its settings, <paramref name="vocabulary"/> and the text length it reads to one safetensors file (atomically).</summary>
    public void Save(string path, Vocabulary vocabulary, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ModelArchive.Save(path, Archive, Options, StateDict(), new Dictionary<string, string>
        {
            ["vocab"] = vocabulary.ToJson(),
            ["max_length"] = maxLength.ToString(CultureInfo.InvariantCulture),
        }, Json);
    }

    /// <summary>Reads a classifier written by <see cref="Save"/> (or a folder holding model.safetensors), in evaluation mode.</summary>
    public static (TextClassifier Model, Vocabulary Vocabulary, int MaxLength) Load(string path) =>
        ModelArchive.Load<ClassifierOptions, (TextClassifier, Vocabulary, int)>(path, Archive, a =>
        {
            Vocabulary vocab = Vocabulary.FromJson(a.Field("vocab"));
            int maxLength = int.Parse(a.Field("max_length"), CultureInfo.InvariantCulture);
            var model = new TextClassifier(a.Options);
            try { model.LoadStateDict(a.Tensors); }
            catch { model.Dispose(); throw; }
            model.Eval();
            return (model, vocab, maxLength);
        }, Json);
}

using Slovo.Models;

namespace Slovo.Encoders;

/// <summary>
/// BERT-shaped encoders (<c>model_type</c> bert, or minilm): <see cref="BertConfig"/> and <see cref="BertModel"/> with Hugging
/// Face's keys, loaded as a <see cref="TextEncoder"/> with the folder's tokenizer.json or vocab.txt.
/// </summary>
internal static class BertFamily
{
    public static ModelFamily Family { get; } = new("bert", ModelTask.Encoder, typeof(BertConfig), typeof(BertModel),
        "tokenizer.json or vocab.txt (WordPiece) beside config.json", Load) { ModelTypes = ["bert", "minilm"] };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        TextEncoder encoder = TextEncoder.Load(location.Weights, options.MaxTokens);
        try { encoder.Model.To(options.Device); }
        catch { encoder.Dispose(); throw; }
        return encoder;
    }
}

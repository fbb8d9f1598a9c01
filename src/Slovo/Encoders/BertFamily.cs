using Slovo.Models;

namespace Slovo.Encoders;

/// <summary>
/// BERT-shaped encoders (<c>model_type</c> bert, or minilm): <see cref="BertConfig"/> and <see cref="BertModel"/> with Hugging
/// Face's keys, loaded as a <see cref="TextEncoder"/> with the folder's tokenizer.json or vocab.txt.
/// </summary>
internal sealed class BertFamily : ModelFamily
{
    public override string Name => "bert";
    public override ModelTask Task => ModelTask.Encoder;
    public override Type Config => typeof(BertConfig);
    public override Type Module => typeof(BertModel);
    public override IReadOnlyList<string> ModelTypes => ["bert", "minilm"];
    public override string Tokenizer => "tokenizer.json or vocab.txt (WordPiece) beside config.json";

    public override IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        TextEncoder encoder = TextEncoder.Load(location.Weights, options.MaxTokens);
        try { encoder.Model.To(options.Device); }
        catch { encoder.Dispose(); throw; }
        return encoder;
    }
}

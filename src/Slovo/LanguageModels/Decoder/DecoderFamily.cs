using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Import;
using Slovo.Models;
using Slovo.Text;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Processors;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

/// <summary>
/// The open decoder families as Hugging Face folders (<c>model_type</c> llama, mistral, qwen2, qwen3, gemma2, gemma3_text,
/// phi3): config.json and generation_config.json, the weights (<see cref="DecoderModel.FromPretrained"/>), tokenizer.json, and
/// tokenizer_config.json for add_bos_token and the chat template.
/// </summary>
internal static class DecoderFamily
{
    public static ModelFamily Family { get; } = new("decoder", ModelTask.LanguageModel, typeof(DecoderConfig), typeof(DecoderModel),
        "tokenizer.json beside config.json (SentencePiece-style or byte-level BPE), tokenizer_config.json for add_bos_token and chat_template", Load)
    { ModelTypes = DecoderConfig.ModelTypes };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        string dir = location.Weights;
        string tokenizerPath = Path.Combine(dir, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"no tokenizer.json in {Path.GetFullPath(dir)}; save the tokenizer beside the model", tokenizerPath);
        Tokenizer tokenizer = TokenizerJson.Load(tokenizerPath);
        (bool? addBos, string? template) = TokenizerConfig.Read(dir);
        DecoderModel model = DecoderModel.FromPretrained(dir, options.DType);
        try
        {
            DecoderConfig c = model.Config;
            var vocab = new SubwordVocabulary(tokenizer, c.BosTokenId ?? c.EosTokenIds.FirstOrDefault(), c.EosTokenIds.Count > 0 ? c.EosTokenIds[0] : null, c.PadTokenId);
            bool bos = addBos ?? tokenizer.PostProcessor is TemplateProcessing { Before.Count: > 0 };
            LanguageModel lm = LanguageModel.Of(model, vocab, bos, location.Path, template);
            string generation = Path.Combine(dir, "generation_config.json");
            if (File.Exists(generation) && JsonNode.Parse(File.ReadAllText(generation)) is JsonObject g) lm.GenerationDefaults = Generation.GenerationDefaults.FromJson(g);
            return lm.OnDevice(options.Device);
        }
        catch { model.Dispose(); throw; }
    }
}

/// <summary>
/// GGUF files (llama.cpp's format): any of <see cref="GgufModels.Architectures"/>, dequantized into the dtype asked, with the
/// tokenizer and chat template of the file's metadata.
/// </summary>
internal static class GgufFamily
{
    /// <summary>The pseudo format tag the registry gives a file that starts with GGUF's magic.</summary>
    public const string Format = "gguf";

    public static ModelFamily Family { get; } = new("gguf", ModelTask.LanguageModel, typeof(DecoderConfig), typeof(CachedDecoder),
        "the tokenizer in the file's metadata (tokenizer.ggml.*)", Load) { Format = Format };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        GgufFile file = GgufFile.Read(location.Weights);
        Tokenizer tokenizer = GgufTokenizer.Read(file);
        CachedDecoder model = GgufModels.LoadModel(file, options.DType);
        try
        {
            int? bos = (int?)file.GetInteger("tokenizer.ggml.bos_token_id"), eos = (int?)file.GetInteger("tokenizer.ggml.eos_token_id");
            var vocab = new SubwordVocabulary(tokenizer, bos ?? eos, eos, (int?)file.GetInteger("tokenizer.ggml.padding_token_id"));
            bool addBos = file.GetBool("tokenizer.ggml.add_bos_token") ?? file.GetString("tokenizer.ggml.model") == "llama";
            string? template = file.GetString("tokenizer.chat_template");
            LanguageModel lm = model switch
            {
                DecoderModel d => LanguageModel.Of(d, vocab, addBos, location.Path, template),
                GptModel g => LanguageModel.Of(g, vocab, addBos, location.Path),
                _ => throw new NotSupportedException($"{model.GetType().Name} from GGUF"),
            };
            return lm.OnDevice(options.Device);
        }
        catch { model.Dispose(); throw; }
    }
}

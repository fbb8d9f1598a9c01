using Slovo.Models;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Training;

namespace Slovo.LanguageModels;

/// <summary>
/// GPT-2 (<c>model_type</c> gpt2): <see cref="GptConfig"/> and <see cref="GptModel"/>, Hugging Face keys with Conv1D weights
/// transposed (<see cref="GptModel.FromPretrained(string)"/>). A Hugging Face folder brings its tokenizer.json (prompts read
/// as Hugging Face encodes them, without a start token); a Slovo GPT run brings its vocab.json (prompts read after the start
/// token, as it trained) and training.json (validation reads the rows and context it trained on).
/// </summary>
internal static class Gpt2Family
{
    public static ModelFamily Family { get; } = new("gpt2", ModelTask.LanguageModel, typeof(GptConfig), typeof(GptModel),
        "tokenizer.json beside config.json (byte-level BPE), or a run's vocab.json", Load) { ModelTypes = ["gpt2"] };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        Func<GptConfig, GptConfig>? adjust = options.Dropout is { } p ? c => c with { EmbeddingDropout = p, AttentionDropout = p, ResidualDropout = p } : null;
        LanguageModel model = location.Run is { } run ? LoadRun(run, location.Weights, adjust) : LoadPretrained(location.Weights, adjust);
        if (options.DType != Slovo.Torch.ScalarType.Float32) model.Module.To(options.DType);   // --dtype bf16|f16: read as float32, then converted
        return model.OnDevice(options.Device);
    }

    private static LanguageModel LoadRun(RunFolder run, string weights, Func<GptConfig, GptConfig>? adjust)
    {
        string vocabPath = run[RunFolder.VocabularyFile];
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"no {RunFolder.VocabularyFile} in the run {Path.GetFullPath(run.Path)}; train the run again", vocabPath);
        Vocabulary vocab = Vocabulary.Load(vocabPath);
        GptTrainingOptions? trained = run.ReadJson<GptTrainingOptions>(RunFolder.TrainingFile, "training options");
        LanguageModel model = LanguageModel.Of(GptModel.FromPretrained(weights, adjust), vocab, promptsStartWithSos: true, run.Path);
        if (trained is not null)
        {
            model.EvaluationRows = trained.Rows;
            model.EvaluationContext = Math.Min(trained.Context, model.Context ?? trained.Context);
        }
        return model;
    }

    private static LanguageModel LoadPretrained(string dir, Func<GptConfig, GptConfig>? adjust)
    {
        string tokenizerPath = Path.Combine(dir, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"no tokenizer.json in {Path.GetFullPath(dir)}; save the tokenizer beside the model", tokenizerPath);
        GptModel gpt = GptModel.FromPretrained(dir, adjust);
        try
        {
            var vocab = new SubwordVocabulary(TokenizerJson.Load(tokenizerPath), gpt.Config.BosTokenId, gpt.Config.EosTokenId, gpt.Config.PadTokenId);
            if (vocab.Size > gpt.VocabSize)
                throw new InvalidDataException($"{tokenizerPath} has {vocab.Size} tokens but the model predicts {gpt.VocabSize}; give the tokenizer the model was trained with");
            return LanguageModel.Of(gpt, vocab, promptsStartWithSos: false, dir);
        }
        catch { gpt.Dispose(); throw; }
    }
}

/// <summary>Slovo's recurrent language models (RNN, LSTM, GRU): one model file with the options and the vocabulary inside.</summary>
internal static class RecurrentLmFamily
{
    public static ModelFamily Family { get; } = new("rnn-lm", ModelTask.LanguageModel, typeof(RnnLanguageModelOptions), typeof(RnnLanguageModel),
        "the word, char or subword vocabulary inside the model file", Load) { Format = RnnLanguageModel.Archive.Format };

    private static IDisposable Load(ModelLocation location, ModelLoadOptions options)
    {
        (RnnLanguageModel rnn, Vocabulary vocab) = RnnLanguageModel.Load(location.Weights);
        return LanguageModel.Of(rnn, vocab, location.Path).OnDevice(options.Device);
    }
}

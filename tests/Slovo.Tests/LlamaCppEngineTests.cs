using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch.Serialization;

namespace Slovo.Tests;

/// <summary>
/// The llama.cpp engine behind the decoding seam gives the torch engine's tokens: greedy for 128 tokens, a batch of prompts
/// of different lengths, and beam search (rows copied as beams branch), on a Hugging Face folder (exported to GGUF F32 and
/// cached beside it) and on the shipped GGUF (run as it is).
/// </summary>
public sealed class LlamaCppEngineTests
{
    private static string Folder(string type)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"slovo-engine-{type}-{Guid.NewGuid():N}");
        Tokenizer tokenizer = GgufFamilyOracleTests.TokenizerFor(type);
        using DecoderModel model = GgufFamilyOracleTests.RandomModel(GgufFamilyOracleTests.TinyConfig(type, tokenizer.VocabSize), 8);
        model.SavePretrained(dir);
        TokenizerJson.Save(tokenizer, Path.Combine(dir, "tokenizer.json"));
        return dir;
    }

    public static TheoryData<string> Models => new("qwen2", "gemma2", "gguf");

    [Theory]
    [MemberData(nameof(Models))]
    public void LlamaCppDecodesAsTorchDoes(string which)
    {
        string path = which == "gguf" ? GgufOracleTests.TinyLlama : Folder(which);
        try
        {
            using LanguageModel torch = LanguageModel.Load(path), engine = LanguageModel.Load(path);
            using LlamaCppBackend backend = LlamaCppEngine.Use(engine, new LlamaCppOptions { Context = 256, MaxRows = 4, Threads = 2 });
            if (which != "gguf") Assert.StartsWith(Path.Combine(path, ".slovo-engines"), backend.File);
            IReadOnlyList<int> prompt = torch.EncodePrompt("the cat sat on the mat");
            var greedy = new GenerationOptions { MaxTokens = 128, Greedy = true };
            Assert.Equal(torch.Generate(prompt, greedy).Tokens, engine.Generate(prompt, greedy).Tokens);
            // A batch of prompts of different lengths: every row as it is alone.
            IReadOnlyList<int>[] prompts = [torch.EncodePrompt("a dog"), torch.EncodePrompt("the park and back again"), torch.EncodePrompt("Кот")];
            var batch = new GenerationOptions { MaxTokens = 24, Greedy = true };
            IReadOnlyList<GenerationResult> rows = engine.GenerateBatch(prompts, batch);
            for (int i = 0; i < prompts.Length; ++i) Assert.Equal(torch.Generate(prompts[i], batch).Tokens, rows[i].Tokens);
            // Beams branch by copying rows (llama.cpp sequences copied).
            var beams = new GenerationOptions { MaxTokens = 12, Beams = 3 };
            Assert.Equal(torch.Generate(prompt, beams).Tokens, engine.Generate(prompt, beams).Tokens);
        }
        finally { if (which != "gguf") Directory.Delete(path, recursive: true); }
    }

    [Fact]
    public void TheExportIsCachedByWeightsAndType()
    {
        string dir = Folder("qwen2");
        try
        {
            using LanguageModel model = LanguageModel.Load(dir);
            string f32 = LlamaCppEngine.GgufFor(model, new LlamaCppOptions());
            DateTime written = File.GetLastWriteTimeUtc(f32);
            Assert.Equal(f32, LlamaCppEngine.GgufFor(model, new LlamaCppOptions()));
            Assert.Equal(written, File.GetLastWriteTimeUtc(f32));                                           // read from the cache
            string q8 = LlamaCppEngine.GgufFor(model, new LlamaCppOptions { Type = GgmlType.Q8_0 });
            Assert.NotEqual(f32, q8);
            using (Torch.LibTorch.NoGrad()) model.Module.StateDict()["model.norm.weight"].Add_(1);      // other weights, another file
            Assert.NotEqual(f32, LlamaCppEngine.GgufFor(model, new LlamaCppOptions()));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

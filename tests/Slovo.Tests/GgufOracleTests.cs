using Slovo.Import;
using Slovo.LanguageModels;
using Slovo.TestSupport;
using Slovo.Tokenizers;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Tests;

/// <summary>
/// GGUF files against llama.cpp. The shipped llama-2-tiny-random.gguf (written by llama.cpp's converter; see its
/// PROVENANCE.txt) is read by both: the same prompt ids give the same logits, Slovo's tokenizer from the file's metadata
/// gives llama.cpp's ids, and greedy continuations agree.
/// </summary>
public sealed class GgufOracleTests
{
    internal static string TinyLlama => TestPaths.SharedModel("llama-2-tiny-random-gguf", "llama-2-tiny-random.gguf");

    internal static readonly string[] Texts =
    [
        "hello world",
        "The quick brown fox jumps over the lazy dog.",
        "  leading spaces, trailing spaces  ",
        "Привет, мир! Съешь же ещё этих мягких французских булок.",
        "日本語のテキストと emoji 🙂🚀 mixed",
        "<s>[INST] What is 2+2? [/INST] It is 4.</s>",
        "tabs\tand\nnew\n\nlines",
        "numbers 1234567 and 3.14159",
    ];

    [Fact]
    public void TheShippedFileReadsAsLlamaCppReadsIt()
    {
        GgufFile file = GgufFile.Read(TinyLlama);
        Assert.Equal(3, file.Version);
        Assert.Equal("llama", file.GetString("general.architecture"));
        DecoderConfig config = GgufModels.ReadConfig(file);
        Assert.Equal((8, 1, 2, 2, 32000), (config.Width, config.Layers, config.Heads, config.KvHeads, config.VocabSize));
        using var model = (DecoderModel)GgufModels.LoadModel(file);
        using var oracle = new LlamaCpp(TinyLlama);
        int[] ids = [1, 22172, 3186, 29892, 920, 526, 366, 29973, 306, 626, 1959, 29889];
        float[][] want = oracle.Logits(ids);
        using var noGrad = LibTorch.NoGrad();
        using Tensor logits = model.Forward(Tensor.From(ids.Select(i => (long)i).ToArray(), 1, ids.Length)).Logits;
        float[] got = logits.ToArray<float>();
        double worst = 0;
        for (int p = 0; p < ids.Length; ++p)
            for (int v = 0; v < 32000; ++v) worst = Math.Max(worst, Math.Abs(got[p * 32000 + v] - want[p][v]));
        Assert.True(worst < 1e-3, $"max |Δ| {worst:g3} against llama.cpp's logits");
    }

    [Fact]
    public void TheTokenizerInTheMetadataGivesLlamaCppsIds()
    {
        Tokenizer tokenizer = GgufTokenizer.Read(GgufFile.Read(TinyLlama));
        using var oracle = new LlamaCpp(TinyLlama);
        foreach (string text in Texts)
        {
            int[] want = oracle.Tokenize(text);
            int[] got = tokenizer.Encode(text).Ids.ToArray();
            Assert.True(want.SequenceEqual(got), $"'{text}': llama.cpp [{string.Join(' ', want)}], Slovo [{string.Join(' ', got)}]");
            if (!text.Contains("<s>", StringComparison.Ordinal)) Assert.Equal(text, tokenizer.Decode(got));
        }
    }

    [Fact]
    public void GreedyContinuationsAgree()
    {
        using LanguageModel model = LanguageModel.Load(TinyLlama);
        using var oracle = new LlamaCpp(TinyLlama);
        IReadOnlyList<int> prompt = model.EncodePrompt("Once upon a time");
        Assert.Equal(oracle.Tokenize("Once upon a time", addBos: true), prompt);
        int[] want = oracle.Greedy(prompt, 24);
        Generation.GenerationResult got = model.Generate(prompt, new Generation.GenerationOptions { MaxTokens = 24, Greedy = true });
        Assert.Equal(want, got.Tokens);
    }
}

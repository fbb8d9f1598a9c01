using LLama;
using LLama.Native;
using Slovo.Import;
using Slovo.LanguageModels;
using Slovo.Tokenizers;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Tests;

/// <summary>
/// GGUF's quantized and half types, written by llama.cpp's own quantizer from an F32 file of a random Llama model whose rows
/// are multiples of 256 (so the K types apply): Slovo dequantizes every tensor to within the type's rounding of the original,
/// and its logits on the quantized file stay near llama.cpp's on the same file.
/// </summary>
public sealed class GgufQuantTests
{
    public static TheoryData<string, double> Types => new()
    {
        { "MOSTLY_F16", 1e-3 }, { "MOSTLY_Q8_0", 0.01 }, { "MOSTLY_Q6_K", 0.04 }, { "MOSTLY_Q5_0", 0.08 },
        { "MOSTLY_Q5_1", 0.08 }, { "MOSTLY_Q5_K_S", 0.08 }, { "MOSTLY_Q4_0", 0.16 }, { "MOSTLY_Q4_1", 0.16 }, { "MOSTLY_Q4_K_S", 0.16 },
    };

    private static readonly Lazy<string> s_f32 = new(() =>
    {
        Tokenizer tokenizer = GgufFamilyOracleTests.TokenizerFor("llama");
        DecoderConfig config = GgufFamilyOracleTests.TinyConfig("llama", tokenizer.VocabSize) with
        {
            Width = 256, Intermediate = 512, Heads = 4, KvHeads = 2, HeadDim = 64, Layers = 1, QkvBias = false, OutputBias = false, RopeScaling = null,
        };
        string path = Path.Combine(Path.GetTempPath(), $"slovo-quant-{Guid.NewGuid():N}.gguf");
        using DecoderModel model = GgufFamilyOracleTests.RandomModel(config, 77);
        GgufModels.Export(model, tokenizer, path, GgmlType.F32);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return path;
    });

    [Theory]
    [MemberData(nameof(Types))]
    public void SlovoDequantizesWhatLlamaCppQuantized(string ftype, double tolerance)
    {
        string source = s_f32.Value, quantized = source.Replace(".gguf", $"-{ftype}.gguf", StringComparison.Ordinal);
        try
        {
            using (new LlamaCpp(source)) { } // loads the native library and its log settings first
            Assert.True(LLamaQuantizer.Quantize(source, quantized, Enum.Parse<LLamaFtype>(ftype), 2, allowRequantize: true, quantizeOutputTensor: true),
                        $"llama.cpp could not quantize to {ftype}");
            GgufFile original = GgufFile.Read(source), file = GgufFile.Read(quantized);
            var seen = new HashSet<GgmlType>();
            foreach (GgufTensorInfo info in file.Tensors)
            {
                seen.Add(info.Type);
                using Tensor want = original.Load(original.Find(info.Name)!), got = file.Load(info);
                double error = got.Sub(want).Square().Mean().Sqrt().ToDouble(), scale = want.Square().Mean().Sqrt().ToDouble();
                Assert.True(error <= tolerance * scale, $"{info.Name} as {info.Type}: RMS error {error:g3} of RMS {scale:g3}");
            }
            Assert.Contains(ftype switch
            {
                "MOSTLY_F16" => GgmlType.F16, "MOSTLY_Q8_0" => GgmlType.Q8_0, "MOSTLY_Q6_K" => GgmlType.Q6_K,
                "MOSTLY_Q5_0" => GgmlType.Q5_0, "MOSTLY_Q5_1" => GgmlType.Q5_1, "MOSTLY_Q5_K_S" => GgmlType.Q5_K, "MOSTLY_Q4_0" => GgmlType.Q4_0,
                "MOSTLY_Q4_1" => GgmlType.Q4_1, _ => GgmlType.Q4_K,
            }, seen);
            // The model as a whole: Slovo's logits on the dequantized weights near llama.cpp's on the quantized file.
            using var model = (DecoderModel)GgufModels.LoadModel(file);
            (double diff, double range) = LastLogitsGap(quantized, model);
            Assert.True(diff < 0.1 * range, $"{ftype}: last-position logits differ by {diff:g3} (largest {range:g3})");
        }
        finally { File.Delete(quantized); }
    }

    private static readonly int[] Prompt = [5, 17, 42, 99, 123, 7, 256, 31];

    // The largest gap between llama.cpp's last-position logits on a file and Slovo's on the model read from it, and the largest logit.
    private static (double Gap, double Range) LastLogitsGap(string gguf, DecoderModel model)
    {
        using var oracle = new LlamaCpp(gguf);
        float[] want = oracle.Logits(Prompt)[^1];
        using var noGrad = LibTorch.NoGrad();
        float[] got = model.Forward(Tensor.From(Prompt.Select(i => (long)i).ToArray(), 1, Prompt.Length)).Logits[0, -1].ToArray<float>();
        return (want.Zip(got, (a, b) => Math.Abs(a - b)).Max(), want.Max(Math.Abs));
    }

    public static TheoryData<GgmlType> Written => new(GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0);

    [Theory]
    [MemberData(nameof(Written))]
    public void FilesSlovoWritesInEachTypeRunInLlamaCppAsInSlovo(GgmlType type)
    {
        Tokenizer tokenizer = GgufFamilyOracleTests.TokenizerFor("qwen2");
        DecoderConfig config = GgufFamilyOracleTests.TinyConfig("qwen2", tokenizer.VocabSize);
        using DecoderModel model = GgufFamilyOracleTests.RandomModel(config, 99);
        string path = Path.Combine(Path.GetTempPath(), $"slovo-{type}-{Guid.NewGuid():N}.gguf");
        try
        {
            GgufModels.Export(model, tokenizer, path, type);
            GgufFile file = GgufFile.Read(path);
            Assert.Contains(file.Tensors, t => t.Type == type);
            using var back = (DecoderModel)GgufModels.LoadModel(file);
            (double diff, double range) = LastLogitsGap(path, back);
            // llama.cpp multiplies half and Q8_0 weights with activations rounded to the same kind; Slovo dequantizes the weights only.
            Assert.True(diff < 0.02 * range, $"{type}: logits differ by {diff:g3} (largest {range:g3})");
            // With Q8_0 llama.cpp also rounds the activations to 8 bits, which can flip a near tie; the half types keep greedy tokens.
            using var oracle = new LlamaCpp(path);
            if (type != GgmlType.Q8_0) Assert.Equal(oracle.Greedy(Prompt, 8), GgufFamilyOracleTests.Greedy(back, Prompt, 8));
        }
        finally { File.Delete(path); }
    }
}

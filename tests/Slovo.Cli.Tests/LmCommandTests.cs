using System.Text.Json;
using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.LanguageModels;
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

    /// <summary>A small `lm train` command line; options in <paramref name="more"/> replace the defaults given here.</summary>
    private static string[] Train(string data, string outDir, string level, params string[] more) =>
        ["train", "--data", data, "--format", "lines", "--level", level, "--out", outDir, "--emb", "8", "--hidden", "16",
         .. (more.Contains("--epochs") ? new string[0] : ["--epochs", "2"]),
         .. (more.Contains("gpt") ? new string[0] : ["--bptt", "16"]), // a gpt reads --context windows
         "--batch", "8", "--checkpoint-every", "5", "--threads", "1", "--vocab-size", "300", .. more];

    [Theory]
    [InlineData("char")]
    [InlineData("word")]
    [InlineData("bpe")]
    public void TrainEvalAndGenerateWorkAtEveryLevel(string level)
    {
        string data = Lines(400);
        string run = Directory.CreateTempSubdirectory("slovo-lm-run").FullName;
        string[] schedule = level == "char" ? ["--schedule", "cosine", "--lr", "0.01", "--min-lr", "0.001"] : [];
        string log = Cli.Capture(["lm", .. Train(data, run, level, ["--min-count", "1", .. schedule])], out int code);
        Assert.Equal(0, code);
        Assert.Contains("epoch 2: train loss", log);
        Assert.Contains("course's 2**loss", log);
        foreach (string f in new[] { "model.safetensors", "checkpoint.safetensors", "vocab.json", "summary.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        double best = summary.RootElement.GetProperty("best").GetProperty("perplexity").GetDouble();
        JsonElement training = summary.RootElement.GetProperty("training");
        if (level == "char") Assert.Equal("Cosine", training.GetProperty("Schedule").GetString());
        else Assert.Equal("Constant", training.GetProperty("Schedule").GetString());

        string eval = Cli.Capture(["lm", "eval", "--model", run, "--data", data, "--format", "lines"], out code);
        Assert.Equal(0, code);
        Assert.Contains($"perplexity {best:F2}", eval);   // the same seeded split gives the same figure

        string prompts = Path.Combine(run, "prompts.txt");
        File.WriteAllLines(prompts, ["Я помню", "", "Мой дядя"]);
        string gen = Cli.Capture(["lm", "generate", "--model", run, "--prompts", prompts, "--max-tokens", "12", "--top-k", "5", "--seed", "3"], out code);
        Assert.Equal(0, code);
        string[] outLines = gen.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(outLines.Length >= 3);
        string again = Cli.Capture(["lm", "generate", "--model", run, "--prompts", prompts, "--max-tokens", "12", "--top-k", "5", "--seed", "3"], out _);
        Assert.Equal(gen, again);                           // seeded
        string beam = Cli.Capture(["lm", "generate", "--model", run, "--prompt", "Я", "--beams", "3", "--max-tokens", "8"], out code);
        Assert.Equal(0, code);
        Assert.StartsWith("Я", beam);
    }

    [Fact]
    public void AGptTrainsFromTheCommandLineAndItsRunGenerates()
    {
        string data = Lines(200);
        string run = Directory.CreateTempSubdirectory("slovo-lm-gpt").FullName;
        string printed = Cli.Ok(["lm", .. Train(data, run, "char", "--model", "gpt", "--layers", "1", "--heads", "2", "--context", "32", "--accumulate", "2",
                                                 "--warmup", "3")]);
        Assert.Contains("model: gpt, 1 layer(s), 2 heads, width 8, context 32", printed);
        Assert.True(File.Exists(Path.Combine(run, "model", "config.json")));
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        string text = Cli.Ok("lm", "generate", "--model", run, "--prompt", "Я", "--greedy", "--max-tokens", "10");
        Assert.StartsWith("Я", text);
        // lm eval on the same split gives the validation loss the run reported for its best epoch.
        string summaryLine = printed.Split('\n').Single(l => l.StartsWith("best epoch", StringComparison.Ordinal));
        string eval = Cli.Ok("lm", "eval", "--model", run, "--data", data, "--format", "lines");
        Assert.Contains(summaryLine.Split("perplexity ")[1].Split(',')[0], eval); // the same perplexity
        // Resuming a finished run reloads it and trains no further; other options are refused with a clear message.
        Cli.Ok(["lm", .. Train(data, run, "char", "--model", "gpt", "--layers", "1", "--heads", "2", "--context", "32", "--accumulate", "2", "--warmup", "3", "--resume")]);
        Assert.Contains("same options", Cli.Fails(1, ["lm", .. Train(data, run, "char", "--model", "gpt", "--layers", "1", "--heads", "2", "--context", "24",
                                                                      "--accumulate", "2", "--warmup", "3", "--resume")]));
        Assert.Contains("--emb (8) must split evenly into --heads (3)", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--model", "gpt", "--heads", "3")]));
    }

    [Fact]
    public void CompleteCutsTextsCompletesThemAndScoresTheCompletionsWithRouge()
    {
        string data = Lines(300);
        string run = Directory.CreateTempSubdirectory("slovo-lm-complete").FullName;
        Cli.Ok(["lm", .. Train(data, run, "char", "--epochs", "1")]);
        string texts = Path.Combine(run, "unseen.txt"), tsv = Path.Combine(run, "completions.tsv");
        File.WriteAllLines(texts, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Skip(5000).Where(l => l.Length >= 2).Take(20));
        string printed = Cli.Ok("lm", "complete", "--model", run, "--data", texts, "--greedy", "--heal", "--out", tsv, "--batch", "8");
        Assert.Contains("20 texts cut at 75 %", printed);
        Assert.Contains("| plain ", printed);
        Assert.Contains("| with token healing ", printed);
        string[] rows = File.ReadAllLines(tsv);
        Assert.Equal("prompt\treference\tcompletion\thealed_completion", rows[0]);
        Assert.Equal(21, rows.Length);
        string[] originals = File.ReadAllLines(texts);
        for (int i = 1; i < rows.Length; ++i)
        {
            string[] cells = rows[i].Split('\t');
            Assert.Equal(originals[i - 1], cells[0] + cells[1]);                                  // prompt + reference = the text
            Assert.Equal(originals[i - 1].Length * 3 / 4, cells[0].Length);                      // cut at 75 % of the characters
            Assert.Equal(cells[2], cells[3]);             // a character model: taking a character back and requiring it changes nothing
        }
        Assert.Contains("5 texts cut at 75 %", Cli.Ok("lm", "complete", "--model", run, "--data", texts, "--limit", "5", "--candidates", "4", "--temperature", "0.8"));
        Assert.Contains("--candidates chooses among sampled completions", Cli.Fails(2, ["lm", "complete", "--model", run, "--data", texts, "--candidates", "2", "--greedy"]));
        Assert.Contains("--heal needs a character or subword model", Cli.Fails(2, ["lm", "complete", "--model", WordRun(data), "--data", texts, "--heal"]));
    }

    private static string WordRun(string data)
    {
        string run = Directory.CreateTempSubdirectory("slovo-lm-word").FullName;
        Cli.Ok(["lm", .. Train(data, run, "word", "--epochs", "1")]);
        return run;
    }

    [Fact]
    public void Bf16AutocastTrainsCloseToFloat32AndIsPartOfTheRunsSettings()
    {
        string data = Lines(200);
        string[] Gpt(string run, params string[] more) =>
            ["lm", .. Train(data, run, "char", ["--model", "gpt", "--layers", "1", "--heads", "2", "--context", "32", "--warmup", "3", "--epochs", "1", .. more])];
        string full = Directory.CreateTempSubdirectory("slovo-lm-fp32").FullName, low = Directory.CreateTempSubdirectory("slovo-lm-bf16").FullName;
        static double Loss(string printed) =>
            double.Parse(printed.Split("validation loss ")[1].Split(',')[0], System.Globalization.CultureInfo.CurrentCulture);
        double a = Loss(Cli.Ok(Gpt(full))), b = Loss(Cli.Ok(Gpt(low, "--precision", "bf16")));
        // The matmuls did run in bfloat16: the weights differ, the loss barely.
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(full, "model", "model.safetensors")), File.ReadAllBytes(Path.Combine(low, "model", "model.safetensors")));
        Assert.InRange(b, a * 0.99, a * 1.01);
        Assert.Contains("same options", Cli.Fails(1, Gpt(low, "--resume")));
    }

    [Fact]
    public void AKilledTrainRunResumesExactly()
    {
        string data = Lines(300);
        string straight = Directory.CreateTempSubdirectory("slovo-lm-a").FullName, split = Directory.CreateTempSubdirectory("slovo-lm-b").FullName;
        Cli.Capture(["lm", .. Train(data, straight, "char", "--epochs", "3", "--patience", "0")], out int code);
        Assert.Equal(0, code);
        // "Kill" after two epochs: the same run with --epochs 2 leaves the same checkpoint a kill at that point would.
        // (--epochs is the one setting that may differ on resume.)
        Cli.Capture(["lm", .. Train(data, split, "char", "--epochs", "2", "--patience", "0")], out code);
        Cli.Capture(["lm", .. Train(data, split, "char", "--epochs", "3", "--patience", "0", "--resume")], out code);
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
        Assert.Contains("Argument 'bytes' not recognized", Cli.Fails(2, ["lm", .. Train(data, run, "bytes")]));
        Assert.Contains("--tie needs --emb equal to --hidden", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--tie")]));
        Assert.Contains("--glove needs --level word", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--glove", "x.txt")]));
        string typo = Cli.Fails(2, ["lm", "train", "--epohcs", "3"]);
        Assert.Contains("Unrecognized command or argument '--epohcs'", typo);
        Assert.Contains("--epochs", typo);                                          // the suggestion
        Assert.Contains("Did you mean", Cli.Fails(2, "lm", "trian"));
        Assert.Contains("vocab.json is missing", Cli.Fails(1, ["lm", .. Train(data, run, "char", "--resume")]));
        Assert.Contains("train one with 'slovo lm train'", Cli.Fails(1, ["lm", "generate", "--model", run]));
        Assert.Contains("Option '--model' is required", Cli.Fails(2, ["lm", "generate"]));
        Assert.Contains("Argument 'linear' not recognized", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--schedule", "linear")]));
        Assert.Contains("--min-lr: must lie in [0, the learning rate 0.002]", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--schedule", "cosine", "--min-lr", "0.5")]));
        Assert.Contains("--min-lr: is where a cosine schedule ends", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--min-lr", "0.001")]));
        // A gpt's schedule is cosine by default, so --min-lr alone is fine there; --schedule constant turns it off, and then --min-lr is refused too.
        Assert.Contains("--min-lr: is where a cosine schedule ends", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--model", "gpt", "--schedule", "constant", "--min-lr", "0.0001")]));
        Assert.Contains("--weight-decay: a recurrent model trains with Adam", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--weight-decay", "0.1")]));
        Assert.Contains("--accumulate: must lie in [1, the batch size 8]", Cli.Fails(2, ["lm", .. Train(data, run, "char", "--model", "gpt", "--accumulate", "9")]));
        Assert.Contains("--bptt is for the recurrent models", Cli.Fails(2, ["lm", "train", "--data", data, "--model", "gpt", "--bptt", "9"]));
        // The training options' defaults are the library's, per model: the help lists both.
        string help = Cli.Ok("lm", "train", "--help");
        Assert.Contains($"(default: 0.002 recurrent, {new GptTrainingOptions().LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)} gpt)", help);
        Assert.Contains("corpus not found", Cli.Fails(1, ["lm", .. Train(Path.Combine(run, "none.txt"), run, "char")]));
        Cli.Capture(["lm", .. Train(data, run, "char", "--epochs", "1")], out int code);
        Assert.Equal(0, code);
        Assert.Contains("--top-p", Cli.Fails(2, ["lm", "generate", "--model", run, "--top-p", "1.5"]));

        // Files a user can break or mix up: one line naming the file and the fix, exit code 1.
        string vocab = Path.Combine(run, "vocab.json");
        File.WriteAllText(vocab, "{\"level\": \"word\", \"tokens\": [");
        string broken = Cli.Fails(1, ["lm", .. Train(data, run, "char", "--resume")]);
        Assert.Contains(vocab, broken);
        Assert.Contains("train again", broken);
        File.WriteAllText(vocab, "{\"level\": \"char\"}");
        Assert.Contains("lacks \"tokens\"", Cli.Fails(1, ["lm", .. Train(data, run, "char", "--resume")]));
        string classifier = Directory.CreateTempSubdirectory("slovo-lm-cls").FullName;
        string tsv = Path.Combine(classifier, "t.tsv");
        File.WriteAllLines(tsv, Enumerable.Range(0, 40).Select(i => $"{(i % 2 == 0 ? "good fine" : "bad awful")} {i}\t{i % 2}"));
        Cli.Ok("classify", "train", "--train", tsv, "--model", "cnn", "--emb", "4", "--filters", "2", "--epochs", "1", "--threads", "1", "--out", classifier);
        Assert.Contains("holds a text classifier (text-classifier), not a language model", Cli.Fails(1, ["lm", "generate", "--model", classifier]));
        Assert.Contains("holds a language model (rnn-lm), not a text classifier", Cli.Fails(1, ["classify", "predict", "--model", run]));
        // A checkpoint from another command (a classifier's model file where the LM run's checkpoint should be).
        string other = Directory.CreateTempSubdirectory("slovo-lm-mixed").FullName;
        Cli.Capture(["lm", .. Train(data, other, "char", "--epochs", "1")], out code);
        Assert.Equal(0, code);
        File.Copy(Path.Combine(classifier, "model.safetensors"), Path.Combine(other, "checkpoint.safetensors"), overwrite: true);
        string mixed = Cli.Fails(1, ["lm", .. Train(data, other, "char", "--epochs", "2", "--resume")]);
        Assert.Contains("checkpoint.safetensors is not a checkpoint of a Slovo language-model run (format 'slovo-text-classifier')", mixed);
        Assert.Contains("without --resume", mixed);
        string model = Path.Combine(run, "model.safetensors");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..100]);               // truncated
        Assert.Contains(model, Cli.Fails(1, ["lm", "generate", "--model", run]));
    }

    [Fact]
    public void EveryCommandAnswersHelp()
    {
        var pending = new Stack<(System.CommandLine.Command Command, string[] Path)>();
        pending.Push((SlovoCli.Build(), []));
        int seen = 0;
        while (pending.TryPop(out var item))
        {
            foreach (string flag in new[] { "--help", "-h" })
            {
                string help = Cli.Ok([.. item.Path, flag]);
                Assert.Contains("Usage:", help);
            }
            ++seen;
            foreach (var sub in item.Command.Subcommands) pending.Push((sub, [.. item.Path, sub.Name]));
        }
        Assert.True(seen >= 20, $"only {seen} commands");
        Assert.Contains("[default: 128]", Cli.Ok("lm", "train", "--help"));       // defaults are shown
        Assert.Equal(2, Cli.Run().Code);                                          // a group without a subcommand is a usage mistake
        Assert.Equal(2, Cli.Run("lm").Code);
    }

    [Fact]
    public void InfoShowsTheRuntimeSettingsIncludingTheCpuTensorCache()
    {
        string info = Cli.Ok("info");
        Assert.Contains("libtorch", info);
        Assert.Contains(LibTorch.CpuCacheLimit > 0 ? $"up to {LibTorch.CpuCacheLimit >> 20} MiB" : "off (SLOVO_CPU_CACHE_MB=0)", info);
    }
}

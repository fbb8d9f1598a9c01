using System.Text.Json;
using Slovo.Cli;
using Slovo.Cli.Commands;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class ClassifyCommandTests
{
    private static (string Train, string Test, string Dir) Data()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-cls-cli").FullName;
        var rng = new Random(4);
        string[] pos = ["great", "good", "lovely", "superb"], neg = ["awful", "bad", "boring", "dull"], filler = ["the", "film", "was", "a", "plot", "and", "acting"];
        string Line(int label) => string.Join(' ', Enumerable.Range(0, 6).Select(i => i == 2 ? (label == 1 ? pos : neg)[rng.Next(4)] : filler[rng.Next(filler.Length)])) + "\t" + label;
        string train = Path.Combine(dir, "train.tsv"), test = Path.Combine(dir, "test.tsv");
        File.WriteAllLines(train, Enumerable.Range(0, 200).Select(i => Line(i % 2)));
        File.WriteAllLines(test, Enumerable.Range(0, 40).Select(i => Line(i % 2)));
        return (train, test, dir);
    }

    [Theory]
    [InlineData("cnn", "word")]
    [InlineData("hand-lstm", "bpe")]
    [InlineData("lstm", "unigram")]
    public void TrainEvalAndPredict(string model, string tokenizer)
    {
        (string train, string test, string dir) = Data();
        string run = Path.Combine(dir, "run");
        string log = Cli.Capture(["classify", "train", "--train", train, "--test", test, "--model", model, "--tokenizer", tokenizer, "--vocab-size", "60",
            "--emb", "8", "--hidden", "8", "--filters", "8", "--widths", "1,2", "--epochs", "12", "--patience", "0", "--lr", "0.01", "--batch", "16",
            "--seeds", "1,2", "--threads", "1", "--out", run, "--bidirectional", "--aggregation", "mean"], out int code);
        Assert.Equal(0, code);
        Assert.Contains("over 2 seed(s)", log);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.True(summary.RootElement.GetProperty("test").GetProperty("accuracy_mean").GetDouble() >= 0.9, log);

        string eval = Cli.Capture(["classify", "eval", "--model", run, "--tsv", test], out code);
        Assert.Equal(0, code);
        Assert.Contains("confusion", eval);

        string input = Path.Combine(dir, "input.txt");
        File.WriteAllLines(input, ["", "great great film", "qqq zzz", "awful and dull"]);
        string predictions = Path.Combine(dir, "pred.txt");
        Cli.Capture(["classify", "predict", "--model", run, "--input", input, "--out", predictions], out code);
        Assert.Equal(0, code);
        string[] p = File.ReadAllLines(predictions);
        Assert.Equal(4, p.Length);
        Assert.Equal(["1", "0"], new[] { p[1], p[3] });

        string labels = Path.Combine(dir, "labels.tsv");
        File.WriteAllLines(labels, ["1\t1", "3\t0"]);
        string scored = Cli.Capture(["classify", "eval", "--predictions", predictions, "--labels", labels], out code);
        Assert.Equal(0, code);
        Assert.Contains("accuracy 100", scored);
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        (string train, _, string dir) = Data();
        Assert.Contains("unknown --model 'svm'", Cli.Fails(2, ["classify", "train", "--train", train, "--model", "svm"]));
        Assert.Contains("--ablate needs --model hand-lstm", Cli.Fails(2, ["classify", "train", "--train", train, "--ablate", "forget"]));
        Assert.Contains("unknown gate 'memory'", Cli.Fails(2, ["classify", "train", "--train", train, "--model", "hand-lstm", "--ablate", "memory"]));
        Assert.Contains("at most 30000", Cli.Fails(2, ["classify", "train", "--train", train, "--vocab-size", "50000"]));
        Assert.Contains("train one with 'slovo classify train'", Cli.Fails(1, ["classify", "predict", "--model", Path.Combine(dir, "none")]));
        string preds = Path.Combine(dir, "p.txt"), labels = Path.Combine(dir, "l.tsv");
        File.WriteAllLines(preds, ["1", "0"]);
        File.WriteAllLines(labels, ["5\t1"]);
        Assert.Contains("has 2 lines", Cli.Fails(1, ["classify", "eval", "--predictions", preds, "--labels", labels]));
        Assert.Contains("needs both", Cli.Fails(2, ["classify", "eval", "--predictions", preds]));
    }
}

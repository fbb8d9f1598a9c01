using Slovo.Classification;
using Slovo.Encoders;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the commands write to the console; run these one at a time
public class BertClassifyCommandTests
{
    // A tiny BERT folder (random weights) whose WordPiece vocabulary knows the toy task's words.
    private static string TinyEncoder(string dir)
    {
        string[] words = ["good", "great", "fine", "bad", "awful", "poor", "film", "the", "was", "a", "very", "plot", "acting"];
        var vocab = new Dictionary<string, int>();
        foreach (string t in BertVocab.SpecialTokens.Concat(words)) vocab[t] = vocab.Count;
        using var model = new BertModel(new BertConfig { VocabSize = vocab.Count, Width = 32, Layers = 1, Heads = 2, Intermediate = 64, Positions = 64 });
        model.SavePretrained(dir);
        TokenizerJson.Save(BertVocab.Create(vocab), Path.Combine(dir, "tokenizer.json"));
        return dir;
    }

    private static IEnumerable<string> Toy(int n, int seed)
    {
        var rng = new Random(seed);
        string[] good = ["good", "great", "fine"], bad = ["bad", "awful", "poor"], filler = ["the film was", "a very", "the plot", "acting"];
        for (int i = 0; i < n; ++i)
        {
            int label = i % 2;
            string word = (label == 1 ? good : bad)[rng.Next(3)];
            yield return $"{filler[rng.Next(4)]} {word} {filler[rng.Next(4)]}\t{label}";
        }
    }

    [Fact]
    public void BertFineTunesOnTsvPredictsEvaluatesAndRefusesOptionsThatDoNotApply()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-bert-classify").FullName;
        string init = TinyEncoder(Directory.CreateDirectory(Path.Combine(dir, "init")).FullName);
        string train = Path.Combine(dir, "train.tsv"), test = Path.Combine(dir, "test.tsv"), run = Path.Combine(dir, "run");
        File.WriteAllLines(train, Toy(160, 1));
        File.WriteAllLines(test, Toy(40, 2));
        string printed = Cli.Ok("classify", "train", "--model", "bert", "--init", init, "--train", train, "--test", test, "--epochs", "6",
                                "--lr", "1e-3", "--batch", "8", "--max-length", "16", "--out", run, "--threads", "1");
        Assert.Contains("bert:", printed);
        Assert.True(BertClassifier.IsFolder(run));
        // It trains on the classifiers' own task: validated every epoch on the split every classifier uses, the best epoch kept.
        Assert.Contains("seed 1 epoch 6: train loss", printed);
        string Split(string log) => log.Split('\n').First(l => l.StartsWith("data: ", StringComparison.Ordinal)).Split(';')[0];
        string lstm = Cli.Ok("classify", "train", "--train", train, "--test", test, "--epochs", "1", "--emb", "4", "--hidden", "4", "--out", Path.Combine(dir, "lstm"), "--threads", "1");
        Assert.Equal(Split(lstm), Split(printed)); // "data: N train / M validation / K test": the same held-out share
        using (var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))))
        {
            Assert.Equal("classifier", summary.RootElement.GetProperty("task").GetString());
            Assert.InRange(summary.RootElement.GetProperty("best_epoch").GetInt32(), 1, 6);
            Assert.True(summary.RootElement.GetProperty("best").GetProperty("validation_accuracy").GetDouble() >= 0.9);
        }
        string eval = Cli.Ok("classify", "eval", "--model", run, "--tsv", test);
        double accuracy = double.Parse(eval.Split('\n').First(l => l.Contains("accuracy", StringComparison.OrdinalIgnoreCase)).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('%', '|')).First(w => double.TryParse(w, System.Globalization.CultureInfo.InvariantCulture, out _)), System.Globalization.CultureInfo.InvariantCulture);
        if (accuracy > 1) accuracy /= 100;
        Assert.InRange(accuracy, 0.9, 1.0);                 // one word decides the class: a fine-tuned encoder finds it

        string texts = Path.Combine(dir, "texts.txt"), preds = Path.Combine(dir, "preds.txt");
        File.WriteAllLines(texts, ["the film was great", "the plot was awful"]);
        Cli.Ok("classify", "predict", "--model", run, "--input", texts, "--out", preds);
        Assert.Equal(["1", "0"], File.ReadAllLines(preds));

        // The saved folder reloads to the same probabilities.
        using (BertClassifier a = BertClassifier.Load(run), b = BertClassifier.Load(run))
            Assert.Equal(a.Probabilities(["the film was great"])[0], b.Probabilities(["the film was great"])[0]);

        Assert.Contains("--model bert needs --init", Cli.Fails(2, ["classify", "train", "--model", "bert", "--train", train]));
        Assert.Contains("--emb does not apply", Cli.Fails(2, ["classify", "train", "--model", "bert", "--init", init, "--emb", "50", "--train", train]));
        Assert.Contains("--init goes with --model bert", Cli.Fails(2, ["classify", "train", "--init", init, "--train", train]));
    }
}

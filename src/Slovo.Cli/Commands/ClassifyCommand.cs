using System.CommandLine;
using System.Globalization;
using Slovo.Classification;
using Slovo.Cli.CommandLine;
using Slovo.Output;
using Slovo.Models;
using Slovo.Torch;
using Slovo.Torch.Serialization;
using Slovo.Evaluation;

namespace Slovo.Cli.Commands;

/// <summary>`slovo classify train | eval | predict`: text classifiers (CNN, RNN, LSTM variants).</summary>
internal static partial class ClassifyCommand
{
    public static Command Create()
    {
        var command = new Command("classify", "Train, evaluate and apply text classifiers (CNN, RNN, LSTM variants; IMDb by default).");
        command.Add(TrainCommand());
        command.Add(EvalCommand());
        command.Add(PredictCommand());
        return command;
    }

    private static Option<string> ImdbOption() => Opt.Path("--imdb", "IMDb folder with train/ and test/, each holding positive and negative files",
                                                           () => SharedData.Data("imdb"), "DIR");

    private static Command EvalCommand()
    {
        var modelPath = Opt.OptionalText("--model", "a run folder or model.safetensors of 'slovo classify train'", "PATH");
        var imdb = ImdbOption();
        var tsv = Opt.OptionalText("--tsv", "score on a TSV of \"text<TAB>label\" lines instead of IMDb test", "FILE");
        var predictions = Opt.OptionalText("--predictions", "a file of predicted classes, one per line (needs --labels)", "FILE");
        var labels = Opt.OptionalText("--labels", "an answer key of \"line index<TAB>label\" lines", "FILE");
        var device = Opt.Device();
        var command = new Command("eval", "Score a model on labelled texts, or a predictions file against a labels file.").With(modelPath, imdb, tsv, predictions, labels, device);
        command.SetAction(p =>
        {
            string? preds = p.GetValue(predictions), key = p.GetValue(labels);
            if (preds is not null || key is not null)
            {
                if (preds is null || key is null) throw new UsageException("scoring a predictions file needs both --predictions and --labels");
                ScorePredictions(preds, key);
                return 0;
            }
            string model = p.GetValue(modelPath) ?? throw new UsageException("--model DIR is required (or --predictions with --labels)");
            string? file = p.GetValue(tsv);
            List<LabeledText> data = file is not null ? ClassificationData.ReadTsv(file) : ClassificationData.ReadImdb(p.GetValue(imdb)!, "test");
            Device on = Opt.ResolveDevice(p.GetValue(device));
            using TrainedClassifier classifier = ModelRegistry.Default.LoadClassifier(model, on);
            Report(ClassificationMetrics.Compute(data.Select(d => d.Label).ToArray(), classifier.Predict(data.Select(d => d.Text).ToList()), classifier.Classes));
            return 0;
        });
        return command;
    }

    private static void ScorePredictions(string predictions, string labels)
    {
        List<string> lines = ClassificationData.ReadLines(predictions);
        Dictionary<int, int> key = ClassificationData.ReadLabels(labels);
        var gold = new List<int>();
        var predicted = new List<int>();
        foreach ((int index, int label) in key.OrderBy(kv => kv.Key))
        {
            if (index >= lines.Count) throw new InvalidDataException($"{labels} names line {index}, but {predictions} has {lines.Count} lines");
            if (!int.TryParse(lines[index].Trim(), out int p) || p < 0) throw new InvalidDataException($"{predictions}:{index + 1}: expected a class number, got '{lines[index]}'");
            gold.Add(label);
            predicted.Add(p);
        }
        Report(ClassificationMetrics.Compute(gold, predicted, Math.Max(gold.Max(), predicted.Max()) + 1));
    }

    private static void Report(ClassificationMetrics m)
    {
        Console.WriteLine($"accuracy {m.Accuracy:P2}, macro F1 {m.MacroF1:F4}, F1 of class 1 {m.PositiveF1:F4}");
        int classes = m.Confusion.GetLength(1);
        Ui.Table(["gold \\ predicted", .. Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture))],
                 Enumerable.Range(0, m.Confusion.GetLength(0)).Select(g => (IReadOnlyList<string>)
                     [g.ToString(CultureInfo.InvariantCulture), .. Enumerable.Range(0, classes).Select(c => m.Confusion[g, c].ToString(CultureInfo.InvariantCulture))]),
                 "confusion");
    }

    private static Command PredictCommand()
    {
        var modelPath = Opt.Path("--model", "a run folder or model.safetensors of 'slovo classify train' (any --model, bert included)", required: true);
        var input = Opt.Path("--input", "texts, one per line", () => SharedData.Data("yelp", "reviews.txt"), "FILE");
        var output = Opt.OptionalText("--out", "where to write the classes (default: standard output)", "FILE");
        var device = Opt.Device();
        var command = new Command("predict", "One predicted class per input line (the course's format: 1 = positive).").With(modelPath, input, output, device);
        command.SetAction(p =>
        {
            Device on = Opt.ResolveDevice(p.GetValue(device));
            List<string> lines = ClassificationData.ReadLines(p.GetValue(input)!);
            using TrainedClassifier classifier = ModelRegistry.Default.LoadClassifier(p.GetValue(modelPath)!, on);
            int[] predicted = classifier.Predict(lines);
            string text = string.Concat(predicted.Select(x => x.ToString(CultureInfo.InvariantCulture) + "\n"));
            string? outPath = p.GetValue(output);
            if (outPath is null) Console.Write(text);
            else
            {
                AtomicFile.WriteAllText(outPath, text);
                Console.Error.WriteLine($"wrote {predicted.Length:N0} predictions to {outPath} ({predicted.Count(x => x == 1):N0} of class 1)");
            }
            return 0;
        });
        return command;
    }
}

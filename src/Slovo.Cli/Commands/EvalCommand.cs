using System.CommandLine;
using System.Globalization;
using Slovo.Cli.CommandLine;
using Slovo.Output;
using Slovo.Evaluation;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo eval rouge`: ROUGE of predictions against references, line by line.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Score outputs against references (ROUGE).");
        command.Add(RougeCommand());
        return command;
    }

    private static Command RougeCommand()
    {
        var predictions = Opt.Path("--predictions", "one prediction per line", required: true, helpName: "FILE");
        var references = Opt.Path("--references", "one reference per line, in the same order", required: true, helpName: "FILE");
        var stem = Opt.Flag("--stem", "Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer)");
        var tokens = Opt.Choice("--tokens", "ascii: rouge-score's tokens ([a-z0-9] runs; other scripts are deleted); unicode: letters and digits of any script",
                                "ascii", "ascii", "unicode");
        var output = Opt.OptionalText("--out", "also write each line's ROUGE-1/2/L F1 as TSV", "FILE");
        var command = new Command("rouge",
                "Mean ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (precision, recall, F1) of predictions against references, as Google's rouge-score " +
                "computes them; within a line the two characters \\n separate sentences for ROUGE-Lsum.")
            .With(predictions, references, stem, tokens, output);
        command.SetAction(p =>
        {
            string predPath = p.GetValue(predictions)!, refPath = p.GetValue(references)!;
            List<string> preds = ReadLines(predPath), refs = ReadLines(refPath);
            if (preds.Count != refs.Count)
                throw new InvalidDataException($"{predPath} has {preds.Count} lines but {refPath} has {refs.Count}; give one prediction per reference, in the same order");
            var rouge = new Rouge(p.GetValue(stem), p.GetValue(tokens) == "unicode" ? RougeTokenization.Unicode : RougeTokenization.Ascii);
            RougeSummary s = rouge.Corpus(refs, preds);
            Console.WriteLine($"{s.Examples:N0} pairs; tokens {p.GetValue(tokens)}{(rouge.Stem ? ", stemmed" : "")}");
            string F(double x) => x.ToString("F4", CultureInfo.InvariantCulture);
            Ui.Table(["", "precision", "recall", "F1"],
                new (string Name, RougeScore Score)[] { ("ROUGE-1", s.Rouge1), ("ROUGE-2", s.Rouge2), ("ROUGE-L", s.RougeL), ("ROUGE-Lsum", s.RougeLsum) }
                    .Select(r => (IReadOnlyList<string>)[r.Name, F(r.Score.Precision), F(r.Score.Recall), F(r.Score.F1)]),
                "mean over the pairs");
            if (p.GetValue(output) is { } path)
            {
                var lines = refs.Select((r, i) => rouge.Score(r, preds[i])).Select((x, i) => $"{i}\t{F(x.Rouge1.F1)}\t{F(x.Rouge2.F1)}\t{F(x.RougeL.F1)}");
                AtomicFile.WriteAllText(path, "line\trouge1_f1\trouge2_f1\trougeL_f1\n" + string.Join("\n", lines) + "\n");
                Console.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>The lines of a file, each with the two characters \n turned into a line break (sentences for ROUGE-Lsum).</summary>
    private static List<string> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no file {Path.GetFullPath(path)}", path);
        return File.ReadAllLines(path).Select(l => l.Replace("\\n", "\n", StringComparison.Ordinal)).ToList();
    }
}

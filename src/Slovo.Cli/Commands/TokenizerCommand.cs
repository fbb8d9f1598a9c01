using System.CommandLine;
using System.Globalization;
using System.Text;
using Slovo.Cli.CommandLine;
using Slovo.Cli.Output;
using Slovo.Output;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Processors;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Cli.Commands;

/// <summary>`slovo tokenizer train | encode | decode | stats`.</summary>
internal static class TokenizerCommand
{
    public static Command Create()
    {
        var command = new Command("tokenizer", "Train, encode with, decode with, and measure subword tokenizers (Hugging Face tokenizer.json).");
        command.Add(TrainCommand());
        command.Add(EncodeCommand());
        command.Add(DecodeCommand());
        command.Add(StatsCommand());
        return command;
    }

    private static Option<string> TokenizerOption() => Opt.Path("--tokenizer", "a tokenizer.json", required: true, helpName: "FILE");

    private static Option<string[]> FilesOption() => Opt.List("--files", "training or measured text files, comma-separated", "F1,F2,...", required: true);

    private static Command TrainCommand()
    {
        var files = FilesOption();
        var output = Opt.Path("--out", "where to write tokenizer.json", required: true, helpName: "FILE");
        var kindOption = Opt.Choice("--model", "the tokenization model", "bpe", "bpe", "bytelevel-bpe", "wordpiece", "wordlevel", "unigram");
        var vocabSizeOption = Opt.Int("--vocab-size", "vocabulary size", 30_000, min: 1);
        var minFrequencyOption = Opt.Int("--min-frequency", "pairs/words seen fewer times are not merged/kept", 2, min: 1);
        var specialsOption = Opt.List("--special-tokens", "special tokens; the first is the unknown token for bpe, wordpiece and wordlevel " +
                                      "(default: <|endoftext|> for bytelevel-bpe, <unk>,<pad> for unigram, else [UNK],[PAD])", "T1,T2,...");
        var limitAlphabetOption = Opt.Int("--limit-alphabet", "keep at most N initial characters; 0 keeps all", 0, min: 0);
        var lowercaseOption = Opt.Flag("--lowercase", "lowercase the text first");
        var nfkcOption = Opt.Flag("--nfkc", "NFKC-normalise the text first");
        var templateOption = Opt.OptionalText("--template", "post-processing template, e.g. \"[CLS] $A [SEP]\"");
        var command = new Command("train", "Train a tokenizer on text files and write tokenizer.json.")
            .With(files, output, kindOption, vocabSizeOption, minFrequencyOption, specialsOption, limitAlphabetOption, lowercaseOption, nfkcOption, templateOption);
        command.SetAction(p => Train(p.GetValue(files)!, p.GetValue(output)!, p.GetValue(kindOption)!, p.GetValue(vocabSizeOption), p.GetValue(minFrequencyOption),
            p.GetValue(specialsOption), p.GetValue(limitAlphabetOption), p.GetValue(lowercaseOption), p.GetValue(nfkcOption), p.GetValue(templateOption)));
        return command;
    }

    private static readonly Dictionary<string, TokenizerModel> s_models = new(StringComparer.Ordinal)
    {
        ["bpe"] = TokenizerModel.Bpe, ["bytelevel-bpe"] = TokenizerModel.ByteLevelBpe, ["wordpiece"] = TokenizerModel.WordPiece,
        ["wordlevel"] = TokenizerModel.WordLevel, ["unigram"] = TokenizerModel.Unigram,
    };

    private static int Train(string[] files, string outPath, string kind, int vocabSize, long minFrequency, string[]? specialsGiven, int limitAlphabet,
                             bool lowercase, bool nfkc, string? template)
    {
        TokenizerModel model = s_models[kind];
        Tokenizer tokenizer = Ui.Run(view =>
        {
            ProgressBar count = view.Bar("count", 100);
            ProgressBar? merge = null;
            var options = new TokenizerTrainingOptions
            {
                Model = model, VocabSize = vocabSize, MinFrequency = minFrequency, SpecialTokens = specialsGiven ?? [], LimitAlphabet = limitAlphabet > 0 ? limitAlphabet : null,
                Lowercase = lowercase, Nfkc = nfkc, Template = template,
                Progress = new SyncProgress<TrainerProgress>(p => (merge ??= view.Bar("train", vocabSize)).Report(model == TokenizerModel.Unigram
                    ? Math.Max(0, vocabSize - Math.Max(0, p.Done - p.Total)) // unigram counts pieces down to the target
                    : p.Done, model == TokenizerModel.Unigram ? "pieces" : "tokens")),
            };
            if (model == TokenizerModel.WordPiece && options.Unknown is null) throw new UsageException("wordpiece needs an unknown token in --special-tokens");
            Tokenizer trained = TokenizerTrainer.TrainFiles(files, options,
                new SyncProgress<TrainerProgress>(p => count.Report(p.Total == 0 ? 0 : p.Done * 100 / p.Total, "% of the bytes")));
            count.Report(100, "counted");
            (merge ??= view.Bar("train", vocabSize)).Report(vocabSize, "tokens");
            return trained;
        });
        TokenizerJson.Save(tokenizer, outPath);
        Console.WriteLine($"wrote {outPath}: {kind}, {tokenizer.VocabSize:N0} tokens");
        return 0;
    }

    private static Command EncodeCommand()
    {
        var tokenizerPath = TokenizerOption();
        var text = Opt.OptionalText("--text", "the text to encode; without it each line of standard input is encoded");
        var noSpecial = Opt.Flag("--no-special", "leave out the post-processor's special tokens");
        var show = Opt.Choice("--show", "what to print per text", "ids", "ids", "tokens", "offsets");
        var command = new Command("encode", "Encode text with a tokenizer: one line of ids, tokens or offsets per text.").With(tokenizerPath, text, noSpecial, show);
        command.SetAction(p =>
        {
            Tokenizer t = TokenizerJson.Load(p.GetValue(tokenizerPath)!);
            string? one = p.GetValue(text);
            IEnumerable<string> lines = one is null ? ReadStdin() : [one];
            foreach (string line in lines)
            {
                TokenEncoding e = t.Encode(line, !p.GetValue(noSpecial));
                Console.WriteLine(p.GetValue(show) switch
                {
                    "ids" => string.Join(' ', e.Ids),
                    "tokens" => string.Join(' ', e.Tokens),
                    _ => string.Join(' ', e.Offsets.Select(x => $"{x.Start}:{x.End}")),
                });
            }
            return 0;
        });
        return command;
    }

    private static IEnumerable<string> ReadStdin()
    {
        string? line;
        while ((line = Console.In.ReadLine()) is not null) yield return line;
    }

    private static Command DecodeCommand()
    {
        var tokenizerPath = TokenizerOption();
        var idsOption = Opt.List("--ids", "token ids separated by commas or spaces, e.g. \"1,2,3\"", "1,2,...", required: true);
        var keep = Opt.Flag("--keep-special", "keep special tokens in the text");
        var command = new Command("decode", "Turn token ids back into text.").With(tokenizerPath, idsOption, keep);
        command.SetAction(p =>
        {
            var ids = new List<int>();
            foreach (string part in p.GetValue(idsOption)!.SelectMany(x => x.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                ids.Add(int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) ? id : throw new UsageException($"--ids: '{part}' is not an integer"));
            Tokenizer t = TokenizerJson.Load(p.GetValue(tokenizerPath)!);
            Console.WriteLine(t.Decode(ids, skipSpecialTokens: !p.GetValue(keep)));
            return 0;
        });
        return command;
    }

    private static Command StatsCommand()
    {
        var tokenizerPath = TokenizerOption();
        var files = FilesOption();
        var output = Opt.Text("--out", "folder for frequencies.csv, coverage.csv and coverage.png", "stats", "DIR");
        var command = new Command("stats", "Token frequency distribution and vocabulary coverage of a tokenizer on text files.").With(tokenizerPath, files, output);
        command.SetAction(p => Stats(TokenizerJson.Load(p.GetValue(tokenizerPath)!), p.GetValue(files)!, p.GetValue(output)!));
        return command;
    }

    private static int Stats(Tokenizer t, string[] files, string outDir)
    {
        var counts = new long[t.VocabSize];
        long total = 0, lines = 0;
        foreach (string f in files)
            foreach ((string line, _) in WordCounter.ReadLines(f))
            {
                foreach (int id in t.Encode(line, addSpecialTokens: false).Ids) { counts[id]++; total++; }
                lines++;
            }
        if (total == 0) throw new InvalidDataException("the files hold no tokens");
        var ranked = Enumerable.Range(0, counts.Length).Where(i => counts[i] > 0).OrderByDescending(i => counts[i]).ThenBy(i => i).ToList();
        Directory.CreateDirectory(outDir);
        var freq = new StringBuilder("rank,id,token,count,cumulative_coverage\n");
        var coverage = new List<double>();
        long cum = 0;
        for (int r = 0; r < ranked.Count; ++r)
        {
            cum += counts[ranked[r]];
            coverage.Add((double)cum / total);
            string tok = (t.IdToToken(ranked[r]) ?? "").Replace("\"", "\"\"");
            freq.Append(CultureInfo.InvariantCulture, $"{r + 1},{ranked[r]},\"{tok}\",{counts[ranked[r]]},{coverage[^1]:F6}\n");
        }
        File.WriteAllText(Path.Combine(outDir, "frequencies.csv"), freq.ToString());
        int[] marks = [10, 50, 100, 200, 500, 1000, 1400, 2000, 5000, 10000, 20000, 30000];
        var cov = new StringBuilder("top_k,coverage\n");
        Console.WriteLine($"{lines:N0} lines, {total:N0} tokens; {ranked.Count:N0} of {t.VocabSize:N0} vocabulary entries used ({100.0 * ranked.Count / t.VocabSize:F1}%)");
        foreach (int k in marks.Where(k => k <= ranked.Count)) cov.Append(CultureInfo.InvariantCulture, $"{k},{coverage[k - 1]:F6}\n");
        Ui.Table(["most frequent tokens", "share of the text"],
                 marks.Where(k => k <= ranked.Count).Select(k => (IReadOnlyList<string>)[k.ToString("N0"), $"{100 * coverage[k - 1]:F2}%"]));
        int? unk = t.Model switch { WordPiece w => t.TokenToId(w.UnkToken), WordLevel wl when wl.UnkToken is not null => t.TokenToId(wl.UnkToken), Bpe b when b.UnkToken is not null => t.TokenToId(b.UnkToken), _ => null };
        if (unk is { } u) Console.WriteLine($"  unknown token rate {100.0 * counts[u] / total:F3}%");
        File.WriteAllText(Path.Combine(outDir, "coverage.csv"), cov.ToString());
        Plots.Coverage(Path.Combine(outDir, "coverage.png"), coverage, ranked.Select(i => counts[i]).ToList());
        Console.WriteLine($"wrote {Path.Combine(outDir, "frequencies.csv")}, coverage.csv and coverage.png");
        return 0;
    }
}

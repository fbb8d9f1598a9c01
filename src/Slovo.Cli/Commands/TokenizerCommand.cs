using System.Globalization;
using System.Text;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Processors;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Cli.Commands;

/// <summary>`slovo tokenizer train | encode | decode | stats`.</summary>
internal static class TokenizerCommand
{
    public const string Usage = """
        usage: slovo tokenizer <train|encode|decode|stats> [options]

          train   --files F1,F2,...  --out tokenizer.json
                  [--model bpe|bytelevel-bpe|wordpiece|wordlevel|unigram] (default bpe)
                  [--vocab-size N] (default 30000)  [--min-frequency N] (default 2)
                  [--special-tokens "[UNK],[PAD]"] (the first is the unknown token for bpe, wordpiece, wordlevel)
                  [--limit-alphabet N]  [--lowercase]  [--nfkc]  [--template "[CLS] $A [SEP]"]
          encode  --tokenizer tokenizer.json [--text TEXT] [--no-special] [--show tokens|ids|offsets]
                  (without --text, encodes each line of standard input)
          decode  --tokenizer tokenizer.json --ids "1,2,3" [--keep-special]
          stats   --tokenizer tokenizer.json --files F1,F2,... [--out DIR]
                  token frequency distribution and vocabulary coverage; writes frequencies.csv,
                  coverage.csv and coverage.svg to DIR (default: stats)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        string verb = args[0];
        Options o = Options.Parse(args[1..], new HashSet<string> { "lowercase", "nfkc", "no-special", "keep-special" });
        return verb switch
        {
            "train" => Train(o),
            "encode" => Encode(o),
            "decode" => Decode(o),
            "stats" => Stats(o),
            _ => throw new UsageException($"unknown tokenizer command '{verb}'"),
        };
    }

    private static string[] Files(Options o)
    {
        string list = o.String("files", "");
        if (list.Length == 0) throw new UsageException("--files is required (comma-separated paths)");
        return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static Tokenizer LoadTokenizer(Options o)
    {
        string path = o.String("tokenizer", "");
        if (path.Length == 0) throw new UsageException("--tokenizer FILE is required");
        return TokenizerJson.Load(path);
    }

    private static int Train(Options o)
    {
        string[] files = Files(o);
        string outPath = o.String("out", "");
        if (outPath.Length == 0) throw new UsageException("--out tokenizer.json is required");
        string kind = o.String("model", "bpe");
        int vocabSize = o.Int("vocab-size", 30_000, 1);
        long minFrequency = o.Int("min-frequency", 2, 1);
        string[] specials = o.String("special-tokens", kind switch { "bytelevel-bpe" => "<|endoftext|>", "unigram" => "<unk>,<pad>", _ => "[UNK],[PAD]" })
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int limitAlphabet = o.Int("limit-alphabet", 0, 0);
        bool lowercase = o.Flag("lowercase"), nfkc = o.Flag("nfkc");
        string template = o.String("template", "");
        o.RejectUnknown();

        var steps = new List<INormalizer>();
        if (nfkc) steps.Add(new UnicodeNormalizer(NormalizationForm.FormKC));
        if (lowercase) steps.Add(new LowercaseNormalizer());
        INormalizer? normalizer = steps.Count == 0 ? null : steps.Count == 1 ? steps[0] : new SequenceNormalizer(steps);
        IPreTokenizer pre = kind == "bytelevel-bpe" ? new ByteLevelPreTokenizer() : new WhitespacePreTokenizer();
        var bar = new Progress(100, "count");
        Dictionary<string, long> counts = WordCounter.CountFiles(files, normalizer, pre,
            progress: new SyncProgress(p => { lock (bar) bar.Report(p.Total == 0 ? 0 : p.Done * 100 / p.Total, "% of the bytes"); }));
        Console.Error.WriteLine($"{counts.Count:N0} distinct words");
        var merge = new Progress(vocabSize, "train");
        var options = new BpeTrainerOptions
        {
            VocabSize = vocabSize, MinFrequency = minFrequency, SpecialTokens = specials, ByteLevelAlphabet = kind == "bytelevel-bpe",
            LimitAlphabet = limitAlphabet > 0 ? limitAlphabet : null,
            Progress = new SyncProgress(p => merge.Report(p.Done, "tokens")),
        };
        string? unk = kind == "bytelevel-bpe" || specials.Length == 0 ? null : specials[0];
        IModel model = kind switch
        {
            "bpe" or "bytelevel-bpe" => BpeTrainer.Train(counts, options, unk),
            "wordpiece" => WordPieceTrainer.Train(counts, options, unk ?? throw new UsageException("wordpiece needs an unknown token in --special-tokens")),
            "wordlevel" => WordLevelTrainer.Train(counts, vocabSize, minFrequency, specials, unk),
            "unigram" => UnigramTrainer.Train(counts, new UnigramTrainerOptions
            {
                VocabSize = vocabSize, SpecialTokens = specials, UnkToken = unk ?? "<unk>",
                Progress = new SyncProgress(p => merge.Report(Math.Max(0, vocabSize - Math.Max(0, p.Done - p.Total)), "pieces")),
            }),
            _ => throw new UsageException($"unknown --model '{kind}'; use bpe, bytelevel-bpe, wordpiece, wordlevel or unigram"),
        };
        var added = specials.Select(s => new AddedToken(s, model.TokenToId(s)!.Value)).ToList();
        var tokenizer = new Tokenizer(model, added)
        {
            Normalizer = normalizer,
            PreTokenizer = pre,
            Decoder = kind switch { "bytelevel-bpe" => new ByteLevelDecoder(), "wordpiece" => new WordPieceDecoder(), _ => null },
            PostProcessor = template.Length == 0 ? null : TemplateProcessing.Parse(template, added.ToDictionary(a => a.Content, a => a.Id)),
        };
        TokenizerJson.Save(tokenizer, outPath);
        Console.WriteLine($"wrote {outPath}: {kind}, {tokenizer.VocabSize:N0} tokens");
        return 0;
    }

    private static int Encode(Options o)
    {
        Tokenizer t = LoadTokenizer(o);
        string? text = o.String("text", "\0") is var s && s == "\0" ? null : s;
        bool special = !o.Flag("no-special");
        string show = o.String("show", "ids");
        o.RejectUnknown();
        IEnumerable<string> lines = text is null ? ReadStdin() : [text];
        foreach (string line in lines)
        {
            TokenEncoding e = t.Encode(line, special);
            Console.WriteLine(show switch
            {
                "ids" => string.Join(' ', e.Ids),
                "tokens" => string.Join(' ', e.Tokens),
                "offsets" => string.Join(' ', e.Offsets.Select(x => $"{x.Start}:{x.End}")),
                _ => throw new UsageException($"unknown --show '{show}'; use ids, tokens or offsets"),
            });
        }
        return 0;
    }

    private static IEnumerable<string> ReadStdin()
    {
        string? line;
        while ((line = Console.In.ReadLine()) is not null) yield return line;
    }

    private static int Decode(Options o)
    {
        string list = o.String("ids", "");
        bool keep = o.Flag("keep-special");
        var ids = new List<int>();
        foreach (string part in list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries))
            ids.Add(int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) ? id : throw new UsageException($"--ids: '{part}' is not an integer"));
        Tokenizer t = LoadTokenizer(o);
        o.RejectUnknown();
        Console.WriteLine(t.Decode(ids, skipSpecialTokens: !keep));
        return 0;
    }

    private static int Stats(Options o)
    {
        Tokenizer t = LoadTokenizer(o);
        string[] files = Files(o);
        string outDir = o.String("out", "stats");
        o.RejectUnknown();
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
        foreach (int k in marks.Where(k => k <= ranked.Count))
        {
            cov.Append(CultureInfo.InvariantCulture, $"{k},{coverage[k - 1]:F6}\n");
            Console.WriteLine($"  the {k,6:N0} most frequent tokens cover {100 * coverage[k - 1],6:F2}% of the text");
        }
        int? unk = t.Model switch { WordPiece w => t.TokenToId(w.UnkToken), WordLevel wl when wl.UnkToken is not null => t.TokenToId(wl.UnkToken), Bpe b when b.UnkToken is not null => t.TokenToId(b.UnkToken), _ => null };
        if (unk is { } u) Console.WriteLine($"  unknown token rate {100.0 * counts[u] / total:F3}%");
        File.WriteAllText(Path.Combine(outDir, "coverage.csv"), cov.ToString());
        File.WriteAllText(Path.Combine(outDir, "coverage.svg"), CoverageSvg(coverage, ranked.Select(i => counts[i]).ToList()));
        Console.WriteLine($"wrote {Path.Combine(outDir, "frequencies.csv")}, coverage.csv and coverage.svg");
        return 0;
    }

    /// <summary>Two panels: rank–frequency on log–log axes, and cumulative coverage against the number of top tokens.</summary>
    internal static string CoverageSvg(IReadOnlyList<double> coverage, IReadOnlyList<long> frequencies)
    {
        const int W = 900, H = 360, pad = 50, panel = (W - 3 * pad) / 2;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        double maxRank = Math.Log10(Math.Max(2, frequencies.Count)), maxFreq = Math.Log10(Math.Max(2, frequencies[0]));
        string Pts(IEnumerable<(double X, double Y)> p) => string.Join(" ", p.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.X:F1},{q.Y:F1}")));
        var left = frequencies.Select((f, r) => (pad + panel * Math.Log10(r + 1) / maxRank, H - pad - (H - 2 * pad) * Math.Log10(f) / maxFreq));
        var right = coverage.Select((c, r) => (2 * pad + panel + panel * (r + 1.0) / coverage.Count, H - pad - (H - 2 * pad) * c));
        foreach (int x0 in new[] { pad, 2 * pad + panel })
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x0}\" y=\"{pad}\" width=\"{panel}\" height=\"{H - 2 * pad}\" fill=\"none\" stroke=\"#999\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{Pts(left)}\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"{Pts(right)}\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{pad}\" y=\"{pad - 10}\">token frequency by rank (log-log; rank 1..{frequencies.Count}, count 1..{frequencies[0]})</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{2 * pad + panel}\" y=\"{pad - 10}\">share of the text covered by the top-k tokens (k = 1..{coverage.Count})</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{pad}\" y=\"{H - pad + 18}\">rank</text><text x=\"{2 * pad + panel}\" y=\"{H - pad + 18}\">k</text>\n");
        return sb.Append("</svg>\n").ToString();
    }
}

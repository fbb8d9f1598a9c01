using System.Globalization;
using Slovo.Embeddings;

namespace Slovo.Cli.Commands;

/// <summary>`slovo vectors info | most-similar | doesnt-match | similarity | convert`.</summary>
internal static class VectorsCommand
{
    public const string Usage = """
        usage: slovo vectors <command> --vectors FILE [options]

        FILE is word2vec binary or text, or GloVe text (gzip is fine); add --limit N to read the first N vectors.
          info                                          count, dimension, first words
          most-similar --positive a,b [--negative c] [--topn 10]
                                                        e.g. --positive king,woman --negative man
          doesnt-match --words breakfast,cereal,dinner,lunch
          similarity   --words woman,man                cosine similarity of two words
          convert      --out FILE [--text]              write word2vec binary (or text with --text)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        string verb = args[0];
        Options o = Options.Parse(args[1..], new HashSet<string> { "text" });
        string path = o.String("vectors", "");
        if (path.Length == 0) throw new UsageException("--vectors FILE is required");
        int limit = o.Int("limit", 0, 0);
        string[] List(string name) => o.String(name, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (verb)
        {
            case "info":
            {
                o.RejectUnknown();
                KeyedVectors kv = Load(path, limit);
                Console.WriteLine($"{kv.Count:N0} vectors of dimension {kv.Dimension}; first words: {string.Join(' ', kv.Words.Take(10))}");
                return 0;
            }
            case "most-similar":
            {
                string[] pos = List("positive"), neg = List("negative");
                int topn = o.Int("topn", 10, 1);
                o.RejectUnknown();
                if (pos.Length + neg.Length == 0) throw new UsageException("give --positive and/or --negative words");
                KeyedVectors kv = Load(path, limit);
                Require(kv, pos.Concat(neg));
                foreach ((string w, double sim) in kv.MostSimilar(pos, neg, topn))
                    Console.WriteLine($"{w}\t{sim.ToString("F4", CultureInfo.InvariantCulture)}");
                return 0;
            }
            case "doesnt-match":
            {
                string[] words = List("words");
                o.RejectUnknown();
                if (words.Length < 2) throw new UsageException("give at least two --words");
                KeyedVectors kv = Load(path, limit);
                Console.WriteLine(kv.DoesntMatch(words));
                return 0;
            }
            case "similarity":
            {
                string[] words = List("words");
                o.RejectUnknown();
                if (words.Length != 2) throw new UsageException("give exactly two --words");
                KeyedVectors kv = Load(path, limit);
                Require(kv, words);
                Console.WriteLine(kv.Similarity(words[0], words[1]).ToString("F4", CultureInfo.InvariantCulture));
                return 0;
            }
            case "convert":
            {
                string outPath = o.String("out", "");
                bool text = o.Flag("text");
                o.RejectUnknown();
                if (outPath.Length == 0) throw new UsageException("--out FILE is required");
                KeyedVectors kv = Load(path, limit);
                kv.Save(outPath, binary: !text);
                Console.WriteLine($"wrote {outPath}: {kv.Count:N0} x {kv.Dimension}, {(text ? "text" : "binary")}");
                return 0;
            }
            default:
                throw new UsageException($"unknown vectors command '{verb}'");
        }
    }

    private static KeyedVectors Load(string path, int limit) => KeyedVectors.Load(path, limit: limit > 0 ? limit : null);

    private static void Require(KeyedVectors kv, IEnumerable<string> words)
    {
        var missing = words.Where(w => !kv.Contains(w)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"not in the vocabulary: {string.Join(", ", missing)}");
    }
}

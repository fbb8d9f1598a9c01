using System.CommandLine;
using System.Globalization;
using Slovo.Cli.CommandLine;
using Slovo.Embeddings;

namespace Slovo.Cli.Commands;

/// <summary>`slovo vectors info | most-similar | doesnt-match | similarity | convert`.</summary>
internal static class VectorsCommand
{
    public static Command Create()
    {
        var command = new Command("vectors", "Query and convert word vectors: word2vec binary or text, or GloVe text (gzip is fine).");
        command.Add(Verb("info", "Count, dimension and first words.", (_, kv) =>
        {
            Console.WriteLine($"{kv.Count:N0} vectors of dimension {kv.Dimension}; first words: {string.Join(' ', kv.Words.Take(10))}");
        }));

        var positive = Opt.List("--positive", "words to add, e.g. king,woman");
        var negative = Opt.List("--negative", "words to subtract, e.g. man");
        var topn = Opt.Int("--topn", "how many neighbours", 10, min: 1);
        command.Add(Verb("most-similar", "Nearest words to the sum of --positive minus --negative vectors (cosine).", (p, kv) =>
        {
            string[] pos = p.GetValue(positive) ?? [], neg = p.GetValue(negative) ?? [];
            if (pos.Length + neg.Length == 0) throw new UsageException("give --positive and/or --negative words");
            Require(kv, pos.Concat(neg));
            foreach ((string w, double sim) in kv.MostSimilar(pos, neg, p.GetValue(topn)))
                Console.WriteLine($"{w}\t{sim.ToString("F4", CultureInfo.InvariantCulture)}");
        }, positive, negative, topn));

        var oddWords = Opt.List("--words", "the words, e.g. breakfast,cereal,dinner,lunch", required: true);
        command.Add(Verb("doesnt-match", "The word farthest from the mean of the others.", (p, kv) =>
        {
            string[] words = p.GetValue(oddWords)!;
            if (words.Length < 2) throw new UsageException("give at least two --words");
            Console.WriteLine(kv.DoesntMatch(words));
        }, oddWords));

        var pair = Opt.List("--words", "two words, e.g. woman,man", required: true);
        command.Add(Verb("similarity", "Cosine similarity of two words.", (p, kv) =>
        {
            string[] words = p.GetValue(pair)!;
            if (words.Length != 2) throw new UsageException("give exactly two --words");
            Require(kv, words);
            Console.WriteLine(kv.Similarity(words[0], words[1]).ToString("F4", CultureInfo.InvariantCulture));
        }, pair));

        var output = Opt.Path("--out", "file to write", required: true, helpName: "FILE");
        var text = Opt.Flag("--text", "write word2vec text instead of binary");
        command.Add(Verb("convert", "Write the vectors as word2vec binary (or text).", (p, kv) =>
        {
            string outPath = p.GetValue(output)!;
            bool asText = p.GetValue(text);
            kv.Save(outPath, binary: !asText);
            Console.WriteLine($"wrote {outPath}: {kv.Count:N0} x {kv.Dimension}, {(asText ? "text" : "binary")}");
        }, output, text));
        return command;
    }

    /// <summary>A subcommand that loads --vectors (first --limit of them) and then runs <paramref name="run"/>.</summary>
    private static Command Verb(string name, string description, Action<ParseResult, KeyedVectors> run, params Option[] options)
    {
        var vectors = Opt.Path("--vectors", "word2vec binary/text or GloVe text file", required: true, helpName: "FILE");
        var limit = Opt.Int("--limit", "read only the first N vectors; 0 reads all", 0, min: 0);
        var command = new Command(name, description).With([vectors, limit, .. options]);
        command.SetAction(p =>
        {
            int n = p.GetValue(limit);
            run(p, KeyedVectors.Load(p.GetValue(vectors)!, limit: n > 0 ? n : null));
            return 0;
        });
        return command;
    }

    private static void Require(KeyedVectors kv, IEnumerable<string> words)
    {
        var missing = words.Where(w => !kv.Contains(w)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"not in the vocabulary: {string.Join(", ", missing)}");
    }
}

using System.CommandLine;
using System.Globalization;
using Slovo.Cli.CommandLine;
using Slovo.Output;
using Slovo.Embeddings;
using Slovo.Encoders;
using Slovo.Models;
using Slovo.Evaluation;
using Slovo.Retrieval;
using Slovo.Text;
using Slovo.Torch;

namespace Slovo.Cli.Commands;

/// <summary>`slovo rank eval`: duplicate-question ranking (Hits@K, DCG@K, MRR) with an encoder or word vectors.</summary>
internal static class RankCommand
{
    public static Command Create()
    {
        var command = new Command("rank", "Rank candidate texts by similarity and score the ranking.");
        command.Add(EvalCommand());
        return command;
    }

    private static Command EvalCommand()
    {
        var model = Opt.OptionalText("--model", "an encoder folder (slovo models import): sentence embeddings", "DIR");
        var glove = Opt.OptionalText("--glove", "word vectors (GloVe or word2vec): the mean of each text's word vectors", "FILE");
        var pairs = Opt.Path("--pairs", "label<TAB>question1<TAB>question2 lines (label: duplicate or non-duplicate, as the shipped data)", required: true, helpName: "FILE.tsv");
        var pool = Opt.OptionalText("--pool", "more candidate texts, one per line, added to the file's questions", "FILE");
        var negatives = Opt.Int("--negatives", "negatives drawn for each duplicate pair", 999, min: 1);
        var seed = Opt.Int("--seed", "seed of the negatives", 1, min: 0);
        var preprocess = Opt.Flag("--preprocess", "word vectors: the duplicates recipe's preprocessing (HTML, punctuation and English stopwords removed) instead of lower-cased words");
        var batch = Opt.Int("--batch", "encoder: texts per batch", 32, min: 1);
        var device = Opt.Device();
        var engine = Opt.Engine();
        var command = new Command("eval",
                "Duplicate-question ranking as the course scored it: each duplicate pair's first question is the query, its second is hidden among " +
                "--negatives other questions, and the rank of the duplicate by cosine similarity gives Hits@K, DCG@K and MRR. Questions are " +
                "cut at their first '<' (the shipped files append an HTML body to the title).")
            .With(model, glove, pairs, pool, negatives, seed, preprocess, batch, device, engine);
        command.SetAction(p =>
        {
            string? dir = p.GetValue(model), vectors = p.GetValue(glove);
            if ((dir is null) == (vectors is null)) throw new UsageException("give --model DIR (an encoder) or --glove FILE (word vectors)");
            string pairsPath = p.GetValue(pairs)!;
            if (!File.Exists(pairsPath)) throw new FileNotFoundException($"no pairs file at {Path.GetFullPath(pairsPath)}", pairsPath);
            var questions = new List<string>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            int Id(string q)
            {
                int cut = q.IndexOf('<');
                q = (cut < 0 ? q : q[..cut]).Trim();
                if (index.TryGetValue(q, out int i)) return i;
                index[q] = questions.Count;
                questions.Add(q);
                return questions.Count - 1;
            }
            List<QuestionPair> read = DuplicatePairs.Read(pairsPath);
            var duplicates = read.Select(x => (Id(x.Question1), Id(x.Question2), x.IsDuplicate)).Where(x => x.IsDuplicate && x.Item1 != x.Item2)
                .Select(x => (x.Item1, x.Item2)).ToList();
            if (p.GetValue(pool) is { } poolPath)
            {
                if (!File.Exists(poolPath)) throw new FileNotFoundException($"no pool file at {Path.GetFullPath(poolPath)}", poolPath);
                foreach (string line in File.ReadLines(poolPath)) if (line.Trim().Length > 0) Id(line);
            }
            if (duplicates.Count == 0) throw new InvalidDataException($"{pairsPath} holds no duplicate pairs (label 'duplicate' or 1)");
            int n = p.GetValue(negatives);
            if (n > questions.Count - 2) throw new UsageException($"--negatives {n} needs at least {n + 2} questions; {pairsPath} has {questions.Count} (add --pool FILE or ask for fewer)");
            List<RankingCase> cases = RankingEvaluation.BuildCases(duplicates, questions.Count, n, p.GetValue(seed));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            float[] pooled;
            int dim;
            string what;
            if (dir is not null)
            {
                Device d = Opt.ResolveDevice(p.GetValue(device));
                using TextEncoder encoder = ModelRegistry.Default.LoadEncoder(dir, d);
                string used = Opt.UseEngine(encoder, p.GetValue(engine), d);
                pooled = encoder.Encode(questions, p.GetValue(batch)).SelectMany(v => v).ToArray();
                (dim, what) = (encoder.Dimension, $"encoder {dir} on {(used == "torch" ? $"torch on {d}" : used)}");
            }
            else
            {
                KeyedVectors kv = KeyedVectors.Load(vectors!);
                IReadOnlyList<IReadOnlyList<string>> tokens;
                if (p.GetValue(preprocess))
                {
                    var pre = new Preprocessor(Preprocessor.LoadStopwords(SharedData.Data("stopwords", "english.txt")));
                    tokens = questions.Select(q => (IReadOnlyList<string>)pre.Words(q)).ToList();
                }
                else tokens = questions.Select(q => (IReadOnlyList<string>)q.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
                pooled = new SentenceEmbedder(kv).EmbedAll(tokens);
                (dim, what) = (kv.Dimension, $"mean word vectors of {vectors}{(p.GetValue(preprocess) ? ", preprocessed" : "")}");
            }
            int[] ranks = RankingEvaluation.Ranks(pooled, dim, cases);
            Console.WriteLine($"{cases.Count:N0} duplicate pairs, {n} negatives each (seed {p.GetValue(seed)}), {questions.Count:N0} questions; {what}; {clock.Elapsed.TotalSeconds:F1} s");
            int[] ks = new[] { 1, 5, 10, 100, 500, 1000 }.Where(k => k <= n + 1).ToArray();
            string F(double x) => x.ToString("F3", CultureInfo.InvariantCulture);
            Ui.Table(["K", "Hits@K", "DCG@K"], ks.Select(k => (IReadOnlyList<string>)[k.ToString(CultureInfo.InvariantCulture), F(RankingEvaluation.HitsAtK(ranks, k)), F(RankingEvaluation.DcgAtK(ranks, k))]),
                     $"MRR {F(RankingEvaluation.Mrr(ranks))}");
            return 0;
        });
        return command;
    }
}

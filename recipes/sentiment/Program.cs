using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Slovo.Classification;
using Slovo.Embeddings;
using Slovo.LanguageModels;
using Slovo.Recipes;
using Slovo.Torch;
using Slovo.Text;
using Slovo.Evaluation;

// recipes/sentiment: IMDb sentiment with CNN, RNN and LSTM variants compared fairly (same data, vocabulary, optimizer,
// batch size and epoch budget; 3 seeds), gate ablation, depth/direction, pooling, and out-of-domain checks; writes
// README.md and yelp_predictions.txt. Finished runs are kept in runs/ and reused, so a killed run continues.
// usage: dotnet run -c Release --project recipes/sentiment [-- --seeds 1,2,3]
//        dotnet run -c Release --project recipes/sentiment -- --minilm [TRAIN [TEST]]   (the fine-tuned MiniLM row: MINILM.md)

string root = Slovo.Recipes.RecipePaths.Root();
string shared;
try { shared = Slovo.Recipes.RecipePaths.SharedData(); }
catch (DirectoryNotFoundException e) { Console.Error.WriteLine(e.Message); return 2; }
string here = Path.Combine(root, "recipes", "sentiment");
int[] seeds = args.Length == 2 && args[0] == "--seeds" ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 2, 3];
var total = Stopwatch.StartNew();
if (args.Length > 0 && args[0] == "--minilm") return MiniLmRow.Run(args, here, shared);

// Yelp's sentences are lowercased, split into words and punctuation, with numbers as _num_. IMDb is brought into the
// same form, so the models never learn cues (capitals, digits, HTML) that the other domain lacks.
string Normalize(string s) => SentimentText.Normalize(s);
List<LabeledText> Prepare(IEnumerable<LabeledText> data) => data.Select(d => new LabeledText(Normalize(d.Text), d.Label)).ToList();
List<LabeledText> imdbTrain = Prepare(ClassificationData.ReadImdb(Path.Combine(shared, "imdb"), "train"));
List<LabeledText> imdbTest = Prepare(ClassificationData.ReadImdb(Path.Combine(shared, "imdb"), "test"));
// An out-of-domain check with labels: 2,000 tweets of each class from Sentiment140 (seeded sample).
var rng = new Random(1);
List<LabeledText> tweets = Prepare(new[] { ("negative.txt", 0), ("positive.txt", 1) }.SelectMany(f =>
    File.ReadAllLines(Path.Combine(shared, "tweets", f.Item1)).OrderBy(_ => rng.Next()).Take(2000).Select(t => new LabeledText(t, f.Item2))));
List<string> yelp = ClassificationData.ReadLines(Path.Combine(shared, "yelp", "reviews.txt"));

const int maxLength = 160;
ClassifierExperiment.Data data = ClassifierExperiment.Prepare(imdbTrain, imdbTest, subword: null, 20_000, maxLength);
EncodedSet tweetSet = EncodedSet.Create(data.Vocab, tweets.Select(t => t.Text).ToList(), tweets.Select(t => t.Label).ToList(), maxLength);
EncodedSet yelpSet = EncodedSet.Create(data.Vocab, yelp, maxLength: maxLength);
var glove = KeyedVectors.LoadGlove(Path.Combine(shared, "glove", "glove.6B.100d.top50k.txt"));
Console.WriteLine($"IMDb {data.Train.Ids.Count:N0} train / {data.Valid.Ids.Count:N0} validation / {data.Test!.Ids.Count:N0} test; vocabulary {data.Vocab.Size:N0}; {tweets.Count:N0} tweets; {yelp.Count:N0} Yelp sentences");

var training = new ClassifierTrainingOptions { Epochs = 4, Patience = 1, BatchSize = 64, LearningRate = 2e-3 };
var baseModel = new ClassifierOptions { VocabSize = 1, EmbeddingSize = 100, HiddenSize = 64, Filters = 64, KernelWidths = [3, 4, 5], Dropout = 0.3 };
// Runs are kept per settings, so a change of the shared settings never mixes old and new figures.
string runs = Path.Combine(here, "runs", $"len{maxLength}-ep{training.Epochs}-lr{training.LearningRate}-h{baseModel.HiddenSize}");
Directory.CreateDirectory(runs);

// One measured run: trained once per (name, seed) and kept in runs/NAME-sSEED.json.
Run Measure(string name, ClassifierOptions options, int seed, bool useGlove = true, bool freeze = false)
{
    string path = Path.Combine(runs, $"{name}-s{seed}.json");
    if (File.Exists(path)) return JsonSerializer.Deserialize<Run>(File.ReadAllText(path))!;
    Console.WriteLine($"{name}, seed {seed} ...");
    (TextClassifier model, ClassifierTrainingResult r, int found) = ClassifierExperiment.TrainOne(data, options, training with { Seed = seed }, useGlove ? glove : null, freeze,
        onEpoch: e => Console.WriteLine($"  epoch {e.Epoch}: loss {e.TrainLoss:F4}, validation {e.ValidAccuracy:P2} ({e.Seconds:F0} s)"));
    using (model)
    {
        ClassificationMetrics test = ClassificationMetrics.Compute(data.Test!.Labels, ClassifierTrainer.Predict(model, data.Test));
        double tweetAccuracy = ClassifierTrainer.Accuracy(model, tweetSet);
        int[] yelpPredictions = ClassifierTrainer.Predict(model, yelpSet);
        var run = new Run(name, seed, model.ParameterCount(trainableOnly: true), r.Seconds, r.BestEpoch, r.BestValidAccuracy, test.Accuracy, test.MacroF1,
            [test.Confusion[0, 0], test.Confusion[0, 1], test.Confusion[1, 0], test.Confusion[1, 1]], tweetAccuracy, yelpPredictions.Average(), found,
            r.History.Select(h => h.ValidAccuracy).ToArray());
        if (seed == seeds[0]) model.Save(Path.Combine(runs, $"{name}.safetensors"), data.Vocab, maxLength);
        Slovo.Torch.Serialization.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(run));
        Console.WriteLine($"  test {run.TestAccuracy:P2}, tweets {run.TweetAccuracy:P2}");
        return run;
    }
}

ClassifierOptions Lstm = baseModel with { Encoder = EncoderKind.Lstm };
ClassifierOptions BiLstm = Lstm with { Bidirectional = true };
ClassifierOptions Hand = baseModel with { Encoder = EncoderKind.HandLstm, Aggregation = Aggregation.Max };
var tables = new List<(string Title, string Note, List<Spec> Rows)>
{
    ("(a) CNN vs RNN vs LSTM", "Conv1d with widths 3, 4, 5 (64 filters each) and max-over-time pooling; one-layer tanh RNN and LSTM (libtorch's fused kernels), final hidden state.", [
        new("CNN", "cnn", baseModel with { Encoder = EncoderKind.Cnn }),
        new("RNN", "rnn", baseModel with { Encoder = EncoderKind.Rnn }),
        new("LSTM", "lstm", Lstm),
    ]),
    ("(b) gate ablation (hand-written LSTM, max pooling)", "The LSTM written out from its cell (HandLstm, checked against libtorch's fused LSTM by the tests); a forced gate is 1 at every step.", [
        new("all gates", "hand-lstm", Hand),
        new("input gate = 1", "hand-lstm-no-input", Hand with { ForcedGates = LstmGates.Input }),
        new("forget gate = 1", "hand-lstm-no-forget", Hand with { ForcedGates = LstmGates.Forget }),
        new("output gate = 1", "hand-lstm-no-output", Hand with { ForcedGates = LstmGates.Output }),
    ]),
    ("(c) depth and direction (LSTM, final states)", "", [
        new("1 layer", "lstm", Lstm),
        new("2 layers", "lstm-2layers", Lstm with { Layers = 2 }),
        new("bidirectional", "bilstm", BiLstm),
    ]),
    ("(d) aggregation (bidirectional LSTM)", "final: the last hidden states of both directions; mean and max: over the real (non-pad) steps; attention: softmax over steps of v·tanh(W o_t).", [
        new("final states", "bilstm", BiLstm),
        new("mean", "bilstm-mean", BiLstm with { Aggregation = Aggregation.Mean }),
        new("max", "bilstm-max", BiLstm with { Aggregation = Aggregation.Max }),
        new("attention", "bilstm-attention", BiLstm with { Aggregation = Aggregation.Attention }),
    ]),
    ("(e) out-of-domain: what the embeddings do (bidirectional LSTM, max pooling)", "Tweets (Sentiment140, 2,000 per class) are labelled, so they measure out-of-domain accuracy; Yelp is unlabelled here, so only the share predicted positive is shown.", [
        new("random embeddings", "bilstm-max-random", BiLstm with { Aggregation = Aggregation.Max }, UseGlove: false),
        new("GloVe, trained", "bilstm-max", BiLstm with { Aggregation = Aggregation.Max }),
        new("GloVe, frozen", "bilstm-max-frozen", BiLstm with { Aggregation = Aggregation.Max }, Freeze: true),
    ]),
};
var results = new Dictionary<string, List<Run>>();
List<Run> Done(string name) => results.TryGetValue(name, out var r) ? r : [];
// Every configuration, seed by seed; the README is rewritten after each run, so it always shows what is measured so far.
foreach (Spec spec in tables.SelectMany(t => t.Rows).DistinctBy(r => r.RunName).ToList())
    foreach (int seed in seeds)
    {
        Run run = Measure(spec.RunName, spec.Options, seed, spec.UseGlove, spec.Freeze);
        if (!results.ContainsKey(spec.RunName)) results[spec.RunName] = [];
        results[spec.RunName].Add(run);
        WriteReadme(final: false);
    }
WriteReadme(final: true);
return 0;

void WriteReadme(bool final)
{
    // The Yelp predictions come from the configuration with the best mean validation accuracy (never from test figures).
    var all = results.Where(kv => kv.Value.Count == seeds.Length).Select(kv => (Name: kv.Key, Runs: kv.Value)).ToList();
    if (all.Count == 0) return;
    var best = all.OrderByDescending(r => r.Runs.Average(x => x.ValidAccuracy)).First();
    (TextClassifier bestModel, Vocabulary bestVocab, int bestMax) = TextClassifier.Load(Path.Combine(runs, $"{best.Name}.safetensors"));
    int[] yelpPredicted;
    using (bestModel) yelpPredicted = ClassifierTrainer.Predict(bestModel, EncodedSet.Create(bestVocab, yelp, maxLength: bestMax));
    File.WriteAllText(Path.Combine(here, "yelp_predictions.txt"), string.Concat(yelpPredicted.Select(p => p + "\n")));

    string Pm(IEnumerable<double> xs, string format = "P1")
    {
        (double m, double s) = Statistics.MeanStd(xs);
        return format == "P1" ? $"{m * 100:F1} ± {s * 100:F1}" : $"{m:F3} ± {s:F3}";
    }
    var md = new StringBuilder();
    md.AppendLine("# Sentiment: IMDb, and out of domain");
    md.AppendLine();
    md.AppendLine("```");
    md.AppendLine("dotnet run -c Release --project recipes/sentiment");
    md.AppendLine("```");
    md.AppendLine();
    md.AppendLine(CultureInfo.InvariantCulture, $"Every model gets the same data, vocabulary and training: IMDb's {data.Train.Ids.Count + data.Valid.Ids.Count:N0} training reviews ({data.Valid.Ids.Count:N0} held out for early stopping, seeded), " +
        $"a word vocabulary of {data.Vocab.Size:N0} (lowercased words and punctuation seen at least twice), the first {maxLength} tokens of each review, embeddings of 100 dimensions initialised from GloVe 6B-100d (trained on) unless a row says otherwise, hidden size 64, dropout 0.3, " +
        $"Adam lr {training.LearningRate}, batch {training.BatchSize} bucketed by length, at most {training.Epochs} epochs with early stopping on validation accuracy (patience {training.Patience}), seeds {string.Join(", ", seeds)}. " +
        $"Figures are mean ± standard deviation over the seeds; accuracy and F1 on IMDb's {data.Test.Ids.Count:N0} test reviews. Written by the command above ({(final ? "complete" : "in progress: rows marked pending are still to run")}; the {results.Values.Sum(r => r.Count)} training runs took {results.Values.SelectMany(r => r).Sum(r => r.Seconds) / 60:F0} min of training in all, and this invocation {total.Elapsed.TotalMinutes:F0} min, reusing finished runs from runs/; on {Environment.ProcessorCount} cores, libtorch {LibTorch.Version}).");
    md.AppendLine();
    md.AppendLine("Preprocessing for robustness: IMDb text is put into Yelp's form (lowercased, split into words and punctuation, numbers replaced by `_num_`, `<br />` removed), so no model can lean on cues the other domain lacks.");
    foreach ((string title, string note, var rows) in tables)
    {
        md.AppendLine();
        md.AppendLine("## " + title);
        md.AppendLine();
        if (note.Length > 0) { md.AppendLine(note); md.AppendLine(); }
        md.AppendLine("| model | trainable parameters | IMDb test accuracy % | macro F1 | validation accuracy % | tweets accuracy % | Yelp predicted positive % | training time per run | confusion (seed " + seeds[0] + "; rows gold neg/pos) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (Spec spec in rows)
        {
            List<Run> rs = Done(spec.RunName);
            string name = spec.Row;
            if (rs.Count < seeds.Length) { md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | pending: {rs.Count} of {seeds.Length} seeds run | | | | | | | |"); continue; }
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {rs[0].Parameters:N0} | {Pm(rs.Select(r => r.TestAccuracy))} | {Pm(rs.Select(r => r.TestF1), "F3")} | {Pm(rs.Select(r => r.ValidAccuracy))} | {Pm(rs.Select(r => r.TweetAccuracy))} | {Pm(rs.Select(r => r.YelpPositiveShare))} | {rs.Average(r => r.Seconds):F0} s | {rs[0].Confusion[0]} {rs[0].Confusion[1]} / {rs[0].Confusion[2]} {rs[0].Confusion[3]} |");
        }
    }
    double cnn = Done("cnn").Count == seeds.Length ? Done("cnn").Average(r => r.TestAccuracy) : double.NaN;
    var bestTest = all.OrderByDescending(r => r.Runs.Average(x => x.TestAccuracy)).First();
    if (final)
    {
        double Tw(string name) => Done(name).Average(r => r.TweetAccuracy);
        var byTweets = all.OrderByDescending(r => r.Runs.Average(x => x.TweetAccuracy)).ToList();
        md.AppendLine();
        md.AppendLine("## What helped out of domain");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured on the labelled tweets (mean over seeds): pretrained embeddings help — GloVe trained on {Tw("bilstm-max"):P1} against random embeddings {Tw("bilstm-max-random"):P1}; " +
            $"keeping GloVe frozen gives {Tw("bilstm-max-frozen"):P1}, so letting the vectors adapt to the task helped here more than protecting their general knowledge. " +
            $"The best configuration on tweets was {byTweets[0].Name} ({byTweets[0].Runs.Average(x => x.TweetAccuracy):P1}), the worst {byTweets[^1].Name} ({byTweets[^1].Runs.Average(x => x.TweetAccuracy):P1}). " +
            $"Every model stays far below its IMDb accuracy on tweets: short, informal texts with their own vocabulary are a much larger shift than the change of preprocessing can undo.");
    }
    md.AppendLine();
    md.AppendLine("## Bars");
    md.AppendLine();
    md.AppendLine(CultureInfo.InvariantCulture, $"- CNN ≥ 0.80 IMDb test accuracy: **{cnn:F3}** (mean over seeds) — {(cnn >= 0.80 ? "met" : double.IsNaN(cnn) ? "not measured yet" : "missed")}.");
    md.AppendLine(CultureInfo.InvariantCulture, $"- best model ≥ 0.88: **{bestTest.Runs.Average(r => r.TestAccuracy):F3}** ({bestTest.Name}, mean over seeds{(final ? "" : ", among the configurations run so far")}) — {(bestTest.Runs.Average(r => r.TestAccuracy) >= 0.88 ? "met" : final ? "missed" : "not met so far")}.");
    md.AppendLine();
    // Validation accuracy by epoch, mean over the seeds that reached the epoch (early stopping ends some runs sooner).
    ChartSeries Curve(string label, string name)
    {
        List<double[]> curves = Done(name).Select(r => r.ValidCurve ?? []).Where(c => c.Length > 0).ToList();
        int epochs = curves.Count == 0 ? 0 : curves.Max(c => c.Length);
        var x = Enumerable.Range(1, epochs).Select(e => (double)e).ToList();
        return new ChartSeries(label, x, x.Select(e => 100 * curves.Where(c => c.Length >= e).Average(c => c[(int)e - 1])).ToList());
    }
    var panels = tables.Select(t => (t.Title, "validation accuracy %",
        (IReadOnlyList<ChartSeries>)t.Rows.Where(r => Done(r.RunName).Any(x => x.ValidCurve is { Length: > 0 })).Select(r => Curve(r.Row, r.RunName)).ToList()))
        .Where(p => p.Item3.Count > 0).ToArray();
    if (panels.Length > 0)
    {
        md.AppendLine("## Validation accuracy by epoch");
        md.AppendLine();
        md.AppendLine(RecipeCharts.Panels(Path.Combine(here, "curves.png"), "validation accuracy by epoch", "epoch", panels));
        md.AppendLine();
    }
    md.AppendLine("## Fine-tuned MiniLM");
    md.AppendLine();
    md.AppendLine("A pretrained encoder (all-MiniLM-L6-v2) fine-tuned with a classification head has its own command and file, because on this " +
                  "2-core machine it trains on a sample of the reviews: `dotnet run -c Release --project recipes/sentiment -- --minilm` writes [MINILM.md](MINILM.md).");
    md.AppendLine();
    md.AppendLine("## Yelp predictions");
    md.AppendLine();
    md.Append(CultureInfo.InvariantCulture, $"`yelp_predictions.txt` holds one 0/1 line per sentence of `../shared/data/yelp/reviews.txt` (1 = positive), from the configuration with the best mean validation accuracy, `{best.Name}` (seed {seeds[0]}); {yelpPredicted.Average():P1} of the sentences are predicted positive. ");
    md.AppendLine("The Yelp labels are not shipped, so its accuracy cannot be measured here; `slovo classify eval --predictions recipes/sentiment/yelp_predictions.txt --labels FILE` scores it when a labels file (\"line index<TAB>label\") is at hand. Tweets stand in as the labelled out-of-domain test.");
    File.WriteAllText(Path.Combine(here, "README.md"), md.ToString());
    Console.WriteLine($"wrote recipes/sentiment/README.md and yelp_predictions.txt ({total.Elapsed.TotalMinutes:F1} min{(final ? "" : ", partial")})");
}

internal sealed record Run(string Name, int Seed, long Parameters, double Seconds, int BestEpoch, double ValidAccuracy, double TestAccuracy, double TestF1,
                           long[] Confusion, double TweetAccuracy, double YelpPositiveShare, int GloveFound, double[]? ValidCurve = null);

internal sealed record Spec(string Row, string RunName, ClassifierOptions Options, bool UseGlove = true, bool Freeze = false);

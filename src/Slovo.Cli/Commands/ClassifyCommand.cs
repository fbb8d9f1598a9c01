using System.Globalization;
using System.Text.Json;
using Slovo.Classification;
using Slovo.Embeddings;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo classify train | eval | predict`: text classifiers (CNN, RNN, LSTM variants).</summary>
internal static class ClassifyCommand
{
    public const string Usage = """
        usage: slovo classify <train|eval|predict> [options]

        train: trains a classifier; writes model.safetensors (best seed), summary.json into --out.
          --imdb DIR             IMDb folders train/ and test/ with positive and negative files
                                 (default: ../shared/data/imdb); or --train FILE.tsv [--test FILE.tsv] ("text<TAB>label")
          --tokenizer T          word, bpe, wordpiece or unigram, trained on the training texts (default: word)
          --vocab-size N         at most N tokens, at most 30000 (default: 20000)
          --max-length N         tokens kept per text (default: 256)
          --model M              cnn, rnn, lstm, gru or hand-lstm (the LSTM written out from its cell) (default: lstm)
          --emb N, --hidden N    sizes (default: 100, 128)
          --layers N             recurrent layers (default: 1)
          --bidirectional        read both ways
          --aggregation A        final, mean, max or attention (default: final)
          --ablate G1,G2         hand-lstm: force gates to 1 (input, forget, output)
          --filters N, --widths 3,4,5   CNN filters per width and kernel widths
          --dropout P            (default: 0.3)
          --glove FILE           initialise embeddings from GloVe/word2vec (--emb must match); --freeze-embeddings
          --epochs N, --patience N, --batch N, --lr X   the same for every model (default: 5, 2, 64, 0.001)
          --seeds 1,2,3          one run per seed; figures are reported as mean ± std (default: 1)
          --valid-fraction X     share of the training texts held out for early stopping (default: 0.1)
          --threads N, --out DIR (default: runs/classify)

        eval: scores a model on labelled texts, or a predictions file against a labels file.
          --model DIR --imdb DIR | --model DIR --tsv FILE | --predictions FILE --labels FILE ("line index<TAB>label")

        predict: one predicted class per input line (the course's format: 1 = positive).
          --model DIR --input FILE (default: ../shared/data/yelp/reviews.txt) --out FILE (default: stdout)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        Options o = Options.Parse(args[1..], new HashSet<string> { "bidirectional", "freeze-embeddings", "help" });
        if (o.Flag("help")) { Console.WriteLine(Usage); return 0; }
        return args[0] switch
        {
            "train" => Train(o),
            "eval" => Eval(o),
            "predict" => Predict(o),
            _ => throw new UsageException($"unknown classify command '{args[0]}'; use train, eval or predict"),
        };
    }

    private static (List<LabeledText> Train, List<LabeledText>? Test) ReadData(Options o)
    {
        string trainTsv = o.String("train", ""), testTsv = o.String("test", "");
        if (trainTsv.Length > 0) return (ClassificationData.ReadTsv(trainTsv), testTsv.Length > 0 ? ClassificationData.ReadTsv(testTsv) : null);
        string imdb = o.String("imdb", LmCommand.SharedPath("data", "imdb"));
        return (ClassificationData.ReadImdb(imdb, "train"), Directory.Exists(Path.Combine(imdb, "test")) ? ClassificationData.ReadImdb(imdb, "test") : null);
    }

    /// <summary>What a trained classifier was, for the summary and recipes.</summary>
    internal sealed record SeedRun(int Seed, double TestAccuracy, double TestF1, long[,]? Confusion, double ValidAccuracy, double Seconds, int BestEpoch);

    private static int Train(Options o)
    {
        (List<LabeledText> all, List<LabeledText>? test) = ReadData(o);
        string tokenizer = o.String("tokenizer", "word");
        int vocabSize = o.Int("vocab-size", 20_000, 10), maxLength = o.Int("max-length", 256, 1);
        if (vocabSize > 30_000) throw new UsageException("--vocab-size must be at most 30000");
        string modelName = o.String("model", "lstm");
        EncoderKind encoder = modelName switch
        {
            "cnn" => EncoderKind.Cnn, "rnn" => EncoderKind.Rnn, "lstm" => EncoderKind.Lstm, "gru" => EncoderKind.Gru, "hand-lstm" => EncoderKind.HandLstm,
            _ => throw new UsageException($"unknown --model '{modelName}'; use cnn, rnn, lstm, gru or hand-lstm"),
        };
        string aggregationName = o.String("aggregation", "final");
        Aggregation aggregation = aggregationName switch
        {
            "final" => Aggregation.Final, "mean" => Aggregation.Mean, "max" => Aggregation.Max, "attention" => Aggregation.Attention,
            _ => throw new UsageException($"unknown --aggregation '{aggregationName}'; use final, mean, max or attention"),
        };
        LstmGates forced = LstmGates.None;
        foreach (string g in o.String("ablate", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            forced |= g switch
            {
                "input" => LstmGates.Input, "forget" => LstmGates.Forget, "output" => LstmGates.Output,
                _ => throw new UsageException($"unknown gate '{g}' in --ablate; use input, forget or output"),
            };
        if (forced != LstmGates.None && encoder != EncoderKind.HandLstm) throw new UsageException("--ablate needs --model hand-lstm");
        int[] widths;
        try { widths = o.String("widths", "3,4,5").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new UsageException("--widths must be integers separated by commas, e.g. 3,4,5"); }
        int emb = o.Int("emb", 100, 1);
        var modelOptions = new ClassifierOptions
        {
            VocabSize = 1, Encoder = encoder, EmbeddingSize = emb, HiddenSize = o.Int("hidden", 128, 1), Layers = o.Int("layers", 1, 1),
            Bidirectional = o.Flag("bidirectional"), Aggregation = aggregation, Filters = o.Int("filters", 100, 1), KernelWidths = widths,
            Dropout = o.Double("dropout", 0.3, 0), ForcedGates = forced,
        };
        string glove = o.String("glove", "");
        bool freeze = o.Flag("freeze-embeddings");
        var training = new ClassifierTrainingOptions
        {
            Epochs = o.Int("epochs", 5, 1), Patience = o.Int("patience", 2, 0), BatchSize = o.Int("batch", 64, 1), LearningRate = o.Double("lr", 1e-3, 0),
        };
        int[] seeds;
        try { seeds = o.String("seeds", "1").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new UsageException("--seeds must be integers separated by commas, e.g. 1,2,3"); }
        double validFraction = o.Double("valid-fraction", 0.1, 0);
        LibTorch.Threads = o.Int("threads", Environment.ProcessorCount, 1);
        string outDir = o.String("out", "runs/classify");
        o.RejectUnknown();
        if (modelOptions.Dropout >= 1) throw new UsageException("--dropout must be below 1");
        if (freeze && glove.Length == 0) throw new UsageException("--freeze-embeddings needs --glove");

        ClassifierExperiment.Data data = ClassifierExperiment.Prepare(all, test, tokenizer, vocabSize, maxLength, validFraction);
        Console.WriteLine($"data: {data.Train.Ids.Count:N0} train / {data.Valid.Ids.Count:N0} validation{(data.Test is null ? "" : $" / {data.Test.Ids.Count:N0} test")}; {tokenizer} vocabulary of {data.Vocab.Size:N0}");
        KeyedVectors? vectors = glove.Length > 0 ? KeyedVectors.Load(glove) : null;
        Directory.CreateDirectory(outDir);
        var runs = new List<SeedRun>();
        double bestValid = double.NegativeInfinity;
        long parameters = 0;
        foreach (int seed in seeds)
        {
            var bar = new Progress(1, $"seed {seed}");
            int epochShown = 0;
            (TextClassifier model, ClassifierTrainingResult result, int found) = ClassifierExperiment.TrainOne(data, modelOptions, training with { Seed = seed }, vectors, freeze,
                onBatch: (done, total, loss) =>
                {
                    if (done == 1) bar = new Progress(total, $"seed {seed} epoch {++epochShown}");
                    bar.Report(done, $"loss {loss:F3}");
                },
                onEpoch: e => Console.WriteLine($"seed {seed} epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation accuracy {e.ValidAccuracy:P2} ({e.Seconds:F0} s)"));
            using (model)
            {
                parameters = model.ParameterCount(trainableOnly: true);
                if (vectors is not null) Console.WriteLine($"pretrained embeddings: {found:N0} of {data.Vocab.Size - 4:N0} tokens found");
                ClassificationMetrics? m = data.Test is null ? null : ClassificationMetrics.Compute(data.Test.Labels, ClassifierTrainer.Predict(model, data.Test), modelOptions.Classes);
                runs.Add(new SeedRun(seed, m?.Accuracy ?? double.NaN, m?.MacroF1 ?? double.NaN, m?.Confusion, result.BestValidAccuracy, result.Seconds, result.BestEpoch));
                if (m is not null) Console.WriteLine($"seed {seed}: test accuracy {m.Accuracy:P2}, macro F1 {m.MacroF1:F4}");
                if (result.BestValidAccuracy > bestValid)
                {
                    bestValid = result.BestValidAccuracy;
                    ClassifierTrainer.Save(Path.Combine(outDir, "model.safetensors"), model, data.Vocab, maxLength);
                }
            }
        }
        (double mean, double std) = ClassifierExperiment.MeanStd(runs.Select(r => r.TestAccuracy));
        Console.WriteLine($"{modelName}: {parameters:N0} trainable parameters; test accuracy {mean:P2} ± {std:P2} over {runs.Count} seed(s); {runs.Average(r => r.Seconds):F0} s per run");
        var summary = new
        {
            model = modelName, parameters, tokenizer, vocabulary = data.Vocab.Size, training, seeds = runs.Select(r => new
            {
                r.Seed, test_accuracy = r.TestAccuracy, test_macro_f1 = r.TestF1, validation_accuracy = r.ValidAccuracy, seconds = r.Seconds, best_epoch = r.BestEpoch,
                confusion = r.Confusion is null ? null : new[] { new[] { r.Confusion[0, 0], r.Confusion[0, 1] }, new[] { r.Confusion[1, 0], r.Confusion[1, 1] } },
            }),
            test_accuracy_mean = mean, test_accuracy_std = std,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"wrote {Path.Combine(outDir, "model.safetensors")} and summary.json");
        return 0;
    }

    private static int Eval(Options o)
    {
        string predictions = o.String("predictions", ""), labels = o.String("labels", "");
        if (predictions.Length > 0 || labels.Length > 0)
        {
            o.RejectUnknown();
            if (predictions.Length == 0 || labels.Length == 0) throw new UsageException("scoring a predictions file needs both --predictions and --labels");
            List<string> lines = ClassificationData.ReadLines(predictions);
            Dictionary<int, int> key = ClassificationData.ReadLabels(labels);
            var gold = new List<int>();
            var predicted = new List<int>();
            foreach ((int index, int label) in key.OrderBy(kv => kv.Key))
            {
                if (index >= lines.Count) throw new InvalidDataException($"{labels} names line {index}, but {predictions} has {lines.Count} lines");
                if (!int.TryParse(lines[index].Trim(), out int p) || p < 0) throw new InvalidDataException($"{predictions}:{index + 1}: expected a class number, got '{lines[index]}'");
                gold.Add(label);
                predicted.Add(p);
            }
            Report(ClassificationMetrics.Compute(gold, predicted, Math.Max(gold.Max(), predicted.Max()) + 1));
            return 0;
        }
        string modelPath = o.String("model", "");
        if (modelPath.Length == 0) throw new UsageException("--model DIR is required (or --predictions with --labels)");
        string tsv = o.String("tsv", "");
        List<LabeledText> data = tsv.Length > 0 ? ClassificationData.ReadTsv(tsv) : ClassificationData.ReadImdb(o.String("imdb", LmCommand.SharedPath("data", "imdb")), "test");
        o.RejectUnknown();
        (TextClassifier model, LmVocabulary vocab, int maxLength) = ClassifierTrainer.Load(modelPath);
        using (model)
        {
            EncodedSet set = EncodedSet.Create(vocab, data.Select(d => d.Text).ToList(), data.Select(d => d.Label).ToList(), maxLength);
            Report(ClassificationMetrics.Compute(set.Labels, ClassifierTrainer.Predict(model, set), model.Options.Classes));
        }
        return 0;
    }

    private static void Report(ClassificationMetrics m)
    {
        Console.WriteLine($"accuracy {m.Accuracy:P2}, macro F1 {m.MacroF1:F4}, F1 of class 1 {m.PositiveF1:F4}");
        Console.WriteLine("confusion (rows: gold, columns: predicted):");
        for (int g = 0; g < m.Confusion.GetLength(0); ++g)
            Console.WriteLine("  " + string.Join(' ', Enumerable.Range(0, m.Confusion.GetLength(1)).Select(p => m.Confusion[g, p].ToString(CultureInfo.InvariantCulture).PadLeft(7))));
    }

    private static int Predict(Options o)
    {
        string modelPath = o.String("model", "");
        if (modelPath.Length == 0) throw new UsageException("--model DIR is required");
        string input = o.String("input", LmCommand.SharedPath("data", "yelp", "reviews.txt")), output = o.String("out", "");
        o.RejectUnknown();
        (TextClassifier model, LmVocabulary vocab, int maxLength) = ClassifierTrainer.Load(modelPath);
        using (model)
        {
            List<string> lines = ClassificationData.ReadLines(input);
            int[] predicted = ClassifierTrainer.Predict(model, EncodedSet.Create(vocab, lines, maxLength: maxLength));
            string text = string.Concat(predicted.Select(p => p.ToString(CultureInfo.InvariantCulture) + "\n"));
            if (output.Length == 0) Console.Write(text);
            else
            {
                AtomicFile.WriteAllText(output, text);
                Console.Error.WriteLine($"wrote {predicted.Length:N0} predictions to {output} ({predicted.Count(p => p == 1):N0} of class 1)");
            }
        }
        return 0;
    }
}

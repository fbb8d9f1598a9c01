using System.Globalization;
using System.Text;
using System.CommandLine;
using Slovo.Training;
using Slovo.Cli.CommandLine;
using Slovo.Cli.Output;
using Slovo.Embeddings;
using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.Text;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo lm train | eval | generate`: recurrent language models on word, character or subword tokens.</summary>
internal static class LmCommand
{
    public static Command Create()
    {
        var command = new Command("lm", "Train, evaluate, sample from and complete texts with language models: word-, char- or subword-level RNN/LSTM/GRU, or GPT.");
        command.Add(TrainCommand());
        command.Add(EvalCommand());
        command.Add(GenerateCommand());
        command.Add(CompleteCommand());
        return command;
    }

    /// <summary>The options that say which texts and which seeded split (train and eval share them).</summary>
    private sealed class CorpusOptions
    {
        public readonly Option<string> Data = Opt.Path("--data", "corpus file", () => SharedData.Data("arxiv", "arxivData.json"), "FILE");
        public readonly Option<string?> Format = Opt.OptionalText("--format", "arxiv (JSON: \"title ; summary\"), lines (one text per line) or paragraphs " +
                                                                  "(blank-line separated blocks); default: arxiv for .json, else lines", "F");
        public readonly Option<bool> Lowercase = Opt.Flag("--lowercase", "lowercase the texts first");
        public readonly Option<int> LinesPerText = Opt.Int("--lines-per-text", "lines format: join N consecutive lines (line breaks kept) into one text", 1, min: 1);
        public readonly Option<double> ValidFraction = Opt.Double("--valid-fraction", "share of texts held out for validation", 0.1, min: 0, below: 1);
        public readonly Option<int> Seed = Opt.Int("--seed", "seed of the split, initialisation, batches and dropout", 1, min: 0);

        public Option[] All => [Data, Format, LinesPerText, Lowercase, ValidFraction, Seed];

        public List<string> Read(ParseResult p)
        {
            string data = p.GetValue(Data)!;
            string format = p.GetValue(Format) ?? (data.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "arxiv" : "lines");
            if (format is not ("arxiv" or "lines" or "paragraphs")) throw new UsageException($"unknown --format '{format}'; use arxiv, lines or paragraphs");
            List<string> texts = Corpus.Read(data, format);
            int group = p.GetValue(LinesPerText);
            if (group > 1 && format != "lines") throw new UsageException("--lines-per-text needs --format lines");
            if (group > 1) texts = Corpus.JoinLines(texts, group);
            if (p.GetValue(Lowercase)) texts = texts.Select(t => t.ToLowerInvariant()).ToList();
            if (texts.Count < 2) throw new InvalidDataException($"{data} holds {texts.Count} texts; at least 2 are needed (one for validation)");
            return texts;
        }
    }

    /// <summary>Defaults of the shared training options: `lm train` and `demo` differ only in these.</summary>
    internal sealed record TrainingDefaults(int Emb, int Hidden, int Layers, double Dropout, int Epochs, int Batch, int Bptt, double Lr, int CheckpointEvery);

    /// <summary>The model-shape and optimisation options every recurrent LM command takes (`lm train`, `demo`).</summary>
    internal sealed class TrainingOptionSet(TrainingDefaults d)
    {
        public readonly Option<int> Emb = Opt.Int("--emb", "embedding size", d.Emb, min: 1);
        public readonly Option<int> Hidden = Opt.Int("--hidden", "hidden size", d.Hidden, min: 1);
        public readonly Option<int> Layers = Opt.Int("--layers", "stacked layers", d.Layers, min: 1);
        public readonly Option<double> Dropout = Opt.Double("--dropout", "dropout on embeddings, between layers and before the output", d.Dropout, min: 0, below: 1);
        public readonly Option<int> Epochs = Opt.Int("--epochs", "at most N epochs", d.Epochs, min: 1);
        public readonly Option<int> Batch = Opt.Int("--batch", "sequences per batch, bucketed by length", d.Batch, min: 1);
        public readonly Option<int> Bptt = Opt.Int("--bptt", "truncated back-propagation window", d.Bptt, min: 1);
        public readonly Option<double> Lr = Opt.Double("--lr", "Adam learning rate", d.Lr, min: 0);
        public readonly Option<double> Clip = Opt.Double("--clip", "gradient norm limit (0: none)", 1.0, min: 0);
        public readonly Option<int> CheckpointEvery = Opt.Int("--checkpoint-every", "also checkpoint every N batches", d.CheckpointEvery, min: 1);
        public readonly Option<int> Threads = Opt.Int("--threads", "intra-op threads (under slovo launch: the cores shared among this machine's workers)", Workers.DefaultThreads, min: 1);
        public readonly Option<string?> Device = Opt.Device();
        public readonly Option<string> Precision = Opt.Choice("--precision", "fp32, or bf16: forward passes under autocast in bfloat16 (for CUDA; works but is slow on most CPUs)",
                                                              "fp32", "fp32", "bf16");

        public Option[] All => [Emb, Hidden, Layers, Dropout, Epochs, Batch, Bptt, Lr, Clip, CheckpointEvery, Threads, Device, Precision];

        /// <summary>The trainer's settings (constant rate) from the parsed options.</summary>
        public LmTrainingOptions Training(ParseResult p, int seed, int patience) => new()
        {
            Epochs = p.GetValue(Epochs), Patience = patience, BatchSize = p.GetValue(Batch), Bptt = p.GetValue(Bptt),
            LearningRate = p.GetValue(Lr), Clip = p.GetValue(Clip), Seed = seed, CheckpointEvery = p.GetValue(CheckpointEvery),
            Autocast = p.GetValue(Precision) == "bf16" ? ScalarType.BFloat16 : null,
        };
    }

    private static Command TrainCommand()
    {
        var corpus = new CorpusOptions();
        var level = Opt.Choice("--level", "token level", "word", "word", "char", "bpe");
        var minCount = Opt.Int("--min-count", "word level: words seen fewer times become <unk>", 3, min: 1);
        var maxVocab = Opt.Int("--max-vocab", "word level: keep at most N words", 50_000, min: 5);
        var tokenizer = Opt.OptionalText("--tokenizer", "bpe level: a tokenizer.json holding <pad> <s> </s> <unk>; without it a byte-level BPE of --vocab-size tokens is trained on the training texts", "FILE");
        var vocabSize = Opt.Int("--vocab-size", "bpe level: size of the BPE trained in place", 1400, min: 260);
        var kind = Opt.Choice("--model", "recurrent cell, or gpt (a GPT-2 transformer: --layers, --heads, --emb, --context)", "lstm", "lstm", "gru", "rnn", "gpt");
        var heads = Opt.Int("--heads", "gpt: attention heads (--emb must split evenly)", 4, min: 1);
        var context = Opt.Int("--context", "gpt: positions per training window (the model's n_positions)", 128, min: 2);
        var accumulate = Opt.Int("--accumulate", "gpt: read each batch in N parts (gradient accumulation), one step per batch", 1, min: 1);
        var warmup = Opt.Int("--warmup", "gpt: optimizer steps of linear warm-up before the cosine", 100, min: 0);
        var init = Opt.OptionalText("--init", "gpt: fine-tune a Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json) with its own " +
                                                 "tokenizer and shape (--level, --tokenizer, --layers, --heads, --emb do not apply)", "DIR");
        var rows = RowsOption();
        var weightDecay = Opt.Double("--weight-decay", "gpt: AdamW weight decay on the projection matrices (not biases, LayerNorms, embeddings)", 0.1, min: 0);
        var set = new TrainingOptionSet(new TrainingDefaults(Emb: 128, Hidden: 256, Layers: 1, Dropout: 0.2, Epochs: 10, Batch: 32, Bptt: 128, Lr: 0.002, CheckpointEvery: 100));
        var tie = Opt.Flag("--tie", "share input and output embeddings (needs --emb = --hidden)");
        var glove = Opt.OptionalText("--glove", "initialise embeddings from GloVe/word2vec vectors (word level; --emb must match)", "FILE");
        var freeze = Opt.Flag("--freeze-embeddings", "keep the pretrained embeddings fixed");
        var patience = Opt.Int("--patience", "stop after N epochs without a better validation loss; 0 never stops", 2, min: 0);
        var schedule = Opt.Choice("--schedule", "constant, or cosine: the rate falls from --lr to --min-lr over all --epochs, batch by batch", "constant", "constant", "cosine");
        var minLr = Opt.OptionalDouble("--min-lr", "where a cosine schedule ends (default: --lr / 10)", min: 0);
        var output = Opt.Text("--out", "run folder: checkpoint.safetensors (for --resume), model.safetensors (best weights + vocabulary), vocab.json, summary.json, tensorboard/", "runs/lm", "DIR");
        var resume = Opt.Flag("--resume", "continue the run in --out exactly where it stopped (same options)");
        var command = new Command("train", "Train a word-, char- or subword-level RNN/LSTM/GRU language model.")
            .With([.. corpus.All, level, minCount, maxVocab, tokenizer, vocabSize, kind, heads, context, rows, accumulate, warmup, weightDecay, init, .. set.All, tie, glove, freeze,
                   patience, schedule, minLr, output, resume]);
        command.SetAction(p =>
        {
            Device device = Opt.ResolveDevice(p.GetValue(set.Device));
            LmTrainingOptions train = set.Training(p, p.GetValue(corpus.Seed), p.GetValue(patience));
            double? minRate = p.GetValue(minLr);
            if (p.GetValue(schedule) == "constant" && minRate is not null) throw new UsageException("--min-lr needs --schedule cosine");
            if (p.GetValue(schedule) == "cosine") train = train with { Schedule = LmSchedule.Cosine, MinLearningRate = minRate ?? train.LearningRate / 10 };
            if (train.MinLearningRate > train.LearningRate) throw new UsageException($"--min-lr ({train.MinLearningRate}) must not exceed --lr ({train.LearningRate})");
            if (p.GetValue(init) is not null && p.GetValue(kind) != "gpt") throw new UsageException("--init needs --model gpt");
            if (p.GetResult(rows) is { Implicit: false } && p.GetValue(kind) != "gpt") throw new UsageException("--rows needs --model gpt (a recurrent model always reads one text per row)");
            if (p.GetValue(kind) == "gpt")
            {
                if (p.GetValue(init) is not null)
                    foreach (Option given in new Option[] { level, tokenizer, vocabSize, set.Layers, heads, set.Emb }.Where(o => p.GetResult(o) is { Implicit: false }))
                        throw new UsageException($"{given.Name} does not apply with --init: the model's shape and tokenizer come from {p.GetValue(init)}");
                if (p.GetValue(tie) || p.GetValue(glove) is not null) throw new UsageException("--tie and --glove are for the recurrent models (a GPT's output layer is always its token embedding)");
                var gpt = new GptTrainingOptions
                {
                    Epochs = train.Epochs, BatchSize = train.BatchSize, Context = p.GetValue(context), LearningRate = train.LearningRate,
                    MinLearningRate = minRate ?? train.LearningRate / 10, WarmupSteps = p.GetValue(warmup), WeightDecay = p.GetValue(weightDecay),
                    Clip = train.Clip, Accumulate = p.GetValue(accumulate), Patience = train.Patience, Seed = train.Seed, CheckpointEvery = train.CheckpointEvery,
                    Autocast = train.Autocast, Rows = Rows(p.GetValue(rows)!),
                };
                if (gpt.Accumulate > gpt.BatchSize) throw new UsageException($"--accumulate ({gpt.Accumulate}) must not exceed --batch ({gpt.BatchSize})");
                if (p.GetValue(init) is null && p.GetValue(set.Emb) % p.GetValue(heads) != 0) throw new UsageException($"--emb ({p.GetValue(set.Emb)}) must split evenly into --heads ({p.GetValue(heads)})");
                return TrainGpt(corpus.Read(p), p.GetValue(corpus.Lowercase), p.GetValue(corpus.ValidFraction), gpt, new TrainChoices(p.GetValue(level)!, p.GetValue(minCount),
                    p.GetValue(maxVocab), p.GetValue(tokenizer), p.GetValue(vocabSize), "gpt", p.GetValue(set.Emb), 0, p.GetValue(set.Layers), p.GetValue(set.Dropout),
                    false, null, false, p.GetValue(set.Threads), p.GetValue(output)!, p.GetValue(resume), device), p.GetValue(heads), p.GetValue(init),
                    p.GetResult(set.Dropout) is { Implicit: false });
            }
            return Train(corpus.Read(p), p.GetValue(corpus.Lowercase), p.GetValue(corpus.ValidFraction), train, new TrainChoices(p.GetValue(level)!, p.GetValue(minCount), p.GetValue(maxVocab), p.GetValue(tokenizer), p.GetValue(vocabSize),
                p.GetValue(kind)!, p.GetValue(set.Emb), p.GetValue(set.Hidden), p.GetValue(set.Layers), p.GetValue(set.Dropout), p.GetValue(tie), p.GetValue(glove),
                p.GetValue(freeze), p.GetValue(set.Threads), p.GetValue(output)!, p.GetValue(resume), device));
        });
        return command;
    }

    /// <summary>What `lm train` builds: vocabulary, model shape, threads and run folder.</summary>
    internal sealed record TrainChoices(string Level, int MinCount, int MaxVocab, string? Tokenizer, int BpeSize, string Kind, int Emb, int Hidden, int Layers,
                                       double Dropout, bool Tie, string? Glove, bool Freeze, int Threads, string Out, bool Resume, Device? Device = null)
    {
        /// <summary>Where the model trains.</summary>
        public Device On => Device ?? Slovo.Torch.Device.CPU;
    }

    /// <summary>Builds the vocabulary and model, trains with <see cref="LmTrainer"/> into <c>c.Out</c> and reports each epoch.</summary>
    internal static int Train(List<string> texts, bool lowercase, double validFraction, LmTrainingOptions train, TrainChoices c)
    {
        if (c.Tie && c.Emb != c.Hidden) throw new UsageException($"--tie needs --emb equal to --hidden (got {c.Emb} and {c.Hidden})");
        if (c.Glove is not null && c.Level != "word") throw new UsageException("--glove needs --level word");
        if (c.Freeze && c.Glove is null) throw new UsageException("--freeze-embeddings needs --glove");
        RecurrentKind kind = c.Kind switch { "gru" => RecurrentKind.Gru, "rnn" => RecurrentKind.RnnTanh, _ => RecurrentKind.Lstm };
        LibTorch.Threads = c.Threads;
        using ProcessGroup? group = Workers.Join(c.On); // under slovo launch: data-parallel, rank 0 reports and writes
        return Ui.Run(view =>
        {
            // The texts are lowercased already when asked; a word vocabulary also lowercases prompts.
            LmDataset data = Data(view, texts, lowercase, validFraction, train.Seed, c);

            using RnnLanguageModel model = RandomGenerator.Seeded((ulong)train.Seed, () => new RnnLanguageModel(new RnnLanguageModelOptions
            {
                VocabSize = data.Vocab.Size, Kind = kind, EmbeddingSize = c.Emb, HiddenSize = c.Hidden, Layers = c.Layers, Dropout = c.Dropout,
                TieWeights = c.Tie, PadId = data.Vocab.PadId,
            }));
            if (c.Glove is not null && !c.Resume)
            {
                KeyedVectors vectors = KeyedVectors.Load(c.Glove);
                var words = Enumerable.Range(0, data.Vocab.Size).Select(data.Vocab.TokenOf).ToList();
                int found = model.InitializeEmbeddings(vectors, words, c.Freeze);
                view.WriteLine($"pretrained embeddings: {found:N0} of {data.Vocab.Size - 4:N0} vocabulary words found in {c.Glove}{(c.Freeze ? " (frozen)" : "")}");
            }
            else if (c.Glove is not null && c.Freeze) model.FreezeEmbeddings();
            model.To(c.On);
            view.WriteLine($"model: {c.Kind}, emb {c.Emb}, hidden {c.Hidden}, {c.Layers} layer(s){(c.Tie ? ", tied" : "")}, {model.ParameterCount():N0} parameters; libtorch {LibTorch.Version}, {Where(c)}");

            ProgressBar? bar = null;
            int barEpoch = 0;
            var trainer = new LmTrainer
            {
                Group = group,
                OnStep = s =>
                {
                    if (bar is null || barEpoch != s.Epoch) (bar, barEpoch) = (view.Bar($"epoch {s.Epoch}", s.Batches), s.Epoch);
                    bar.Report(s.Batch, $"loss {s.Loss:F3} {s.ItemsPerSecond:N0} tok/s" + (train.Schedule == LmSchedule.Constant ? "" : $" lr {s.LearningRate:G3}"));
                },
                OnEpoch = e => view.WriteLine(
                    $"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation loss {e.Valid.Loss:F4}, perplexity {e.Valid.Perplexity:F2} " +
                    $"(course's 2**loss: {e.Valid.CoursePow2:F2}), {e.Valid.BitsPerChar:F3} bits/char, {e.TokensPerSecond:N0} tok/s{(e.Improved ? " *" : "")}"),
            };
            if (c.Resume && !Ui.Quiet) Console.Error.WriteLine($"resuming from {new RunFolder(c.Out)[RunFolder.CheckpointFile]}");
            if (group is not null) view.WriteLine($"data-parallel: {group.WorldSize} processes, each reading its share of every batch of {train.BatchSize}");
            LmTrainingResult r = trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, train, c.Out, c.Resume);
            view.WriteLine($"best epoch {r.BestEpoch}: perplexity {r.BestValid.Perplexity:F2} (course's 2**loss {r.BestValid.CoursePow2:F2}), " +
                           $"{r.BestValid.BitsPerChar:F3} bits/char{(r.StoppedEarly ? "; stopped early" : "")}; {r.Seconds:F0} s");
            view.WriteLine($"wrote {new RunFolder(c.Out)[RunFolder.ModelFile]} and {new RunFolder(c.Out)[RunFolder.SummaryFile]}");
            return 0;
        });
    }

    /// <summary>The vocabulary of a run: built on the training part of the split, or the one saved in the run folder when resuming
    /// (the trainer writes it there).</summary>
    private static LmDataset Data(ProgressView view, List<string> texts, bool lowercase, double validFraction, int seed, TrainChoices c, Vocabulary? given = null)
    {
        var run = new RunFolder(c.Out);
        Vocabulary? saved = null;
        if (c.Resume)
        {
            string vocabPath = run[RunFolder.VocabularyFile];
            if (!File.Exists(vocabPath))
                throw new FileNotFoundException($"--resume: no run in {Path.GetFullPath(c.Out)} ({RunFolder.VocabularyFile} is missing); start without --resume", vocabPath);
            saved = Vocabulary.Load(vocabPath);
        }
        LmDataset data = LmDataset.Create(texts, validFraction, seed, buildVocab: part => given ?? c.Level switch
        {
            "word" => WordVocabulary.Build(part, lowercase: lowercase, minCount: c.MinCount, maxSize: c.MaxVocab),
            "char" => CharVocabulary.Build(part),
            _ when c.Tokenizer is not null => new SubwordVocabulary(TokenizerJson.Load(c.Tokenizer)),
            _ => TrainBpe(view, part, c.BpeSize),
        }, vocab: saved);
        view.WriteLine($"data: {texts.Count:N0} texts, {data.TrainTexts.Count:N0} train / {data.ValidTexts.Count:N0} validation, {data.TrainTokens:N0} training tokens");
        view.WriteLine($"vocabulary: {data.Vocab.Level.ToString().ToLowerInvariant()}, {data.Vocab.Size:N0} tokens");
        return data;
    }

    /// <summary>
    /// Trains a GPT with <see cref="GptTrainer"/> into <c>c.Out</c> (best weights: a Hugging Face folder in <c>model/</c>): a new
    /// one of the chosen shape, or, with <paramref name="init"/>, a Hugging Face GPT-2 folder fine-tuned with its own tokenizer
    /// (its dropout rates kept unless <paramref name="dropoutGiven"/>).
    /// </summary>
    internal static int TrainGpt(List<string> texts, bool lowercase, double validFraction, GptTrainingOptions train, TrainChoices c, int heads, string? init = null,
                                 bool dropoutGiven = false)
    {
        LibTorch.Threads = c.Threads;
        using ProcessGroup? group = Workers.Join(c.On); // under slovo launch: data-parallel, rank 0 reports and writes
        return Ui.Run(view =>
        {
            // --init: a pretrained GPT-2 (a Hugging Face folder or a GPT run) through the model registry, with its own tokenizer.
            using LanguageModel? pretrained = init is null ? null
                : ModelRegistry.Default.LoadLanguageModel(init, new ModelLoadOptions { Dropout = dropoutGiven ? c.Dropout : null });
            GptModel? start = null;
            if (pretrained is not null)
            {
                start = pretrained.Module as GptModel ?? throw new UsageException($"--init needs a GPT-2 model; {init} holds a {pretrained.Kind} model");
                if (train.Context > start.Config.Positions) throw new UsageException($"--context {train.Context} exceeds the n_positions ({start.Config.Positions}) of {init}");
                view.WriteLine($"fine-tuning {Path.GetFullPath(init!)}: {start.Config.Layers} layers, {start.Config.Heads} heads, width {start.Config.Width}, " +
                               $"vocabulary {pretrained.Vocabulary.Size:N0} from its tokenizer");
            }
            LmDataset data = Data(view, texts, lowercase, validFraction, train.Seed, c, pretrained?.Vocabulary);
            using GptModel? fresh = start is not null ? null : RandomGenerator.Seeded((ulong)train.Seed, () => new GptModel(new GptConfig
            {
                Layers = c.Layers, Heads = heads, Width = c.Emb, Positions = train.Context, VocabSize = data.Vocab.Size, EmbeddingDropout = c.Dropout,
                AttentionDropout = c.Dropout, ResidualDropout = c.Dropout, BosTokenId = data.Vocab.SosId, EosTokenId = data.Vocab.EosId, PadTokenId = data.Vocab.PadId,
            }));
            GptModel model = start ?? fresh!;
            model.To(c.On);
            GptConfig cfg = model.Config;
            view.WriteLine($"model: gpt, {cfg.Layers} layer(s), {cfg.Heads} heads, width {cfg.Width}, context {train.Context}, {model.ParameterCount():N0} parameters; " +
                           $"libtorch {LibTorch.Version}, {Where(c)}");
            ProgressBar? bar = null;
            int barEpoch = 0;
            var trainer = new GptTrainer
            {
                Group = group,
                OnStep = s =>
                {
                    if (bar is null || barEpoch != s.Epoch) (bar, barEpoch) = (view.Bar($"epoch {s.Epoch}", s.Batches), s.Epoch);
                    bar.Report(s.Batch, $"loss {s.Loss:F3} {s.ItemsPerSecond:N0} tok/s lr {s.LearningRate:G3}");
                },
                OnEpoch = e => view.WriteLine($"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation loss {e.Valid.Loss:F4}, perplexity {e.Valid.Perplexity:F2}, " +
                                              $"{e.Valid.BitsPerChar:F3} bits/char, {e.TokensPerSecond:N0} tok/s{(e.Improved ? " *" : "")}"),
            };
            if (c.Resume && !Ui.Quiet) Console.Error.WriteLine($"resuming from {new RunFolder(c.Out)[RunFolder.CheckpointFile]}");
            if (group is not null) view.WriteLine($"data-parallel: {group.WorldSize} processes, each reading its share of every batch of {train.BatchSize}");
            LmTrainingResult r = trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, train, c.Out, c.Resume);
            view.WriteLine($"best epoch {r.BestEpoch}: perplexity {r.BestValid.Perplexity:F2}, {r.BestValid.BitsPerChar:F3} bits/char{(r.StoppedEarly ? "; stopped early" : "")}; {r.Seconds:F0} s");
            var run = new RunFolder(c.Out);
            view.WriteLine($"wrote {run[RunFolder.ModelDir]} (a Hugging Face GPT-2 folder), {run[RunFolder.VocabularyFile]} and {run[RunFolder.SummaryFile]}");
            return 0;
        });
    }

    private static string Where(TrainChoices c) => c.On.Type == DeviceType.CPU ? $"cpu, {c.Threads} threads" : c.On.ToString();

    private static SubwordVocabulary TrainBpe(ProgressView view, IReadOnlyList<string> texts, int size)
    {
        ProgressBar bar = view.Bar("bpe", size);
        SubwordVocabulary vocab = SubwordVocabulary.TrainByteLevelBpe(texts, size, new SyncProgress<TrainerProgress>(p => bar.Report(p.Done, "tokens")));
        bar.Report(size, "tokens");
        return vocab;
    }

    private static Option<string> RowsOption() =>
        Opt.Choice("--rows", "gpt: packed (the texts run together, cut into --context windows: no padding, a window mostly starts inside a text) " +
                             "or texts (one text per row from its start, padded: as a completion reads it; for short texts such as tweets)", "packed", "packed", "texts");

    private static GptRows Rows(string value) => value == "texts" ? GptRows.PerText : GptRows.Packed;

    private static Option<string> ModelOption() =>
        Opt.Path("--model", "a run folder of 'slovo lm train' (recurrent or gpt), a model.safetensors, or a Hugging Face GPT-2 folder", required: true);

    private static Command EvalCommand()
    {
        var corpus = new CorpusOptions();
        var modelPath = ModelOption();
        var device = Opt.Device();
        var context = Opt.OptionalInt("--context", "gpt: positions per window (default: a run's own --context, else the model's n_positions)", min: 1);
        var rows = new Option<string?>("--rows") { Description = "gpt: packed or texts, as in lm train (default: a run's own --rows, else packed)" };
        rows.AcceptOnlyFromAmong("packed", "texts");
        var command = new Command("eval", "Validation figures of a trained model on the same seeded split (loss, perplexity, bits/char).")
            .With([modelPath, .. corpus.All, context, rows, device]);
        command.SetAction(p =>
        {
            Device d = Opt.ResolveDevice(p.GetValue(device));
            List<string> texts = corpus.Read(p);
            using LanguageModel lm = LanguageModel.Load(p.GetValue(modelPath)!, d);
            if (p.GetValue(context) is { } window)
            {
                if (lm.Context is not { } positions) throw new UsageException("--context is for GPT models (a recurrent model reads each text whole)");
                if (window > positions) throw new UsageException($"--context {window} exceeds the model's n_positions ({positions})");
                lm.EvaluationContext = window;
            }
            if (p.GetValue(rows) is not null)
            {
                if (lm.Context is null) throw new UsageException("--rows is for GPT models (a recurrent model reads each text whole)");
                lm.EvaluationRows = Rows(p.GetValue(rows)!);
            }
            (_, List<string> valid) = Corpus.Split(texts, p.GetValue(corpus.ValidFraction), p.GetValue(corpus.Seed));
            LmEvaluation v = lm.Evaluate(valid);
            Console.WriteLine($"validation: {valid.Count:N0} texts, {v.Tokens:N0} target tokens, {v.Chars:N0} characters ({lm.Kind} on {d})");
            Console.WriteLine($"loss {v.Loss:F4} nats/token, perplexity {v.Perplexity:F2}, course's 2**loss {v.CoursePow2:F2}, {v.BitsPerChar:F3} bits/char");
            return 0;
        });
        return command;
    }

    /// <summary>The decoding options of `lm generate` and `lm complete`.</summary>
    private sealed class GenerationOptionSet(int maxTokens)
    {
        public readonly Option<int> MaxTokens = Opt.Int("--max-tokens", "tokens to generate at most", maxTokens, min: 0);
        public readonly Option<int> MinTokens = Opt.Int("--min-tokens", "no end of text before N tokens", 0, min: 0);
        public readonly Option<bool> Greedy = Opt.Flag("--greedy", "take the most likely token each step");
        public readonly Option<double> Temperature = Opt.Double("--temperature", "sampling temperature", 1.0, min: 0);
        public readonly Option<int> TopK = Opt.Int("--top-k", "sample from the K most likely tokens (0: all)", 0, min: 0);
        public readonly Option<double> TopP = Opt.Double("--top-p", "nucleus sampling: the smallest set of tokens holding this much probability", 1.0, min: 0);
        public readonly Option<double> MinP = Opt.Double("--min-p", "drop tokens below this share of the top token's probability", 0, min: 0);
        public readonly Option<double> Repetition = Opt.Double("--repetition-penalty", "divide the logits of tokens already seen (1: off)", 1.0, min: 0);
        public readonly Option<int> NoRepeat = Opt.Int("--no-repeat-ngram", "never repeat an n-gram of this size (0: off)", 0, min: 0);
        public readonly Option<int> Beams = Opt.Int("--beams", "beam search width", 1, min: 1);
        public readonly Option<double> LengthPenalty = Opt.Double("--length-penalty", "beam scores are divided by length to this power", 1.0);
        public readonly Option<bool> BeamSampling = Opt.Flag("--beam-sampling", "sample the beams' continuations instead of taking the best");
        public readonly Option<string[]> Stop = Opt.List("--stop", "stop strings", "S1,S2,...");
        public readonly Option<int> Seed = Opt.Int("--seed", "sampling seed", 1, min: 0);

        public Option[] All => [MaxTokens, MinTokens, Greedy, Temperature, TopK, TopP, MinP, Repetition, NoRepeat, Beams, LengthPenalty, BeamSampling, Stop, Seed];

        public GenerationOptions Read(ParseResult p) => new()
        {
            MaxTokens = p.GetValue(MaxTokens), MinTokens = p.GetValue(MinTokens), Greedy = p.GetValue(Greedy), Temperature = p.GetValue(Temperature),
            TopK = p.GetValue(TopK), TopP = p.GetValue(TopP), MinP = p.GetValue(MinP), RepetitionPenalty = p.GetValue(Repetition),
            NoRepeatNgramSize = p.GetValue(NoRepeat), Beams = p.GetValue(Beams), LengthPenalty = p.GetValue(LengthPenalty),
            BeamSampling = p.GetValue(BeamSampling), StopStrings = p.GetValue(Stop) ?? [], Seed = p.GetValue(Seed),
        };
    }

    /// <summary>Checks decoding options against a model's vocabulary; a bad one is a usage error naming the option.</summary>
    private static GenerationOptions Checked(GenerationOptions options, LanguageModel model)
    {
        try
        {
            options = options with { EosToken = model.Vocabulary.EosId };
            options.Validate(model.Module is GptModel g ? g.VocabSize : model.Vocabulary.Size);
            return options;
        }
        catch (ArgumentOutOfRangeException e) { throw new UsageException($"--{Opt.Kebab(e.ParamName ?? "?")}: {e.Message.Split(" (Parameter")[0]}"); }
    }

    private static Command GenerateCommand()
    {
        var modelPath = ModelOption();
        var prompt = Opt.Text("--prompt", "the start (empty: from the start token, <s> or <|endoftext|>)", "");
        var promptsFile = Opt.OptionalText("--prompts", "a file with one prompt per line, generated together as one batch", "FILE");
        var set = new GenerationOptionSet(60);
        var samples = Opt.Int("--samples", "continuations per prompt (seeds seed, seed+1, ...)", 1, min: 1);
        var prettify = Opt.Flag("--prettify", "no space before punctuation, sentences capitalised");
        var stream = Opt.Flag("--stream", "print tokens as they are produced (one prompt, no beams)");
        var device = Opt.Device();
        var command = new Command("generate", "Continue prompts with a trained language model (greedy, sampling, top-k/p, min-p, beams, ...).")
            .With([modelPath, prompt, promptsFile, .. set.All, samples, prettify, stream, device]);
        command.SetAction(p =>
        {
            string? file = p.GetValue(promptsFile);
            List<string> prompts = file is not null ? File.ReadAllLines(file).ToList() : [p.GetValue(prompt)!];
            if (prompts.Count == 0) throw new InvalidDataException($"{file} holds no prompts; put one prompt per line");
            return Generate(p.GetValue(modelPath)!, prompts, set.Read(p), p.GetValue(samples), p.GetValue(prettify), p.GetValue(stream), Opt.ResolveDevice(p.GetValue(device)));
        });
        return command;
    }

    private static Command CompleteCommand()
    {
        var modelPath = ModelOption();
        var data = Opt.Path("--data", "texts to complete, one per line", required: true, helpName: "FILE");
        var cut = Opt.Double("--cut", "the share of each text's characters given as the prompt", 0.75, min: 0.01, max: 0.99);
        var margin = Opt.Int("--margin", "tokens generated beyond the reference's token count (generation also stops at the end of text)", 3, min: 0);
        var heal = Opt.Flag("--heal", "also complete with token healing (the prompt's last token taken back and its text required first) and report both");
        var clean = Opt.Choice("--clean", "none, or tweets: decode HTML entities, drop URLs and @mentions, lowercase (as recipes/tweets trains)", "none", "none", "tweets");
        var limit = Opt.Int("--limit", "complete only the first N texts (0: all)", 0, min: 0);
        var batch = Opt.Int("--batch", "rows generated together: texts, or with --candidates N texts × N (at least one text)", 64, min: 1);
        var candidates = Opt.Int("--candidates", "minimum-Bayes-risk decoding: sample N completions per text and keep the one with the highest mean ROUGE-L against the others (needs sampling)", 1, min: 1);
        var unicode = Opt.Flag("--unicode-tokens", "ROUGE over letters and digits of every script (rouge-score's own tokens delete non-ASCII text)");
        var output = Opt.OptionalText("--out", "write prompt, reference and completion(s) per line as TSV", "FILE");
        var set = new GenerationOptionSet(0);
        var device = Opt.Device();
        var threads = Opt.Int("--threads", "intra-op threads (under slovo launch: the cores shared among this machine's workers)", Workers.DefaultThreads, min: 1);
        var command = new Command("complete",
                "Cut each text at --cut of its characters, let the model complete it, and score the completions against the true rest (mean ROUGE-1/2/L F1).")
            .With([modelPath, data, cut, margin, heal, clean, limit, batch, candidates, unicode, output, .. set.All.Where(o => o != set.MaxTokens && o != set.Stop), device, threads]);
        command.SetAction(p =>
        {
            Device d = Opt.ResolveDevice(p.GetValue(device));
            LibTorch.Threads = p.GetValue(threads);
            string path = p.GetValue(data)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"no file {Path.GetFullPath(path)}; give one text per line", path);
            IEnumerable<string> lines = File.ReadLines(path);
            if (p.GetValue(clean) == "tweets") lines = lines.Select(TweetCleaner.Clean);
            List<string> texts = lines.Where(t => t.Length >= 2).ToList();
            if (p.GetValue(limit) > 0) texts = texts.Take(p.GetValue(limit)).ToList();
            if (texts.Count == 0) throw new InvalidDataException($"{path} holds no text of two or more characters to cut");
            using LanguageModel model = LanguageModel.Load(p.GetValue(modelPath)!, d);
            if (p.GetValue(heal) && model.Vocabulary.Level == TokenLevel.Word) throw new UsageException("--heal needs a character or subword model (a word model has no partial words to heal)");
            GenerationOptions generation = Checked(set.Read(p), model);
            var rouge = new Rouge(tokenization: p.GetValue(unicode) ? RougeTokenization.Unicode : RougeTokenization.Ascii);
            if (p.GetValue(candidates) > 1 && (generation.Greedy || generation.Temperature == 0 || generation.Beams > 1))
                throw new UsageException("--candidates chooses among sampled completions: drop --greedy and --beams (and keep --temperature above 0)");
            var options = new CompletionOptions { Cut = p.GetValue(cut), Margin = p.GetValue(margin), BatchSize = p.GetValue(batch), Candidates = p.GetValue(candidates), Agreement = rouge };
            var modes = p.GetValue(heal) ? new[] { false, true } : [false];
            var results = new List<IReadOnlyList<CompletionExample>>();
            var rows = new List<IReadOnlyList<string>>();
            Ui.Run(view =>
            {
                foreach (bool healing in modes)
                {
                    ProgressBar bar = view.Bar(healing ? "healed" : "complete", texts.Count);
                    IReadOnlyList<CompletionExample> done = Completion.Complete(model, texts, generation, options with { Heal = healing }, n => bar.Report(n, "texts"));
                    results.Add(done);
                    RougeSummary s = Completion.Score(done, rouge);
                    rows.Add([healing ? "with token healing" : "plain", s.Rouge1.F1.ToString("F4", CultureInfo.InvariantCulture),
                              s.Rouge2.F1.ToString("F4", CultureInfo.InvariantCulture), s.RougeL.F1.ToString("F4", CultureInfo.InvariantCulture)]);
                }
                return 0;
            });
            Console.WriteLine($"{results[0].Count:N0} texts cut at {p.GetValue(cut):P0} of their characters; {model.Kind} from {model.Source} on {d}");
            Ui.Table(["completion", "ROUGE-1 F1", "ROUGE-2 F1", "ROUGE-L F1"], rows, "mean over the texts");
            if (p.GetValue(output) is { } outPath)
            {
                static string Cell(string x) => x.Replace("\t", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
                var sb = new StringBuilder(p.GetValue(heal) ? "prompt\treference\tcompletion\thealed_completion\n" : "prompt\treference\tcompletion\n");
                for (int i = 0; i < results[0].Count; ++i)
                    sb.Append(Cell(results[0][i].Prompt)).Append('\t').Append(Cell(results[0][i].Reference)).Append('\t').Append(Cell(results[0][i].Completion))
                      .Append(results.Count > 1 ? "\t" + Cell(results[1][i].Completion) : "").Append('\n');
                AtomicFile.WriteAllText(outPath, sb.ToString());
                Console.WriteLine($"wrote {outPath}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Loads any model <see cref="LanguageModel.Load"/> reads and continues the prompts, printing one text per prompt and
    /// sample. Prompts of Slovo's models start with &lt;s&gt;; a Hugging Face folder's are encoded as Hugging Face does, without
    /// a BOS token (an empty one starts from it).
    /// </summary>
    internal static int Generate(string modelPath, List<string> prompts, GenerationOptions options, int samples, bool prettify, bool stream, Device device)
    {
        if (stream && (prompts.Count > 1 || options.Beams > 1 || samples > 1)) throw new UsageException("--stream works with one prompt, one sample and no beams");
        using LanguageModel model = LanguageModel.Load(modelPath, device);
        options = Checked(options, model);
        string Show(IReadOnlyList<int> promptIds, IReadOnlyList<int> generated)
        {
            string text = model.Decode(promptIds.Concat(generated));
            return prettify ? Prettifier.Prettify(text) : text;
        }
        var encoded = prompts.Select(model.EncodePrompt).ToList();
        if (stream)
        {
            var generated = new List<int>();
            string shown = Show(encoded[0], []);
            Console.Write(shown);
            model.Generate(encoded[0], options, t =>
            {
                generated.Add(t);
                string now = Show(encoded[0], generated);
                Console.Write(now.StartsWith(shown, StringComparison.Ordinal) ? now[shown.Length..] : "\n" + now);
                shown = now;
            });
            Console.WriteLine();
            return 0;
        }
        for (int s = 0; s < samples; ++s)
        {
            IReadOnlyList<GenerationResult> results = model.GenerateBatch(encoded, options with { Seed = options.Seed + s * prompts.Count });
            for (int i = 0; i < prompts.Count; ++i) Console.WriteLine(Show(encoded[i], results[i].Tokens));
        }
        return 0;
    }
}

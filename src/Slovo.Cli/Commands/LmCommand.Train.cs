using System.CommandLine;
using Slovo.Cli.CommandLine;
using Slovo.Output;
using Slovo.Embeddings;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.Cli.Commands;

/// <summary>`slovo lm train` (and the `demo` preset): a recurrent model or a GPT, trained into a run folder.</summary>
internal static partial class LmCommand
{
    /// <summary>Defaults of the model-shape options: `lm train` and `demo` differ in these.</summary>
    internal sealed record ShapeDefaults(int Emb, int Hidden, int Layers, double Dropout, int Bptt);

    /// <summary>The model-shape options of a language model (`lm train`, `demo`).</summary>
    internal sealed class ShapeOptions(ShapeDefaults d)
    {
        public readonly Option<int> Emb = Opt.Int("--emb", "embedding size (gpt: the width)", d.Emb, min: 1);
        public readonly Option<int> Hidden = Opt.Int("--hidden", "hidden size", d.Hidden, min: 1);
        public readonly Option<int> Layers = Opt.Int("--layers", "stacked layers", d.Layers, min: 1);
        public readonly Option<double> Dropout = Opt.Double("--dropout", "dropout on embeddings, between layers and before the output", d.Dropout, min: 0, below: 1);
        public readonly Option<int> Bptt = Opt.Int("--bptt", "recurrent: truncated back-propagation window", d.Bptt, min: 1);

        public Option[] All => [Emb, Hidden, Layers, Dropout, Bptt];
    }

    /// <summary>What `lm train` builds besides the training options: the vocabulary, the model's shape, and the run folder.</summary>
    internal sealed record TrainChoices
    {
        /// <summary>word, char or bpe.</summary>
        public string Level { get; init; } = "word";
        public int MinCount { get; init; } = 3;
        public int MaxVocab { get; init; } = 50_000;
        public string? Tokenizer { get; init; }
        public int BpeSize { get; init; } = 1400;

        /// <summary>lstm, gru, rnn or gpt.</summary>
        public string Kind { get; init; } = "lstm";
        public int Emb { get; init; } = 128;
        public int Hidden { get; init; } = 256;
        public int Layers { get; init; } = 1;
        public double Dropout { get; init; }
        public bool Tie { get; init; }
        public string? Glove { get; init; }
        public bool Freeze { get; init; }
        public required string Out { get; init; }
        public bool Resume { get; init; }
    }

    /// <summary>The training options' help lists the defaults of both kinds of model `lm train` trains.</summary>
    private static TrainingOptionSet LmTrainingSet() => new([("recurrent", new RecurrentLmTrainingOptions()), ("gpt", new GptTrainingOptions())]);

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
        var context = Opt.OptionalInt("--context", $"gpt: positions per training window, the model's n_positions (default: {new GptTrainingOptions().Context})", min: 2);
        var init = Opt.OptionalText("--init", "gpt: fine-tune a pretrained decoder (a Hugging Face folder of GPT-2 or an open family, a GGUF file, or a GPT run) with its own tokenizer and shape " +
                                              "(--level, --tokenizer, --layers, --heads, --emb do not apply)", "DIR");
        var rows = RowsOption();
        var lora = Opt.OptionalInt("--lora", "with --init: train a LoRA adapter of rank R instead of every weight (saved in PEFT's format in --out/adapter)", min: 1);
        lora.HelpName = "R";
        var loraAlpha = Opt.Double("--lora-alpha", "LoRA alpha: the low-rank product is scaled by alpha / R", 16, min: 1e-9, max: 1e9);
        var loraDropout = Opt.Double("--lora-dropout", "dropout on each adapted layer's input to the adapter", 0.05, min: 0, max: 0.99);
        var loraTargets = Opt.OptionalText("--lora-targets", "comma-separated layer names to adapt, e.g. q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj " +
                                                             "(open families) or c_attn,c_proj,c_fc (GPT-2), or all-linear (every linear layer but the output head); default: q_proj,v_proj or c_attn, as PEFT chooses", "NAMES");
        var checkpointActivations = Opt.Flag("--checkpoint-activations", "gpt: recompute each block's activations in the backward pass instead of keeping them (less memory, about a quarter more time, the same result)");
        var shape = new ShapeOptions(new ShapeDefaults(Emb: 128, Hidden: 256, Layers: 1, Dropout: 0.2, Bptt: 128));
        var training = LmTrainingSet();
        var tie = Opt.Flag("--tie", "share input and output embeddings (needs --emb = --hidden)");
        var glove = Opt.OptionalText("--glove", "initialise embeddings from GloVe/word2vec vectors (word level; --emb must match)", "FILE");
        var freeze = Opt.Flag("--freeze-embeddings", "keep the pretrained embeddings fixed");
        var output = Opt.Text("--out", "run folder: checkpoint.safetensors (for --resume), the best weights (model.safetensors, or model/ for a gpt), vocab.json, " +
                                       "training.json, summary.json, tensorboard/", "runs/lm", "DIR");
        var resume = Opt.Flag("--resume", "continue the run in --out exactly where it stopped (same options)");
        var command = new Command("train", "Train a word-, char- or subword-level RNN/LSTM/GRU language model, or a GPT.")
            .With([.. corpus.All, level, minCount, maxVocab, tokenizer, vocabSize, kind, heads, context, rows, init, lora, loraAlpha, loraDropout, loraTargets, checkpointActivations, .. shape.All, .. training.All, tie, glove, freeze,
                   output, resume]);
        command.SetAction(p =>
        {
            bool gpt = p.GetValue(kind) == "gpt";
            bool Given(Option o) => TrainingOptionSet.Given(p, o);
            if (p.GetValue(init) is not null && !gpt) throw new UsageException("--init needs --model gpt");
            if (p.GetValue(init) is null && (Given(lora) || Given(loraAlpha) || Given(loraDropout) || Given(loraTargets)))
                throw new UsageException("--lora adapts a pretrained model: give it with --init");
            if (!Given(lora) && (Given(loraAlpha) || Given(loraDropout) || Given(loraTargets)))
                throw new UsageException("--lora-alpha, --lora-dropout and --lora-targets need --lora R");
            if (p.GetValue(checkpointActivations) && !gpt) throw new UsageException("--checkpoint-activations is for --model gpt (transformer blocks)");
            if (Given(rows) && !gpt) throw new UsageException("--rows needs --model gpt (a recurrent model always reads one text per row)");
            if (Given(context) && !gpt) throw new UsageException("--context needs --model gpt (a recurrent model reads each text whole, in --bptt windows)");
            if (Given(shape.Bptt) && gpt) throw new UsageException("--bptt is for the recurrent models (a gpt reads --context windows)");
            var choices = new TrainChoices
            {
                Level = p.GetValue(level)!, MinCount = p.GetValue(minCount), MaxVocab = p.GetValue(maxVocab), Tokenizer = p.GetValue(tokenizer),
                BpeSize = p.GetValue(vocabSize), Kind = p.GetValue(kind)!, Emb = p.GetValue(shape.Emb), Hidden = p.GetValue(shape.Hidden),
                Layers = p.GetValue(shape.Layers), Dropout = p.GetValue(shape.Dropout), Tie = p.GetValue(tie), Glove = p.GetValue(glove),
                Freeze = p.GetValue(freeze), Out = p.GetValue(output)!, Resume = p.GetValue(resume) || Workers.Restarted(p.GetValue(output)!),
            };
            int seed = p.GetValue(corpus.Seed);
            if (!gpt)
            {
                RecurrentLmTrainingOptions o = training.Bind(p, new RecurrentLmTrainingOptions { Seed = seed, Bptt = p.GetValue(shape.Bptt) });
                return Train(corpus.Read(p), p.GetValue(corpus.Lowercase), p.GetValue(corpus.ValidFraction), o, choices);
            }
            if (p.GetValue(init) is not null)
                foreach (Option given in new Option[] { level, tokenizer, vocabSize, shape.Layers, heads, shape.Emb }.Where(Given))
                    throw new UsageException($"{given.Name} does not apply with --init: the model's shape and tokenizer come from {p.GetValue(init)}");
            if (p.GetValue(tie) || p.GetValue(glove) is not null) throw new UsageException("--tie and --glove are for the recurrent models (a GPT's output layer is always its token embedding)");
            if (p.GetValue(init) is null && p.GetValue(shape.Emb) % p.GetValue(heads) != 0)
                throw new UsageException($"--emb ({p.GetValue(shape.Emb)}) must split evenly into --heads ({p.GetValue(heads)})");
            var defaults = new GptTrainingOptions { Seed = seed, Rows = Rows(p.GetValue(rows)!) };
            GptTrainingOptions g = training.Bind(p, defaults with { Context = p.GetValue(context) ?? defaults.Context });
            LoraOptions? adapter = p.GetValue(lora) is { } rank
                ? new LoraOptions
                {
                    Rank = rank, Alpha = p.GetValue(loraAlpha), Dropout = p.GetValue(loraDropout),
                    Targets = p.GetValue(loraTargets)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                }
                : null;
            return TrainGpt(corpus.Read(p), p.GetValue(corpus.Lowercase), p.GetValue(corpus.ValidFraction), g, choices, p.GetValue(heads), p.GetValue(init),
                            dropoutGiven: Given(shape.Dropout), lora: adapter, checkpointActivations: p.GetValue(checkpointActivations));
        });
        return command;
    }

    /// <summary>Builds the vocabulary and model, trains with <see cref="RecurrentLmTrainer"/> into <c>c.Out</c> and reports each epoch.</summary>
    internal static int Train(List<string> texts, bool lowercase, double validFraction, RecurrentLmTrainingOptions train, TrainChoices c)
    {
        if (c.Tie && c.Emb != c.Hidden) throw new UsageException($"--tie needs --emb equal to --hidden (got {c.Emb} and {c.Hidden})");
        if (c.Glove is not null && c.Level != "word") throw new UsageException("--glove needs --level word");
        if (c.Freeze && c.Glove is null) throw new UsageException("--freeze-embeddings needs --glove");
        RecurrentKind kind = c.Kind switch { "gru" => RecurrentKind.Gru, "rnn" => RecurrentKind.RnnTanh, _ => RecurrentKind.Lstm };
        Device on = train.Device ?? Device.CPU;
        if (train.Threads is { } threads) LibTorch.Threads = threads;
        using ProcessGroup? group = Workers.Join(on); // under slovo launch: data-parallel, rank 0 reports and writes
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
            model.To(on);
            view.WriteLine($"model: {c.Kind}, emb {c.Emb}, hidden {c.Hidden}, {c.Layers} layer(s){(c.Tie ? ", tied" : "")}, {model.ParameterCount():N0} parameters; libtorch {LibTorch.Version}, {Where(train)}");
            var trainer = new RecurrentLmTrainer
            {
                Group = group,
                OnStep = view.EpochBars("", "tok", showRate: train.Schedule != LearningRateSchedule.Constant || train.WarmupSteps > 0),
                OnEpoch = e => view.WriteLine(
                    $"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation loss {e.Valid.Loss:F4}, perplexity {e.Valid.Perplexity:F2} " +
                    $"(course's 2**loss: {e.Valid.CoursePow2:F2}), {e.Valid.BitsPerChar:F3} bits/char, {e.TokensPerSecond:N0} tok/s{(e.Improved ? " *" : "")}"),
            };
            var run = new RunFolder(c.Out);
            if (c.Resume && !Ui.Quiet) Console.Error.WriteLine($"resuming from {run[RunFolder.CheckpointFile]}");
            if (group is not null) view.WriteLine($"data-parallel: {group.WorldSize} processes, each reading its share of every batch of {train.BatchSize}");
            LmTrainingResult r = trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, train, c.Out, c.Resume);
            view.WriteLine($"best epoch {r.BestEpoch}: perplexity {r.BestValid.Perplexity:F2} (course's 2**loss {r.BestValid.CoursePow2:F2}), " +
                           $"{r.BestValid.BitsPerChar:F3} bits/char{(r.StoppedEarly ? "; stopped early" : "")}; {r.Seconds:F0} s");
            view.WriteLine($"wrote {run[RunFolder.ModelFile]} and {run[RunFolder.SummaryFile]}");
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
    /// one of the chosen shape, or, with <paramref name="init"/>, a pretrained GPT-2 read through the model registry and
    /// fine-tuned with its own tokenizer (its dropout rates kept unless <paramref name="dropoutGiven"/>).
    /// </summary>
    internal static int TrainGpt(List<string> texts, bool lowercase, double validFraction, GptTrainingOptions train, TrainChoices c, int heads, string? init = null,
                                 bool dropoutGiven = false, LoraOptions? lora = null, bool checkpointActivations = false)
    {
        Device on = train.Device ?? Device.CPU;
        if (train.Threads is { } threads) LibTorch.Threads = threads;
        using ProcessGroup? group = Workers.Join(on); // under slovo launch: data-parallel, rank 0 reports and writes
        return Ui.Run(view =>
        {
            using LanguageModel? pretrained = init is null ? null
                : ModelRegistry.Default.LoadLanguageModel(init, new ModelLoadOptions { Dropout = dropoutGiven ? c.Dropout : null });
            CachedDecoder? start = null;
            if (pretrained is not null)
            {
                start = pretrained.Module as CachedDecoder ?? throw new UsageException($"--init needs a transformer decoder (GPT-2 or an open family); {init} holds a {pretrained.Kind} model");
                if (train.Context > start.ContextLength) throw new UsageException($"--context {train.Context} exceeds the {start.ContextLength} positions of {init}");
                view.WriteLine($"fine-tuning {Path.GetFullPath(init!)}: {start.Kind}, {start.ParameterCount():N0} parameters, vocabulary {pretrained.Vocabulary.Size:N0} from its tokenizer");
            }
            LmDataset data = Data(view, texts, lowercase, validFraction, train.Seed, c, pretrained?.Vocabulary);
            using GptModel? fresh = start is not null ? null : RandomGenerator.Seeded((ulong)train.Seed, () => new GptModel(new GptConfig
            {
                Layers = c.Layers, Heads = heads, Width = c.Emb, Positions = train.Context, VocabSize = data.Vocab.Size, EmbeddingDropout = c.Dropout,
                AttentionDropout = c.Dropout, ResidualDropout = c.Dropout, BosTokenId = data.Vocab.SosId, EosTokenId = data.Vocab.EosId, PadTokenId = data.Vocab.PadId,
            }));
            CachedDecoder model = start ?? fresh!;
            model.To(on);
            string shape = model is GptModel { Config: var cfg } ? $"gpt, {cfg.Layers} layer(s), {cfg.Heads} heads, width {cfg.Width}"
                : model is DecoderModel { Config: var dc } ? $"{dc.ModelType}, {dc.Layers} layer(s), {dc.Heads} heads ({dc.KvHeads} key/value), width {dc.Width}" : model.Kind;
            view.WriteLine($"model: {shape}, context {train.Context}, {model.ParameterCount():N0} parameters; libtorch {LibTorch.Version}, {Where(train)}");
            // An open-family model keeps its chat template and start-token rule beside its best weights, so the run chats as it did.
            LoraAdapter? adapter = null;
            if (lora is not null)
            {
                try { adapter = RandomGenerator.Seeded((ulong)train.Seed, () => LoraAdapter.Attach(model, lora, baseModel: Path.GetFullPath(init!))); }
                catch (ArgumentException e) { throw new UsageException($"--lora-targets: {e.Message}"); }
                long total = model.ParameterCount() + adapter.ParameterCount();
                view.WriteLine($"LoRA: rank {lora.Rank}, alpha {lora.Alpha}, dropout {lora.Dropout}, on {adapter.LayerNames.Count} layers ({string.Join(",", adapter.Options.Targets!)}); " +
                               $"{adapter.ParameterCount():N0} trainable parameters, {100.0 * adapter.ParameterCount() / total:F2}% of {total:N0}");
            }
            using LoraAdapter? ownedAdapter = adapter;
            string? template = pretrained?.ChatTemplate;
            bool addBos = pretrained?.PromptsStartWithSos ?? true;
            var trainer = new GptTrainer
            {
                Group = group,
                Adapter = adapter,
                CheckpointActivations = checkpointActivations,
                OnModelSaved = model is DecoderModel ? dir => TokenizerConfig.Write(dir, addBos, template) : null,
                OnStep = view.EpochBars("", "tok"),
                OnEpoch = e => view.WriteLine($"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation loss {e.Valid.Loss:F4}, perplexity {e.Valid.Perplexity:F2}, " +
                                              $"{e.Valid.BitsPerChar:F3} bits/char, {e.TokensPerSecond:N0} tok/s{(e.Improved ? " *" : "")}"),
            };
            var run = new RunFolder(c.Out);
            if (c.Resume && !Ui.Quiet) Console.Error.WriteLine($"resuming from {run[RunFolder.CheckpointFile]}");
            if (group is not null) view.WriteLine($"data-parallel: {group.WorldSize} processes, each reading its share of every batch of {train.BatchSize}");
            LmTrainingResult r = trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, train, c.Out, c.Resume);
            view.WriteLine($"best epoch {r.BestEpoch}: perplexity {r.BestValid.Perplexity:F2}, {r.BestValid.BitsPerChar:F3} bits/char{(r.StoppedEarly ? "; stopped early" : "")}; {r.Seconds:F0} s");
            if (adapter is not null)
                view.WriteLine($"wrote {run[RunFolder.AdapterDir]} (a PEFT LoRA adapter of {init}; 'slovo models merge' folds it in), {run[RunFolder.VocabularyFile]} and {run[RunFolder.SummaryFile]}");
            else view.WriteLine($"wrote {run[RunFolder.ModelDir]} (a Hugging Face {model.Kind} folder), {run[RunFolder.VocabularyFile]} and {run[RunFolder.SummaryFile]}");
            return 0;
        });
    }

    private static string Where(TrainingOptions o) =>
        o.Device is { Type: not DeviceType.CPU } d ? d.ToString() : $"cpu, {o.Threads ?? LibTorch.Threads} threads";

    private static SubwordVocabulary TrainBpe(ProgressView view, IReadOnlyList<string> texts, int size)
    {
        ProgressBar bar = view.Bar("bpe", size);
        SubwordVocabulary vocab = SubwordVocabulary.TrainByteLevelBpe(texts, size, new SyncProgress<TrainerProgress>(p => bar.Report(p.Done, "tokens")));
        bar.Report(size, "tokens");
        return vocab;
    }
}

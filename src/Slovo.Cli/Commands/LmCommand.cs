using System.Globalization;
using Slovo.Embeddings;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo lm train | eval | generate`: recurrent language models on word, character or subword tokens.</summary>
internal static class LmCommand
{
    public const string Usage = """
        usage: slovo lm <train|eval|generate> [options]

        train: trains a word-, char- or subword-level RNN/LSTM/GRU language model; writes into --out DIR:
               checkpoint.safetensors (for --resume), model.safetensors (best weights + vocabulary), vocab.json,
               summary.json and tensorboard/.
          --data FILE            corpus (default: the shipped ../shared/data/arxiv/arxivData.json)
          --format F             arxiv (JSON: "title ; summary"), lines (one text per line) or paragraphs
                                 (blank-line separated blocks) (default: arxiv for .json, else lines)
          --level L              word, char or bpe (default: word)
          --lowercase            lowercase the texts first
          --min-count N          word level: words seen fewer times become <unk> (default: 3)
          --max-vocab N          word level: keep at most N words (default: 50000)
          --tokenizer FILE       bpe level: a tokenizer.json holding <pad> <s> </s> <unk>; without it a byte-level
                                 BPE of --vocab-size tokens is trained on the training texts (default size: 1400)
          --model K              lstm, gru or rnn (default: lstm)
          --emb N, --hidden N    sizes (default: 128, 256)
          --layers N             stacked layers (default: 1)
          --dropout P            dropout on embeddings, between layers and before the output (default: 0.2)
          --tie                  share input and output embeddings (needs --emb = --hidden)
          --glove FILE           initialise embeddings from GloVe/word2vec vectors (word level; --emb must match)
          --freeze-embeddings    keep the pretrained embeddings fixed
          --epochs N             at most N epochs (default: 10)
          --patience N           stop after N epochs without a better validation loss; 0 never stops (default: 2)
          --batch N              sequences per batch, bucketed by length (default: 32)
          --bptt N               truncated back-propagation window (default: 128)
          --lr X, --clip X       Adam learning rate and gradient norm limit (default: 0.002, 1.0)
          --schedule S           constant, or cosine: the rate falls from --lr to --min-lr over all
                                 --epochs, batch by batch (default: constant)
          --min-lr X             where a cosine schedule ends (default: --lr / 10)
          --valid-fraction X     share of texts held out for validation (default: 0.1)
          --seed N               seed of the split, initialisation, batches and dropout (default: 1)
          --checkpoint-every N   also checkpoint every N batches (default: 100)
          --threads N            intra-op threads (default: all cores)
          --out DIR              run folder (default: runs/lm)
          --resume               continue the run in --out exactly where it stopped (same options)

        eval: validation figures of a trained model on the same seeded split.
          --model PATH           model.safetensors or a run folder (required)
          --data, --format, --lowercase, --valid-fraction, --seed   as in train

        generate: continues prompts.
          --model PATH           model.safetensors or a run folder (required)
          --prompt TEXT          the start (default: empty, i.e. from <s>); --prompts FILE: one prompt per line,
                                 generated together as one batch
          --max-tokens N         (default: 60)
          --min-tokens N         no end of text before N tokens (default: 0)
          --greedy               take the most likely token each step
          --temperature X        (default: 1.0)  --top-k N  --top-p X  --min-p X
          --repetition-penalty X --no-repeat-ngram N
          --beams N              beam search (default: 1); --length-penalty X (default: 1.0); --beam-sampling
          --stop S1,S2           stop strings
          --samples N            continuations per prompt (seeds seed, seed+1, ...) (default: 1)
          --seed N               (default: 1)
          --prettify             no space before punctuation, sentences capitalised
          --stream               print tokens as they are produced (one prompt, no beams)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        Options o = Options.Parse(args[1..], new HashSet<string> { "lowercase", "tie", "freeze-embeddings", "resume", "greedy", "beam-sampling", "prettify", "stream", "help" });
        if (o.Flag("help")) { Console.WriteLine(Usage); return 0; }
        return args[0] switch
        {
            "train" => Train(o),
            "eval" => Eval(o),
            "generate" => Generate(o),
            _ => throw new UsageException($"unknown lm command '{args[0]}'; use train, eval or generate"),
        };
    }

    private static string DefaultData() => SharedPath("data", "arxiv", "arxivData.json");

    /// <summary>A path under ../shared found from the working directory or the program's folder upwards.</summary>
    internal static string SharedPath(params string[] parts)
    {
        foreach (string? start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (string? dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine([dir, "..", "shared", .. parts]);
                if (File.Exists(candidate) || Directory.Exists(candidate)) return Path.GetFullPath(candidate);
            }
        return Path.GetFullPath(Path.Combine(["..", "shared", .. parts]));
    }

    private static List<string> ReadCorpus(Options o)
    {
        string data = o.String("data", DefaultData());
        string format = o.String("format", data.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "arxiv" : "lines");
        if (format is not ("arxiv" or "lines" or "paragraphs")) throw new UsageException($"unknown --format '{format}'; use arxiv, lines or paragraphs");
        List<string> texts = LmCorpus.Read(data, format);
        if (o.Flag("lowercase")) texts = texts.Select(t => t.ToLowerInvariant()).ToList();
        if (texts.Count < 2) throw new InvalidDataException($"{data} holds {texts.Count} texts; at least 2 are needed (one for validation)");
        return texts;
    }

    private static int Train(Options o)
    {
        List<string> texts = ReadCorpus(o);
        string level = o.String("level", "word");
        bool lowercase = o.Flag("lowercase"); // the texts are lowercased already; a word vocabulary also lowercases prompts
        int minCount = o.Int("min-count", 3, 1), maxVocab = o.Int("max-vocab", 50_000, 5);
        string tokenizerPath = o.String("tokenizer", "");
        int bpeSize = o.Int("vocab-size", 1400, 260);
        string kindName = o.String("model", "lstm");
        RecurrentKind kind = kindName switch
        {
            "lstm" => RecurrentKind.Lstm, "gru" => RecurrentKind.Gru, "rnn" => RecurrentKind.RnnTanh,
            _ => throw new UsageException($"unknown --model '{kindName}'; use lstm, gru or rnn"),
        };
        int emb = o.Int("emb", 128, 1), hidden = o.Int("hidden", 256, 1), layers = o.Int("layers", 1, 1);
        double dropout = o.Double("dropout", 0.2, 0);
        if (dropout >= 1) throw new UsageException("--dropout must be below 1");
        bool tie = o.Flag("tie"), freeze = o.Flag("freeze-embeddings"), resume = o.Flag("resume");
        string glove = o.String("glove", "");
        var train = new LmTrainingOptions
        {
            Epochs = o.Int("epochs", 10, 1), Patience = o.Int("patience", 2, 0), BatchSize = o.Int("batch", 32, 1), Bptt = o.Int("bptt", 128, 1),
            LearningRate = o.Double("lr", 0.002, 0), Clip = o.Double("clip", 1.0, 0), Seed = o.Int("seed", 1, 0),
            CheckpointEvery = o.Int("checkpoint-every", 100, 1),
        };
        string schedule = o.String("schedule", "constant");
        double minLr = o.String("min-lr", "").Length > 0 ? o.Double("min-lr", 0, 0) : -1; // -1: not given
        train = schedule switch
        {
            "constant" when minLr >= 0 => throw new UsageException("--min-lr needs --schedule cosine"),
            "constant" => train,
            "cosine" => train with { Schedule = LmSchedule.Cosine, MinLearningRate = minLr >= 0 ? minLr : train.LearningRate / 10 },
            _ => throw new UsageException($"unknown --schedule '{schedule}'; use constant or cosine"),
        };
        if (train.MinLearningRate > train.LearningRate) throw new UsageException($"--min-lr ({train.MinLearningRate}) must not exceed --lr ({train.LearningRate})");
        double validFraction = o.Double("valid-fraction", 0.1, 0);
        int threads = o.Int("threads", Environment.ProcessorCount, 1);
        string outDir = o.String("out", "runs/lm");
        o.RejectUnknown();
        if (tie && emb != hidden) throw new UsageException($"--tie needs --emb equal to --hidden (got {emb} and {hidden})");
        if (glove.Length > 0 && level != "word") throw new UsageException("--glove needs --level word");
        if (freeze && glove.Length == 0) throw new UsageException("--freeze-embeddings needs --glove");
        LibTorch.Threads = threads;

        Directory.CreateDirectory(outDir);
        string vocabPath = Path.Combine(outDir, "vocab.json");
        LmVocabulary? saved = null;
        if (resume)
        {
            if (!File.Exists(vocabPath)) throw new FileNotFoundException($"--resume: no run in {Path.GetFullPath(outDir)} (vocab.json is missing); start without --resume", vocabPath);
            saved = LmVocabulary.FromJson(File.ReadAllText(vocabPath));
        }
        LmDataset data = LmDataset.Create(texts, validFraction, train.Seed, buildVocab: part => level switch
        {
            "word" => WordVocabulary.Build(part, lowercase: lowercase, minCount: minCount, maxSize: maxVocab),
            "char" => CharVocabulary.Build(part),
            "bpe" when tokenizerPath.Length > 0 => new SubwordVocabulary(TokenizerJson.Load(tokenizerPath)),
            "bpe" => TrainBpe(part, bpeSize),
            _ => throw new UsageException($"unknown --level '{level}'; use word, char or bpe"),
        }, vocab: saved);
        if (!resume) AtomicFile.WriteAllText(vocabPath, data.Vocab.ToJson());

        LibTorch.ManualSeed((ulong)train.Seed);
        using var model = new RnnLanguageModel(new RnnLanguageModelOptions
        {
            VocabSize = data.Vocab.Size, Kind = kind, EmbeddingSize = emb, HiddenSize = hidden, Layers = layers, Dropout = dropout,
            TieWeights = tie, PadId = data.Vocab.PadId,
        });
        Console.WriteLine($"data: {texts.Count:N0} texts, {data.TrainTexts.Count:N0} train / {data.ValidTexts.Count:N0} validation, {data.TrainTokens:N0} training tokens");
        Console.WriteLine($"vocabulary: {level}, {data.Vocab.Size:N0} tokens");
        if (glove.Length > 0 && !resume)
        {
            KeyedVectors vectors = KeyedVectors.Load(glove);
            var words = Enumerable.Range(0, data.Vocab.Size).Select(data.Vocab.TokenOf).ToList();
            int found = model.InitializeEmbeddings(vectors, words, freeze);
            Console.WriteLine($"pretrained embeddings: {found:N0} of {data.Vocab.Size - 4:N0} vocabulary words found in {glove}{(freeze ? " (frozen)" : "")}");
        }
        else if (glove.Length > 0 && freeze) model.FreezeEmbeddings();
        Console.WriteLine($"model: {kindName}, emb {emb}, hidden {hidden}, {layers} layer(s){(tie ? ", tied" : "")}, {model.ParameterCount():N0} parameters; libtorch {LibTorch.Version}, {threads} threads");

        Progress? bar = null;
        int barEpoch = 0;
        var trainer = new LmTrainer
        {
            OnStep = s =>
            {
                if (bar is null || barEpoch != s.Epoch) (bar, barEpoch) = (new Progress(s.Batches, $"epoch {s.Epoch}"), s.Epoch);
                bar.Report(s.Batch, $"loss {s.Loss:F3} {s.TokensPerSecond:N0} tok/s" + (train.Schedule == LmSchedule.Constant ? "" : $" lr {s.LearningRate:G3}"));
            },
            OnEpoch = e => Console.WriteLine(
                $"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation loss {e.Valid.Loss:F4}, perplexity {e.Valid.Perplexity:F2} " +
                $"(course's 2**loss: {e.Valid.CoursePow2:F2}), {e.Valid.BitsPerChar:F3} bits/char, {e.TokensPerSecond:N0} tok/s{(e.Improved ? " *" : "")}"),
        };
        if (resume) Console.Error.WriteLine($"resuming from {Path.Combine(outDir, LmTrainer.CheckpointFile)}");
        LmTrainingResult r = trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, train, outDir, resume);
        Console.WriteLine($"best epoch {r.BestEpoch}: perplexity {r.BestValid.Perplexity:F2} (course's 2**loss {r.BestValid.CoursePow2:F2}), " +
                          $"{r.BestValid.BitsPerChar:F3} bits/char{(r.StoppedEarly ? "; stopped early" : "")}; {r.Seconds:F0} s");
        Console.WriteLine($"wrote {Path.Combine(outDir, LmTrainer.ModelFile)} and {Path.Combine(outDir, LmTrainer.SummaryFile)}");
        return 0;
    }

    private static SubwordVocabulary TrainBpe(IReadOnlyList<string> texts, int size)
    {
        var bar = new Progress(size, "bpe");
        return SubwordVocabulary.TrainByteLevelBpe(texts, size, new SyncProgress(p => bar.Report(p.Done, "tokens")));
    }

    private static int Eval(Options o)
    {
        string modelPath = o.String("model", "");
        if (modelPath.Length == 0) throw new UsageException("--model PATH is required");
        List<string> texts = ReadCorpus(o);
        double validFraction = o.Double("valid-fraction", 0.1, 0);
        int seed = o.Int("seed", 1, 0);
        o.RejectUnknown();
        (RnnLanguageModel model, LmVocabulary vocab) = LmTrainer.LoadModel(modelPath);
        using (model)
        {
            LmDataset data = LmDataset.Create(texts, validFraction, seed, vocab: vocab);
            LmEvaluation v = LmTrainer.Evaluate(model, data.Valid, data.ValidChars, vocab.PadId);
            Console.WriteLine($"validation: {data.ValidTexts.Count:N0} texts, {v.Tokens:N0} target tokens, {v.Chars:N0} characters");
            Console.WriteLine($"loss {v.Loss:F4} nats/token, perplexity {v.Perplexity:F2}, course's 2**loss {v.CoursePow2:F2}, {v.BitsPerChar:F3} bits/char");
        }
        return 0;
    }

    private static int Generate(Options o)
    {
        string modelPath = o.String("model", "");
        if (modelPath.Length == 0) throw new UsageException("--model PATH is required");
        string prompt = o.String("prompt", "");
        string promptsFile = o.String("prompts", "");
        int samples = o.Int("samples", 1, 1);
        bool prettify = o.Flag("prettify"), stream = o.Flag("stream");
        var options = new GenerationOptions
        {
            MaxTokens = o.Int("max-tokens", 60, 0), MinTokens = o.Int("min-tokens", 0, 0), Greedy = o.Flag("greedy"), Temperature = o.Double("temperature", 1.0, 0),
            TopK = o.Int("top-k", 0, 0), TopP = o.Double("top-p", 1.0, 0), MinP = o.Double("min-p", 0, 0),
            RepetitionPenalty = o.Double("repetition-penalty", 1.0, 0), NoRepeatNgramSize = o.Int("no-repeat-ngram", 0, 0),
            Beams = o.Int("beams", 1, 1), LengthPenalty = o.Double("length-penalty", 1.0), BeamSampling = o.Flag("beam-sampling"),
            StopStrings = o.String("stop", "").Split(',', StringSplitOptions.RemoveEmptyEntries), Seed = o.Int("seed", 1, 0),
        };
        o.RejectUnknown();
        List<string> prompts = promptsFile.Length > 0 ? File.ReadAllLines(promptsFile).ToList() : [prompt];
        if (prompts.Count == 0) throw new InvalidDataException($"{promptsFile} holds no prompts");
        if (stream && (prompts.Count > 1 || options.Beams > 1 || samples > 1)) throw new UsageException("--stream works with one prompt, one sample and no beams");

        (RnnLanguageModel model, LmVocabulary vocab) = LmTrainer.LoadModel(modelPath);
        using (model)
        {
            try { options = options with { EosToken = vocab.EosId }; options.Validate(vocab.Size); }
            catch (ArgumentOutOfRangeException e) { throw new UsageException($"--{Kebab(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}"); }
            string Show(IReadOnlyList<int> promptIds, IReadOnlyList<int> generated)
            {
                string text = vocab.Decode(promptIds.Concat(generated));
                return prettify ? Prettifier.Prettify(text) : text;
            }
            var encoded = prompts.Select(p => (IReadOnlyList<int>)[vocab.SosId, .. vocab.Encode(p)]).ToList();
            if (stream)
            {
                var generated = new List<int>();
                Console.Write(Show(encoded[0], []));
                string shown = Show(encoded[0], []);
                Generator.Generate(model, encoded[0], options, ids => vocab.Decode(ids), t =>
                {
                    generated.Add(t);
                    string now = Show(encoded[0], generated);
                    if (now.StartsWith(shown, StringComparison.Ordinal)) Console.Write(now[shown.Length..]);
                    else Console.Write("\n" + now);
                    shown = now;
                });
                Console.WriteLine();
                return 0;
            }
            for (int s = 0; s < samples; ++s)
            {
                IReadOnlyList<GenerationResult> results = Generator.GenerateBatch(model, encoded, options with { Seed = options.Seed + s * prompts.Count }, ids => vocab.Decode(ids));
                for (int i = 0; i < prompts.Count; ++i) Console.WriteLine(Show(encoded[i], results[i].Tokens));
            }
        }
        return 0;
    }

    private static string Kebab(string? name) => name is null ? "?" : string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}

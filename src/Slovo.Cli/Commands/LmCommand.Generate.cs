using System.Globalization;
using System.Text;
using System.CommandLine;
using Slovo.Cli.CommandLine;
using Slovo.Output;
using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.Text;
using Slovo.Tokenizers.Trainers;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo lm eval | generate | complete`: any language model the registry loads.</summary>
internal static partial class LmCommand
{
    private static Command EvalCommand()
    {
        var corpus = new CorpusOptions();
        var modelPath = ModelOption();
        var device = Opt.Device();
        var dtype = Opt.DType();
        var context = Opt.OptionalInt("--context", "gpt: positions per window (default: a run's own --context, else the model's n_positions)", min: 1);
        var rows = new Option<string?>("--rows") { Description = "gpt: packed or texts, as in lm train (default: a run's own --rows, else packed)" };
        rows.AcceptOnlyFromAmong("packed", "texts");
        var adapter = Opt.Adapter();
        var command = new Command("eval", "Validation figures of a trained model on the same seeded split (loss, perplexity, bits/char).")
            .With([modelPath, adapter, .. corpus.All, context, rows, device, dtype]);
        command.SetAction(p =>
        {
            Device d = Opt.ResolveDevice(p.GetValue(device));
            List<string> texts = corpus.Read(p);
            using LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(p.GetValue(modelPath)!,
                new ModelLoadOptions { Device = d, DType = Opt.ResolveDType(p.GetValue(dtype)), Adapter = p.GetValue(adapter) });
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
            options.Validate(model.Backend.VocabSize);
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
        var dtype = Opt.DType();
        var engine = Opt.Engine();
        var adapter = Opt.Adapter();
        var command = new Command("generate", "Continue prompts with a trained language model (greedy, sampling, top-k/p, min-p, beams, ...).")
            .With([modelPath, adapter, prompt, promptsFile, .. set.All, samples, prettify, stream, device, dtype, engine]);
        command.SetAction(p =>
        {
            string? file = p.GetValue(promptsFile);
            List<string> prompts = file is not null ? File.ReadAllLines(file).ToList() : [p.GetValue(prompt)!];
            if (prompts.Count == 0) throw new InvalidDataException($"{file} holds no prompts; put one prompt per line");
            return Generate(p.GetValue(modelPath)!, prompts, set.Read(p), p.GetValue(samples), p.GetValue(prettify), p.GetValue(stream), Opt.ResolveDevice(p.GetValue(device)),
                            Opt.ResolveDType(p.GetValue(dtype)), p.GetValue(engine), p.GetValue(adapter));
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
        var dtype = Opt.DType();
        var engine = Opt.Engine();
        var threads = Opt.Int("--threads", "intra-op threads (under slovo launch: the cores shared among this machine's workers)", Workers.DefaultThreads, min: 1);
        var adapter = Opt.Adapter();
        var command = new Command("complete",
                "Cut each text at --cut of its characters, let the model complete it, and score the completions against the true rest (mean ROUGE-1/2/L F1).")
            .With([modelPath, adapter, data, cut, margin, heal, clean, limit, batch, candidates, unicode, output, .. set.All.Where(o => o != set.MaxTokens && o != set.Stop), device, dtype, engine, threads]);
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
            using LanguageModel model = ModelRegistry.Default.LoadLanguageModel(p.GetValue(modelPath)!,
                new ModelLoadOptions { Device = d, DType = Opt.ResolveDType(p.GetValue(dtype)), Adapter = p.GetValue(adapter) });
            // Rows of one step: a batch of texts, times the candidates of each, times the beams of each.
            using IDisposable? engineInUse = Opt.UseEngine(model, p.GetValue(engine), p.GetValue(batch) * p.GetValue(candidates) * Math.Max(1, 2 * set.Read(p).Beams));
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
    internal static int Generate(string modelPath, List<string> prompts, GenerationOptions options, int samples, bool prettify, bool stream, Device device,
                                 ScalarType dtype = ScalarType.Float32, string? engine = null, string? adapter = null)
    {
        if (stream && (prompts.Count > 1 || options.Beams > 1 || samples > 1)) throw new UsageException("--stream works with one prompt, one sample and no beams");
        if (stream && prettify) throw new UsageException("--prettify rewrites the whole text at the end; drop it or --stream");
        using LanguageModel model = ModelRegistry.Default.LoadLanguageModel(modelPath, new ModelLoadOptions { Device = device, DType = dtype, Adapter = adapter });
        using IDisposable? engineInUse = Opt.UseEngine(model, engine, Math.Max(prompts.Count * samples, options.Beams * 2));
        options = Checked(options, model);
        string Show(IReadOnlyList<int> promptIds, IReadOnlyList<int> generated)
        {
            string text = model.Decode(promptIds.Concat(generated));
            return prettify ? Prettifier.Prettify(text) : text;
        }
        var encoded = prompts.Select(model.EncodePrompt).ToList();
        if (stream)
        {
            // The prompt as the model reads it, then each piece of text as it becomes final (a character split across tokens
            // is printed once, whole).
            Console.Write(Show(encoded[0], []));
            var text = new IncrementalDetokenizer(ids => model.Decode(ids), encoded[0]);
            model.Generate(encoded[0], options, t => Console.Write(text.Add(t)));
            Console.WriteLine(text.Flush());
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

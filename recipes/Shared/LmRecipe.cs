using System.Diagnostics;
using System.Globalization;
using System.Text;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Output;
using Slovo.Training;

namespace Slovo.Recipes;

/// <summary>A trained model of a recipe, recurrent or GPT: what its tables and curves show.</summary>
public interface IRecipeRun
{
    string Name { get; }
    long Parameters { get; }
    LmTrainingResult? Result { get; }
}

/// <summary>One recurrent model of a recipe: its settings and what was measured.</summary>
public sealed record LmRun(string Name, RnnLanguageModelOptions Model, RecurrentLmTrainingOptions Training) : IRecipeRun
{
    public long Parameters { get; set; }
    public LmTrainingResult? Result { get; set; }
    public int? PretrainedFound { get; set; }
}

/// <summary>One GPT of a recipe: its shape, its training and what was measured.</summary>
public sealed record GptRun(string Name, GptConfig Config, GptTrainingOptions Training) : IRecipeRun
{
    public long Parameters { get; set; }
    public LmTrainingResult? Result { get; set; }
}

/// <summary>Shared steps of the language-model recipes: train (resumable, in runs/NAME), evaluate, sample, write tables.</summary>
public static class LmRecipe
{
    /// <summary>
    /// Trains <paramref name="run"/> in <paramref name="runDir"/>. A checkpoint left there by the same settings is
    /// continued (a killed run resumes; a finished one only reloads its best weights; a larger epoch budget trains on);
    /// one from other settings is discarded.
    /// </summary>
    public static RnnLanguageModel Train(LmRun run, LmDataset data, string runDir, Action<RnnLanguageModel>? init = null)
    {
        var trainer = new RecurrentLmTrainer { OnStep = Progress(run.Name, 15), OnEpoch = EpochLine(run.Name) };
        return Resumable(run.Name, data, runDir, RunFolder.CheckpointFile, () => new RnnLanguageModel(run.Model), run.Training.Seed, init,
            (model, resume) => (model.ParameterCount(), trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, run.Training, runDir, resume)),
            (parameters, result) => (run.Parameters, run.Result) = (parameters, result));
    }

    /// <summary>Trains the GPT of <paramref name="run"/> in <paramref name="runDir"/>, resuming as <see cref="Train"/> does.</summary>
    public static GptModel TrainGpt(GptRun run, LmDataset data, string runDir)
    {
        var trainer = new GptTrainer { OnStep = Progress(run.Name, 15), OnEpoch = EpochLine(run.Name) };
        return Resumable(run.Name, data, runDir, RunFolder.CheckpointFile, () => new GptModel(run.Config), run.Training.Seed, null,
            (model, resume) => (model.ParameterCount(), trainer.Train(model, data.Vocab, data.Train, data.Valid, data.ValidChars, run.Training, runDir, resume)),
            (parameters, result) => (run.Parameters, run.Result) = (parameters, result));
    }

    private static Action<LmEpochReport> EpochLine(string name) =>
        e => Console.WriteLine($"  {name}: epoch {e.Epoch} validation perplexity {e.Valid.Perplexity:F2}, {e.Valid.BitsPerChar:F3} bits/char ({e.Seconds:F0} s)");

    // The resume-or-start-over logic of both: a model seeded from the run's seed, continued from the checkpoint when its
    // settings match, else trained from scratch in an emptied folder.
    private static TModel Resumable<TModel>(string name, LmDataset data, string runDir, string checkpointFile, Func<TModel> create, int seed, Action<TModel>? init,
                                            Func<TModel, bool, (long Parameters, LmTrainingResult Result)> train, Action<long, LmTrainingResult> record)
        where TModel : Slovo.Torch.NN.Module
    {
        if (File.Exists(Path.Combine(runDir, checkpointFile)))
        {
            TModel resumed = RandomGenerator.Seeded((ulong)seed, create);
            try
            {
                Console.WriteLine($"{name}: continuing from {runDir}");
                var (parameters, result) = train(resumed, true);
                record(parameters, result);
                return resumed;
            }
            catch (InvalidDataException e)
            {
                resumed.Dispose();
                Console.WriteLine($"{name}: starting over ({e.Message})");
            }
        }
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        TModel model = RandomGenerator.Seeded((ulong)seed, create);
        init?.Invoke(model);
        Console.WriteLine($"{name}: {model.ParameterCount():N0} parameters, vocabulary {data.Vocab.Size:N0}");
        var (count, trained) = train(model, false);
        record(count, trained);
        return model;
    }

    /// <summary>A training-progress callback that prints a line to standard error at most every <paramref name="seconds"/>.</summary>
    public static Action<TrainingProgress> Progress(string name, double seconds) => Ui.Plain(seconds).EpochBars($"  {name}: ", "tok");

    /// <summary>The results table: parameters, validation figures, epochs and training time.</summary>
    public static string ResultsTable(IEnumerable<IRecipeRun> runs)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | parameters | validation perplexity exp(loss) | course's 2\\*\\*loss | bits/char | best epoch / run | training time |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (IRecipeRun r in runs)
        {
            LmTrainingResult x = r.Result!;
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Parameters:N0} | {x.BestValid.Perplexity:F2} | {x.BestValid.CoursePow2:F2} | {x.BestValid.BitsPerChar:F3} | {x.BestEpoch} / {x.History.Count}{(x.StoppedEarly ? " (early stop)" : "")} | {x.Seconds / 60:F1} min |");
        }
        return sb.ToString();
    }

    /// <summary>Per-epoch curves of the runs (validation bits per character, comparable across token levels, and
    /// training loss) as a PNG at <paramref name="path"/>; returns the README's image line.</summary>
    public static string Curves(string path, IReadOnlyList<IRecipeRun> runs)
    {
        ChartSeries Line(IRecipeRun r, Func<LmEpochReport, double> y) =>
            new(r.Name, r.Result!.History.Select(h => (double)h.Epoch).ToList(), r.Result.History.Select(y).ToList());
        return RecipeCharts.Panels(path, "training curves", "epoch",
            ("validation bits per character (lower is better)", "bits/char", runs.Select(r => Line(r, h => h.Valid.BitsPerChar)).ToList()),
            ("training loss (nats per token, with dropout)", "loss", runs.Select(r => Line(r, h => h.TrainLoss)).ToList()));
    }

    /// <summary>The decoding strategies compared in the recipes.</summary>
    public static readonly (string Name, GenerationOptions Options)[] Strategies =
    [
        ("greedy", new GenerationOptions { Greedy = true }),
        ("greedy, no-repeat 3-gram", new GenerationOptions { Greedy = true, NoRepeatNgramSize = 3 }),
        ("sampling, temperature 1.0", new GenerationOptions { Temperature = 1.0 }),
        ("sampling, temperature 0.5", new GenerationOptions { Temperature = 0.5 }),
        ("top-k 10", new GenerationOptions { TopK = 10 }),
        ("nucleus top-p 0.9", new GenerationOptions { TopP = 0.9 }),
        ("min-p 0.1", new GenerationOptions { MinP = 0.1 }),
        ("top-k 40 + repetition penalty 1.3", new GenerationOptions { TopK = 40, RepetitionPenalty = 1.3 }),
        ("beam search, 5 beams", new GenerationOptions { Beams = 5, LengthPenalty = 1.0 }),
        ("beam sampling, 5 beams", new GenerationOptions { Beams = 5, BeamSampling = true, LengthPenalty = 1.0 }),
    ];

    /// <summary>Samples each strategy on each prompt; a table row per (strategy, prompt) with the text and its mean
    /// log-probability per token under the model.</summary>
    public static string StrategyTable(RnnLanguageModel model, Vocabulary vocab, IReadOnlyList<string> prompts, int maxTokens, bool prettify, int seed = 1)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| strategy | prompt → continuation | mean log-prob / token | distinct 2-grams |");
        sb.AppendLine("|---|---|---:|---:|");
        foreach ((string name, GenerationOptions o) in Strategies)
            foreach (string prompt in prompts)
            {
                int[] ids = [vocab.SosId, .. vocab.Encode(prompt)];
                GenerationResult g = Generator.Generate(model, ids, o with { MaxTokens = maxTokens, MinTokens = maxTokens / 2, EosToken = vocab.EosId, Seed = seed }, x => vocab.Decode(x));
                string text = vocab.Decode(ids.Concat(g.Tokens));
                if (prettify) text = Prettifier.Prettify(text);
                double distinct = g.Tokens.Count < 2 ? 1 : g.Tokens.Zip(g.Tokens.Skip(1)).Distinct().Count() / (double)(g.Tokens.Count - 1);
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Escape(text)} | {g.LogProbability / Math.Max(1, g.Tokens.Count):F2} | {distinct:P0} |");
            }
        return sb.ToString();
    }

    /// <summary>
    /// A text of at least <paramref name="chars"/> characters after <paramref name="prompt"/>, generated in pieces of up to
    /// <paramref name="piece"/> tokens. A model with a bounded <paramref name="context"/> (a GPT) reads only the last half
    /// of its context before each piece (a sliding window); a recurrent model reads the whole text. The end of text is
    /// held back, so the text runs on across stanzas; each piece is seeded from <paramref name="seed"/>.
    /// </summary>
    public static string LongSample<TState>(IIncrementalModel<TState> model, Vocabulary vocab, string prompt, int chars, GenerationOptions options, int seed,
                                            int? context, int piece = 64)
    {
        var ids = new List<int> { vocab.SosId };
        ids.AddRange(vocab.Encode(prompt));
        for (int round = 0; vocab.Decode(ids).Length < chars; ++round)
        {
            List<int> window = context is int c ? ids.Skip(Math.Max(0, ids.Count - c / 2)).ToList() : ids;
            int n = context is int limit ? Math.Min(piece, limit - window.Count) : piece;
            GenerationResult g = Generator.Generate(model, window, options with { MaxTokens = n, MinTokens = n, EosToken = vocab.EosId, Seed = seed * 1000 + round });
            if (g.Tokens.Count == 0) break;
            ids.AddRange(g.Tokens);
        }
        return vocab.Decode(ids);
    }

    /// <summary>Markdown-safe table cell text.</summary>
    public static string Escape(string s) => s.Replace("|", "\\|").Replace("\n", " / ").Replace("*", "\\*");
}

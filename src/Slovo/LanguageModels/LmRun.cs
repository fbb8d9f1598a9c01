using System.Text.Json;
using Slovo.Evaluation;
using Slovo.Text;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.LanguageModels;

/// <summary>What every language-model trainer (recurrent or GPT) does alike around the training loop: checkpoints that carry the
/// vocabulary, validation logged and reported the same way, and the result of a run.</summary>
internal static class LmRun
{
    /// <summary>Reads a checkpoint into the model and optimizer; refuses one written with other settings or another vocabulary.</summary>
    public static TrainingState<LmEpochReport> Resume(string path, ModelArchiveKind kind, string settings, Module model, Optimizer opt, Vocabulary vocab,
                                                      JsonSerializerOptions json) =>
        ModelArchive.LoadCheckpoint<TrainingState<LmEpochReport>>(path, kind, settings, model, opt,
            meta => meta.GetValueOrDefault("vocab") != vocab.ToJson() ? "was written with another vocabulary; resume with the same data and tokenizer" : null, json);

    /// <summary>Validation over a data-parallel group: each rank evaluates every W-th sequence and the sums are added up
    /// (alone: <paramref name="evaluate"/> on the whole set).</summary>
    public static LmEvaluation EvaluateShared(ProcessGroup? group, IReadOnlyList<int[]> valid, long validChars, Func<IReadOnlyList<int[]>, LmEvaluation> evaluate)
    {
        if (group is not { WorldSize: > 1 } g) return evaluate(valid);
        int[][] part = valid.Where((_, i) => i % g.WorldSize == g.Rank).ToArray();
        LmEvaluation mine = part.Length > 0 ? evaluate(part) : new LmEvaluation(0, 0, validChars);
        double[] sums = TrainingLoop.SumOverRanks(g, mine.NllSum, mine.Tokens);
        return new LmEvaluation(sums[0], (long)sums[1], validChars);
    }

    /// <summary>Writes a checkpoint with the vocabulary beside the tensors.</summary>
    public static void Checkpoint(string path, ModelArchiveKind kind, string settings, Module model, Optimizer opt, Vocabulary vocab,
                                  TrainingState<LmEpochReport> state, JsonSerializerOptions json) =>
        ModelArchive.SaveCheckpoint(path, kind, settings, model, opt, state, new Dictionary<string, string> { ["vocab"] = vocab.ToJson() }, json);

    /// <summary>Logs an epoch's validation, reports it and scores it for early stopping (lower loss is better).</summary>
    public static EpochOutcome<LmEpochReport> EndEpoch(LmEvaluation v, TensorBoardWriter? tb, int epoch, double trainLoss, double seconds,
                                                       double itemsPerSecond, long step, double? bestScore, Action<LmEpochReport>? onEpoch)
    {
        tb?.Scalar("valid/loss", v.Loss, step);
        tb?.Scalar("valid/perplexity", v.Perplexity, step);
        tb?.Scalar("valid/bits_per_char", v.BitsPerChar, step);
        var report = new LmEpochReport(epoch, trainLoss, v, seconds, itemsPerSecond, TrainingLoop.Improves(-v.Loss, bestScore));
        onEpoch?.Invoke(report);
        return new EpochOutcome<LmEpochReport>(report, -v.Loss);
    }

    /// <summary>The run's summary.json: the same shape as every trainer's (see <see cref="RunSummary"/>).</summary>
    public static RunSummary Summary(string kind, object config, long parameters, Vocabulary vocab, object training, LmTrainingResult r) => new()
    {
        Task = "language-model", Model = kind, Config = config, Parameters = parameters,
        Vocabulary = new RunVocabulary(vocab.Level.ToString().ToLowerInvariant(), vocab.Size), Training = training,
        Epochs = r.History.Cast<object>().ToList(), BestEpoch = r.BestEpoch,
        Best = new Dictionary<string, double>
        {
            ["loss"] = r.BestValid.Loss, ["perplexity"] = r.BestValid.Perplexity, ["course_pow2"] = r.BestValid.CoursePow2, ["bits_per_char"] = r.BestValid.BitsPerChar,
        },
        StoppedEarly = r.StoppedEarly, Steps = r.Steps, Seconds = r.Seconds,
    };

    /// <summary>The run's result: every epoch, the best one's validation figures, and this session's throughput.</summary>
    public static LmTrainingResult Result(TrainingState<LmEpochReport> state, bool stoppedEarly, long tokensThisSession, double secondsThisSession)
    {
        LmEpochReport? best = state.BestEpoch > 0 ? state.History[state.BestEpoch - 1] : null;
        return new LmTrainingResult(state.History, state.BestEpoch, best?.Valid ?? state.History[^1].Valid, stoppedEarly, state.Step,
            state.Seconds, tokensThisSession / Math.Max(1e-9, secondsThisSession));
    }
}

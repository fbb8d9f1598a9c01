using System.CommandLine;
using System.Globalization;
using Slovo.Cli.Commands;
using Slovo.Training;

namespace Slovo.Cli.CommandLine;

/// <summary>
/// The command-line face of <see cref="TrainingOptions"/>, declared once for every command that trains. An option left out
/// keeps the library's default for the model being trained (the help lists them), so a default lives in one place: the
/// trainer's options record. <see cref="Bind{T}"/> reads what was given over those defaults, and the record's own
/// <see cref="TrainingOptions.Validate"/> is the one check, its complaints turned into usage errors naming the option.
/// </summary>
internal sealed class TrainingOptionSet
{
    /// <summary>Option names, and the <see cref="TrainingOptions"/> property each sets (for error messages).</summary>
    private static readonly (string Option, string Property)[] Names =
    [
        ("--epochs", nameof(TrainingOptions.Epochs)), ("--batch", nameof(TrainingOptions.BatchSize)), ("--lr", nameof(TrainingOptions.LearningRate)),
        ("--min-lr", nameof(TrainingOptions.MinLearningRate)), ("--schedule", nameof(TrainingOptions.Schedule)), ("--warmup", nameof(TrainingOptions.WarmupSteps)),
        ("--weight-decay", nameof(TrainingOptions.WeightDecay)), ("--clip", nameof(TrainingOptions.Clip)), ("--accumulate", nameof(TrainingOptions.Accumulate)),
        ("--patience", nameof(TrainingOptions.Patience)), ("--checkpoint-every", nameof(TrainingOptions.CheckpointEvery)), ("--precision", nameof(TrainingOptions.Autocast)),
        ("--threads", nameof(TrainingOptions.Threads)), ("--device", nameof(TrainingOptions.Device)),
    ];

    private readonly HashSet<string> _taken;
    private readonly Dictionary<string, Option> _options = [];

    /// <summary>
    /// The options named in <paramref name="take"/> (all when empty), their help showing the defaults of each model in
    /// <paramref name="models"/> (a label and that model's options record).
    /// </summary>
    public TrainingOptionSet(IReadOnlyList<(string Label, TrainingOptions Defaults)> models, params string[] take)
    {
        _taken = take.Length == 0 ? Names.Select(n => n.Option).ToHashSet() : take.ToHashSet();
        foreach (string t in _taken)
            if (!Names.Any(n => n.Option == t)) throw new ArgumentException($"no training option {t}", nameof(take));
        string D(Func<TrainingOptions, string> show)
        {
            var values = models.Select(m => (m.Label, Value: show(m.Defaults))).ToList();
            return values.Select(v => v.Value).Distinct().Count() == 1
                ? $" (default: {values[0].Value})"
                : $" (default: {string.Join(", ", values.Select(v => $"{v.Value} {v.Label}"))})";
        }
        static string N(double x) => x.ToString("G", CultureInfo.InvariantCulture);
        Epochs = Add(Opt.OptionalInt("--epochs", "at most N epochs" + D(o => o.Epochs.ToString(CultureInfo.InvariantCulture)), min: 1));
        Batch = Add(Opt.OptionalInt("--batch", "examples per batch (sequences, rows, texts)" + D(o => o.BatchSize.ToString(CultureInfo.InvariantCulture)), min: 1));
        Lr = Add(Opt.OptionalDouble("--lr", "(peak) learning rate" + D(o => N(o.LearningRate)), min: 0));
        MinLr = Add(Opt.OptionalDouble("--min-lr", "where a cosine schedule ends (default: --lr / 10)", min: 0));
        Schedule = Add(new Option<string?>("--schedule")
        {
            Description = "constant, or cosine: after the warm-up the rate falls from --lr to --min-lr over all --epochs, batch by batch" +
                          D(o => o.Schedule.ToString().ToLowerInvariant()),
            HelpName = "constant|cosine",
        });
        ((Option<string?>)Schedule).AcceptOnlyFromAmong("constant", "cosine");
        Warmup = Add(Opt.OptionalInt("--warmup", "optimizer steps of linear warm-up from 0" + D(o => o.WarmupSteps.ToString(CultureInfo.InvariantCulture)), min: 0));
        WeightDecay = Add(Opt.OptionalDouble("--weight-decay", "AdamW's decoupled weight decay (not on biases, norms and embeddings)" + D(o => N(o.WeightDecay)), min: 0));
        Clip = Add(Opt.OptionalDouble("--clip", "gradient norm limit, 0: none" + D(o => N(o.Clip)), min: 0));
        Accumulate = Add(Opt.OptionalInt("--accumulate", "read each batch in N parts (gradient accumulation), one step per batch" + D(o => o.Accumulate.ToString(CultureInfo.InvariantCulture)), min: 1));
        Patience = Add(Opt.OptionalInt("--patience", "stop after N epochs without a better validation score, 0: never" + D(o => o.Patience.ToString(CultureInfo.InvariantCulture)), min: 0));
        CheckpointEvery = Add(Opt.OptionalInt("--checkpoint-every", "also checkpoint every N batches" + D(o => o.CheckpointEvery.ToString(CultureInfo.InvariantCulture)), min: 1));
        Precision = Add(new Option<string?>("--precision")
        {
            Description = "fp32, or bf16: forward passes under autocast in bfloat16 (for CUDA; works but is slow on most CPUs) (default: fp32)", HelpName = "fp32|bf16",
        });
        ((Option<string?>)Precision).AcceptOnlyFromAmong("fp32", "bf16");
        Threads = Add(Opt.OptionalInt("--threads", $"intra-op threads (default: {Workers.DefaultThreads}; under slovo launch: the cores shared among this machine's workers)", min: 1));
        Device = Add(Opt.Device());
    }

    private T Add<T>(T option) where T : Option
    {
        _options[option.Name] = option;
        return option;
    }

    /// <summary>The options a command takes.</summary>
    public Option[] All => _options.Values.Where(o => _taken.Contains(o.Name)).ToArray();

    /// <summary>The options themselves, for commands that read one of them directly.</summary>
    public readonly Option<int?> Epochs, Batch, Warmup, Accumulate, Patience, CheckpointEvery, Threads;

    /// <inheritdoc cref="Epochs"/>
    public readonly Option<double?> Lr, MinLr, WeightDecay, Clip;

    /// <inheritdoc cref="Epochs"/>
    public readonly Option<string?> Schedule, Precision;

    /// <inheritdoc cref="Epochs"/>
    public readonly Option<Slovo.Torch.Device?> Device;

    /// <summary>Whether <paramref name="option"/> was given on the command line.</summary>
    public static bool Given(ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    /// <summary>
    /// <paramref name="defaults"/> with every training option given on the command line, and the device resolved against this
    /// machine; validated by the record itself (a bad value is a usage error naming its option).
    /// </summary>
    public T Bind<T>(ParseResult p, T defaults) where T : TrainingOptions
    {
        ArgumentNullException.ThrowIfNull(defaults);
        TrainingOptions o = defaults;
        V? Get<V>(Option<V?> option) where V : struct => _taken.Contains(option.Name) ? p.GetValue(option) : null;
        string? GetText(Option<string?> option) => _taken.Contains(option.Name) ? p.GetValue(option) : null;
        o = o with
        {
            Epochs = Get(Epochs) ?? o.Epochs, BatchSize = Get(Batch) ?? o.BatchSize, LearningRate = Get(Lr) ?? o.LearningRate,
            MinLearningRate = Get(MinLr) ?? o.MinLearningRate, WarmupSteps = Get(Warmup) ?? o.WarmupSteps, WeightDecay = Get(WeightDecay) ?? o.WeightDecay,
            Clip = Get(Clip) ?? o.Clip, Accumulate = Get(Accumulate) ?? o.Accumulate, Patience = Get(Patience) ?? o.Patience,
            CheckpointEvery = Get(CheckpointEvery) ?? o.CheckpointEvery,
            Schedule = GetText(Schedule) switch { "cosine" => LearningRateSchedule.Cosine, "constant" => LearningRateSchedule.Constant, _ => o.Schedule },
            Autocast = GetText(Precision) switch { "bf16" => Slovo.Torch.ScalarType.BFloat16, "fp32" => null, _ => o.Autocast },
            Threads = Get(Threads) ?? o.Threads ?? (_taken.Contains(Threads.Name) ? Workers.DefaultThreads : null),
            Device = _taken.Contains(Device.Name) ? Opt.ResolveDevice(p.GetValue(Device)) : o.Device,
        };
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e)
        {
            string option = Names.FirstOrDefault(n => n.Property == e.ParamName).Option ?? "--" + Opt.Kebab(e.ParamName ?? "?");
            throw new UsageException($"{option}: {e.Message.Split(" (Parameter")[0]}");
        }
        return (T)o;
    }
}

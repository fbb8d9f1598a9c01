using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Slovo.Output;

/// <summary>
/// Console output of the programs (the `slovo` tool and the recipes link this file): the one progress printer. Results go to standard output; progress goes to standard error: live Spectre.Console
/// bars (rate, ETA, loss, lr) when standard error is a terminal, else one plain line every few seconds and at the end, so
/// CI logs and redirected runs stay readable.
/// </summary>
internal static class Ui
{
    /// <summary>Seconds between plain progress lines.</summary>
    internal const double PlainInterval = 5;

    /// <summary>True when progress is drawn live (standard error is a terminal and NO_COLOR-style dumb terminals aside).</summary>
    public static bool Live => !Quiet && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    /// <summary>No progress at all (a data-parallel worker other than rank 0, which reports for the job).</summary>
    public static bool Quiet { get; set; }

    /// <summary>Runs <paramref name="work"/> with a progress view; bars made from it are drawn until it returns.</summary>
    public static T Run<T>(Func<ProgressView, T> work)
    {
        if (!Live) return work(new ProgressView(null, null, PlainInterval));
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => work(new ProgressView(ctx, console, PlainInterval)));
    }

    /// <summary>A view that always writes plain progress lines (at most one a bar every <paramref name="seconds"/>), for long
    /// programs whose output is kept as a log (the recipes).</summary>
    public static ProgressView Plain(double seconds) => new(null, null, seconds);

    /// <summary>Runs <paramref name="work"/> with a progress view (no result).</summary>
    public static void Run(Action<ProgressView> work) => Run(v => { work(v); return 0; });

    /// <summary>Writes a table to standard output (plain ASCII borders when it is not a terminal).</summary>
    public static void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? title = null)
    {
        bool terminal = !Console.IsOutputRedirected;
        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.Ascii };
        if (title is not null) table.Title = new TableTitle(Markup.Escape(title));
        List<IReadOnlyList<string>> all = rows.ToList();
        for (int i = 0; i < header.Count; ++i)
        {
            bool numeric = all.Count > 0 && all.All(r => i < r.Count && double.TryParse(r[i].TrimEnd('%'), System.Globalization.NumberStyles.Any, System.Globalization.CultureInfo.CurrentCulture, out _));
            table.AddColumn(new TableColumn(Markup.Escape(header[i])) { Alignment = numeric ? Justify.Right : Justify.Left });
        }
        foreach (IReadOnlyList<string> row in all) table.AddRow(row.Select(c => (IRenderable)new Spectre.Console.Text(c)).ToArray());
        Stdout().Write(table);
    }

    /// <summary>A Spectre console over the current standard output (re-made per call: tests swap Console.Out).</summary>
    private static IAnsiConsole Stdout() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Out),
        Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
        ColorSystem = Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        Interactive = Console.IsOutputRedirected ? InteractionSupport.No : InteractionSupport.Detect,
    });
}

/// <summary>Where a command makes its progress bars and writes result lines while bars are live.</summary>
internal sealed class ProgressView(ProgressContext? live, IAnsiConsole? console, double interval)
{
    /// <summary>A new bar of <paramref name="total"/> steps.</summary>
    public ProgressBar Bar(string label, long total) =>
        live is null ? new ProgressBar(label, total, null, interval) : new ProgressBar(label, total, live.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total)), interval);

    /// <summary>
    /// The one progress printer of training: a bar per epoch (a new one when the epoch changes), labelled
    /// <paramref name="label"/> and the epoch, showing the batch's loss, the items per second (<paramref name="items"/>:
    /// tok, texts, ...) and, when <paramref name="showRate"/>, the learning rate.
    /// </summary>
    public Action<Slovo.Training.TrainingProgress> EpochBars(string label, string items, bool showRate = true)
    {
        ProgressBar? bar = null;
        int epoch = 0;
        return s =>
        {
            if (bar is null || epoch != s.Epoch) (bar, epoch) = (Bar($"{label}epoch {s.Epoch}", s.Batches), s.Epoch);
            bar.Report(s.Batch, $"loss {s.Loss:F3} {s.ItemsPerSecond:N0} {items}/s" + (showRate ? $" lr {s.LearningRate:G3}" : ""));
        };
    }

    /// <summary>A result line: to standard output, drawn above the live bars when both share the terminal.</summary>
    public void WriteLine(string line)
    {
        if (console is not null && !Console.IsOutputRedirected) console.WriteLine(line);
        else Console.Out.WriteLine(line);
    }
}

/// <summary>One progress bar: a live Spectre task, or plain lines on standard error.</summary>
internal sealed class ProgressBar
{
    private readonly string _label;
    private readonly long _total;
    private readonly ProgressTask? _task;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastPrint = double.NegativeInfinity;
    private long _first = -1; // the position of the first report: a resumed epoch starts part-way, and the clock starts there
    private bool _done;

    private readonly double _interval;

    internal ProgressBar(string label, long total, ProgressTask? task, double interval) => (_label, _total, _task, _interval) = (label, total, task, interval);

    /// <summary>Sets the position and the status text (e.g. "loss 1.234 5,000 tok/s lr 1e-3"). Thread-safe.</summary>
    public void Report(long done, string status)
    {
        lock (this)
        {
            if (_done) return;
            bool last = done >= _total;
            if (_task is not null)
            {
                _task.Description = Markup.Escape($"{_label} {status}");
                _task.Value = Math.Min(done, _total);
                if (last) { _task.StopTask(); _done = true; }
                return;
            }
            if (_first < 0) _first = done;
            double elapsed = _clock.Elapsed.TotalSeconds;
            if (Ui.Quiet || (!last && elapsed - _lastPrint < _interval)) return;
            _lastPrint = elapsed;
            double eta = done <= _first ? double.NaN : elapsed / (done - _first) * (_total - done);
            Console.Error.WriteLine($"{_label} {done}/{_total} {status} elapsed {Format(elapsed)} eta {(double.IsNaN(eta) ? "?" : Format(eta))}");
            _done = last;
        }
    }

    private static string Format(double seconds) =>
        seconds >= 3600 ? $"{seconds / 3600:F1}h" : seconds >= 60 ? $"{(int)seconds / 60}m{(int)seconds % 60:D2}s" : $"{seconds:F1}s";
}

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

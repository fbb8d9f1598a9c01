using System.Diagnostics;

namespace Slovo.Cli;

/// <summary>A one-line progress bar on stderr (redrawn in place on a terminal, a line every few seconds otherwise).</summary>
internal sealed class Progress(long total, string label)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private double _lastPrint = double.NegativeInfinity;

    public void Report(long done, string status)
    {
        double elapsed = _clock.Elapsed.TotalSeconds;
        bool last = done >= total;
        if (!last && elapsed - _lastPrint < (_interactive ? 0.2 : 5)) return;
        _lastPrint = elapsed;
        double frac = total == 0 ? 1 : (double)done / total;
        int width = 24, filled = (int)Math.Round(frac * width);
        double eta = done == 0 ? double.NaN : elapsed / done * (total - done);
        string line = $"{label} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{total} {status} " +
                      $"elapsed {Format(elapsed)} eta {(double.IsNaN(eta) ? "?" : Format(eta))}";
        if (_interactive) Console.Error.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 160) : 0));
        else Console.Error.WriteLine(line);
        if (last && _interactive) Console.Error.WriteLine();
    }

    private static string Format(double seconds) =>
        seconds >= 3600 ? $"{seconds / 3600:F1}h" : seconds >= 60 ? $"{(int)seconds / 60}m{(int)seconds % 60:D2}s" : $"{seconds:F1}s";
}

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SyncProgress(Action<Slovo.Tokenizers.Trainers.TrainingProgress> report) : IProgress<Slovo.Tokenizers.Trainers.TrainingProgress>
{
    public void Report(Slovo.Tokenizers.Trainers.TrainingProgress value) => report(value);
}

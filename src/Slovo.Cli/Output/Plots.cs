using ScottPlot;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.Cli.Output;

/// <summary>PNG charts drawn with ScottPlot, written atomically.</summary>
internal static class Plots
{
    /// <summary>The panels of a training-curve chart: which logged tags go together, under what axis label.</summary>
    private static readonly (string Title, string Axis, Func<string, bool> Takes)[] Panels =
    [
        ("loss", "loss (nats)", t => t.EndsWith("/loss", StringComparison.Ordinal)),
        ("perplexity", "perplexity", t => t.EndsWith("/perplexity", StringComparison.Ordinal)),
        ("bits per character", "bits/char", t => t.EndsWith("/bits_per_char", StringComparison.Ordinal)),
        ("accuracy", "accuracy", t => t.EndsWith("/accuracy", StringComparison.Ordinal)),
        ("learning rate", "learning rate", t => t.EndsWith("/lr", StringComparison.Ordinal)),
    ];

    /// <summary>
    /// Training curves from TensorBoard scalars: one panel per kind of figure that was logged (loss, perplexity, bits per
    /// character, accuracy, learning rate), each tag a line against steps. Returns the panel titles drawn.
    /// </summary>
    public static IReadOnlyList<string> Curves(string path, IReadOnlyList<ScalarEvent> scalars, string title, int width = 900, int panelHeight = 260)
    {
        var panels = Panels
            .Select(p => (p.Title, p.Axis, Tags: scalars.Select(s => s.Tag).Distinct().Where(p.Takes).Order(StringComparer.Ordinal).ToList()))
            .Where(p => p.Tags.Count > 0).ToList();
        if (panels.Count == 0) throw new InvalidDataException($"no loss, perplexity, bits/char, accuracy or learning-rate scalars to plot (tags found: {string.Join(", ", scalars.Select(s => s.Tag).Distinct())})");
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        for (int i = 0; i < panels.Count; ++i)
        {
            Plot plot = multiplot.GetPlot(i);
            foreach (string tag in panels[i].Tags)
            {
                var points = scalars.Where(s => s.Tag == tag).ToList();
                var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
                line.LegendText = tag;
                line.MarkerSize = points.Count > 40 ? 0 : 4;
            }
            plot.Title(i == 0 ? $"{title}: {panels[i].Title}" : panels[i].Title);
            plot.YLabel(panels[i].Axis);
            plot.XLabel("step");
            plot.ShowLegend();
        }
        Save(path, (file, w, h) => multiplot.SavePng(file, w, h), width, panelHeight * panels.Count);
        return panels.Select(p => p.Title).ToList();
    }

    /// <summary>Two panels: token frequency against rank (log–log), and the share of the text the top-k tokens cover.</summary>
    public static void Coverage(string path, IReadOnlyList<double> coverage, IReadOnlyList<long> frequencies)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Plot left = multiplot.GetPlot(0), right = multiplot.GetPlot(1);
        left.Add.Scatter(Enumerable.Range(1, frequencies.Count).Select(r => Math.Log10(r)).ToArray(), frequencies.Select(f => Math.Log10(f)).ToArray()).MarkerSize = 0;
        left.Title("token frequency by rank");
        left.XLabel("log10 rank");
        left.YLabel("log10 count");
        right.Add.Scatter(Enumerable.Range(1, coverage.Count).Select(k => (double)k).ToArray(), coverage.Select(c => 100 * c).ToArray()).MarkerSize = 0;
        right.Title("text covered by the top-k tokens");
        right.XLabel("k");
        right.YLabel("% of tokens");
        Save(path, (file, w, h) => multiplot.SavePng(file, w, h), 900, 640);
    }

    private static void Save(string path, Action<string, int, int> save, int width, int height)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileNameWithoutExtension(full)}.{Environment.ProcessId}.tmp.png");
        save(temp, width, height);
        AtomicFile.Write(full, s => { using FileStream f = File.OpenRead(temp); f.CopyTo(s); });
        File.Delete(temp);
    }
}

using ScottPlot;
using Slovo.Training;

namespace Slovo.Recipes;

/// <summary>One line of a chart: a name for the legend and its points.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>Small PNG charts that a recipe commits beside its README, drawn with ScottPlot.</summary>
public static class RecipeCharts
{
    /// <summary>
    /// Stacked panels, each (title, y label, lines) against <paramref name="xLabel"/>, written to <paramref name="path"/>;
    /// returns the Markdown that shows the image from the README in the same folder.
    /// </summary>
    public static string Panels(string path, string alt, string xLabel, params (string Title, string YLabel, IReadOnlyList<ChartSeries> Lines)[] panels) =>
        Panels(path, alt, panels.Select(p => (p.Title, xLabel, p.YLabel, p.Lines)).ToArray());

    /// <summary>
    /// Stacked panels, each (title, x label, y label, lines), written to <paramref name="path"/>; an axis whose values are all
    /// whole numbers (epochs) gets whole-number ticks. Returns the Markdown that shows the image from the README in the same folder.
    /// </summary>
    public static string Panels(string path, string alt, params (string Title, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Lines)[] panels)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Length);
        for (int i = 0; i < panels.Length; ++i)
        {
            Plot plot = multiplot.GetPlot(i);
            foreach (ChartSeries s in panels[i].Lines)
            {
                var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray());
                line.LegendText = s.Name;
                line.MarkerSize = s.X.Count > 30 ? 0 : 5;
            }
            plot.Title(panels[i].Title);
            plot.YLabel(panels[i].YLabel);
            plot.XLabel(panels[i].XLabel);
            if (panels[i].Lines.All(l => l.X.All(x => x == Math.Round(x))))
                plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.ShowLegend(EmptiestCorner(panels[i].Lines));
        }
        multiplot.SavePng(path, 820, 280 * panels.Length);
        return $"![{alt}]({Path.GetFileName(path)})";
    }

    // The legend goes to the corner with the fewest points of the lines under it (a corner: the outer 45% of the width and
    // 35% of the height, about what a legend of a few lines covers), upper right on a tie.
    private static Alignment EmptiestCorner(IReadOnlyList<ChartSeries> lines)
    {
        var points = lines.SelectMany(l => l.X.Zip(l.Y)).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToList();
        if (points.Count == 0) return Alignment.UpperRight;
        double x0 = points.Min(p => p.First), x1 = points.Max(p => p.First), y0 = points.Min(p => p.Second), y1 = points.Max(p => p.Second);
        double Fraction(double v, double lo, double hi) => hi > lo ? (v - lo) / (hi - lo) : 0.5;
        var corners = new (Alignment Corner, bool Right, bool Upper)[]
        {
            (Alignment.UpperRight, true, true), (Alignment.UpperLeft, false, true), (Alignment.LowerRight, true, false), (Alignment.LowerLeft, false, false),
        };
        return corners.MinBy(c => points.Count(p =>
        {
            double fx = Fraction(p.First, x0, x1), fy = Fraction(p.Second, y0, y1);
            return (c.Right ? fx >= 0.55 : fx <= 0.45) && (c.Upper ? fy >= 0.65 : fy <= 0.35);
        })).Corner;
    }

    /// <summary>Collects the mean batch loss of each epoch from a trainer's progress records.</summary>
    public sealed class EpochLosses
    {
        private readonly SortedDictionary<int, (double Sum, int Count)> _epochs = [];

        /// <summary>Pass this as the trainer's progress callback.</summary>
        public void Record(TrainingProgress p)
        {
            (double sum, int count) = _epochs.GetValueOrDefault(p.Epoch);
            _epochs[p.Epoch] = (sum + p.Loss, count + 1);
        }

        /// <summary>The line: epoch against mean batch loss.</summary>
        public ChartSeries Series(string name) =>
            new(name, _epochs.Keys.Select(e => (double)e).ToList(), _epochs.Values.Select(v => v.Sum / v.Count).ToList());
    }
}

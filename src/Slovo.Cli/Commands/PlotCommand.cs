using System.CommandLine;
using Slovo.Cli.CommandLine;
using Slovo.Cli.Output;
using Slovo.Training;

namespace Slovo.Cli.Commands;

/// <summary>`slovo plot`: training curves of a run as a PNG.</summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var run = Opt.Path("--run", "a run folder (holding tensorboard/) or the TensorBoard folder itself", required: true, helpName: "DIR");
        var output = Opt.OptionalText("--out", "the PNG to write (default: curves.png in the run folder)", "FILE.png");
        var width = Opt.Int("--width", "image width in pixels", 900, min: 200, max: 8000);
        var command = new Command("plot", "Draw a run's training and validation loss, perplexity, bits/char and learning rate against steps (PNG).")
            .With(run, output, width);
        command.SetAction(p =>
        {
            string dir = p.GetValue(run)!;
            string events = Directory.Exists(Path.Combine(dir, "tensorboard")) ? Path.Combine(dir, "tensorboard") : dir;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"no run folder at {Path.GetFullPath(dir)}; give the --out folder of 'slovo lm train' or 'slovo demo'");
            IReadOnlyList<ScalarEvent> scalars = TensorBoardReader.ReadScalars(events);
            if (scalars.Count == 0) throw new InvalidDataException($"{Path.GetFullPath(events)} holds no logged scalars (no events.out.tfevents.* files, or empty ones); train into that folder first");
            string png = p.GetValue(output) ?? Path.Combine(dir, "curves.png");
            IReadOnlyList<string> panels = Plots.Curves(png, scalars, Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')), p.GetValue(width));
            Console.WriteLine($"wrote {png}: {string.Join(", ", panels)} over {scalars.Select(s => s.Step).Max():N0} steps");
            return 0;
        });
        return command;
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Slovo.Output;

namespace Slovo.Cli.Tests;

/// <summary>The plain progress lines: the time left is estimated from the work done since the bar started.</summary>
[Collection("cli")]
public sealed class ProgressTests
{
    [Fact]
    public void AResumedEpochEstimatesTheTimeLeftFromTheBatchesThisRunDid()
    {
        TextWriter old = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            // An epoch of 3,000 batches resumed at batch 1,000: 100 batches in about 0.2 s leave 1,900 batches, about 3.8 s.
            var bar = new ProgressBar("resumed", 3000, task: null, interval: 0);
            bar.Report(1000, "");
            Thread.Sleep(200);
            bar.Report(1100, "");
        }
        finally { Console.SetError(old); }
        string line = err.ToString().Split('\n').Last(l => l.StartsWith("resumed 1100/3000", StringComparison.Ordinal));
        Match eta = Regex.Match(line, @"eta (\d+\.\d)s");
        Assert.True(eta.Success, line);
        double seconds = double.Parse(eta.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 3.5, 60); // counted from batch 0 it would be about 0.35 s
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the commands write to the console; run these one at a time
public class LaunchCommandTests
{
    private static string FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void LaunchRunsWorkersThatMeetAndStopsThemAllWhenOneFails()
    {
        string ok = Cli.Ok("launch", "--nproc", "2", "--master-port", FreePort(), "--", "dist", "check");
        Assert.Contains("[rank 0] rank 0 of 2: all-reduce ok (sum of 1..2 = 3)", ok);
        Assert.Contains("[rank 1] rank 1 of 2: all-reduce ok", ok);

        // Rank 1 fails at once; ranks 0 and 2 would wait for it for a minute, but the launcher stops them and names rank 1.
        var clock = Stopwatch.StartNew();
        string failed = Cli.Fails(1, ["launch", "--nproc", "3", "--master-port", FreePort(), "--", "dist", "check", "--fail-rank", "1"]);
        Assert.Contains("slovo launch: rank 1 failed (exit code 1): slovo dist check: rank 1 fails on purpose", failed);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:F0} s");

        Assert.Contains("WORLD_SIZE is not set", Cli.Fails(2, ["dist", "check"]));
        Assert.Contains("--node-rank 2 is outside --nnodes 2", Cli.Fails(2, ["launch", "--nnodes", "2", "--node-rank", "2", "--", "dist", "check"]));
    }
}

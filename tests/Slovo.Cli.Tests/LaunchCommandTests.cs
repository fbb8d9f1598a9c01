using System.Diagnostics;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the commands write to the console; run these one at a time
public class LaunchCommandTests
{
    private static string FreePort() => Slovo.TestSupport.TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);

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

        // A worker killed mid-run (SIGKILL after the first all-reduce, while rank 0 waits in a barrier): named, and the job stops.
        clock.Restart();
        string killed = Cli.Fails(1, ["launch", "--nproc", "2", "--master-port", FreePort(), "--", "dist", "check", "--kill-rank", "1"]);
        Assert.Contains("slovo launch: rank 1 failed (exit code 137: killed by signal 9)", killed);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:F0} s");

        Assert.Contains("WORLD_SIZE is not set", Cli.Fails(2, ["dist", "check"]));
        Assert.Contains("--model bert fine-tunes in one process; run it without 'slovo launch'",
                        Cli.Fails(1, ["launch", "--nproc", "2", "--master-port", FreePort(), "--", "classify", "train", "--model", "bert", "--init", "no-such-dir"]));
        Assert.Contains("--node-rank 2 is outside --nnodes 2", Cli.Fails(2, ["launch", "--nnodes", "2", "--node-rank", "2", "--", "dist", "check"]));
    }

    private static double BestLoss(string run)
    {
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        return summary.RootElement.GetProperty("best").GetProperty("loss").GetDouble();
    }

    [Fact]
    public void LmTrainRunsDataParallelUnderLaunchAndItsRunResumesOnlyWithAsManyProcesses()
    {
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-ddp").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Take(300));
        string[] Train(string run, string epochs, params string[] more) =>
            ["lm", "train", "--data", data, "--format", "lines", "--level", "char", "--emb", "8", "--hidden", "16", "--dropout", "0", "--batch", "7",
             "--bptt", "16", "--epochs", epochs, "--out", run, .. more];
        string single = Directory.CreateTempSubdirectory("slovo-ddp-1").FullName, parallel = Directory.CreateTempSubdirectory("slovo-ddp-2").FullName;
        Cli.Ok([.. Train(single, "1"), "--threads", "1"]);
        string log = Cli.Ok(["launch", "--nproc", "2", "--master-port", FreePort(), "--", .. Train(parallel, "1")]);
        Assert.Contains("[rank 0] data-parallel: 2 processes, each reading its share of every batch of 7", log);
        Assert.Contains("[rank 0] epoch 1: train loss", log);
        Assert.DoesNotContain("[rank 1]", log);                                       // rank 0 reports for the job
        Assert.Equal(BestLoss(single), BestLoss(parallel), 1e-4);                      // the same training, summed in another order
        foreach (string f in new[] { "model.safetensors", "checkpoint.safetensors", "vocab.json", "summary.json" })
            Assert.True(File.Exists(Path.Combine(parallel, f)), f);

        // One process may not continue a two-process run; two may, and do.
        string refused = Cli.Fails(1, [.. Train(parallel, "2"), "--resume"]);
        Assert.Contains("written by a run of 2 process(es) and this one has 1: resume it with the same number (slovo launch --nproc 2)", refused);
        string resumed = Cli.Ok(["launch", "--nproc", "2", "--master-port", FreePort(), "--", .. Train(parallel, "2"), "--resume"]);
        Assert.Contains("[rank 0] epoch 2: train loss", resumed);
        Assert.DoesNotContain("epoch 1: train loss", resumed);
    }
}

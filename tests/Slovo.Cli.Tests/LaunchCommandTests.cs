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
    [Fact]
    public void MaxRestartsStartsTheWorkersAgainAfterOneIsKilledAndTheModelIsTheUninterruptedRunsByte_for_byte()
    {
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-elastic").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Take(300));
        string[] Train(string run) =>
            ["lm", "train", "--data", data, "--format", "lines", "--level", "char", "--emb", "8", "--hidden", "16", "--dropout", "0", "--batch", "7",
             "--bptt", "16", "--epochs", "3", "--checkpoint-every", "4", "--threads", "1", "--out", run];
        string whole = Directory.CreateTempSubdirectory("slovo-elastic-a").FullName, restarted = Directory.CreateTempSubdirectory("slovo-elastic-b").FullName;
        Cli.Ok(["launch", "--nproc", "2", "--master-port", FreePort(), "--", .. Train(whole)]);

        // The same job as its own process; once a mid-epoch checkpoint of epoch 2 exists, rank 1's worker is killed (SIGKILL).
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll"), "launch", "--nproc", "2", "--max-restarts", "1", "--master-port", FreePort(), "--" }
                     .Concat(Train(restarted))) start.ArgumentList.Add(a);
        using Process launcher = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        launcher.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        launcher.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        launcher.BeginOutputReadLine();
        launcher.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        string checkpoint = Path.Combine(restarted, "checkpoint.safetensors");
        while (clock.Elapsed.TotalSeconds < 120 && !launcher.HasExited && !(log.ToString().Contains("epoch 1: train loss") && File.Exists(checkpoint)
                                                                            && File.GetLastWriteTimeUtc(checkpoint) > DateTime.UtcNow.AddSeconds(-5)))
            Thread.Sleep(20);
        Thread.Sleep(Random.Shared.Next(50, 400)); // somewhere between two checkpoints
        int rank1 = MultiNodeTests.Children(launcher.Id).First(pid => File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains("RANK=1"));
        using (Process kill = Process.Start("kill", ["-KILL", rank1.ToString()])!) kill.WaitForExit();
        Assert.True(launcher.WaitForExit(180_000), $"the job did not finish:\n{log}");
        launcher.WaitForExit();
        Assert.True(launcher.ExitCode == 0, log.ToString());
        Assert.Contains("slovo launch: rank 1 failed (exit code 137: killed by signal 9)", log.ToString());
        Assert.Contains("starts them all again (restart 1 of 1)", log.ToString());
        Assert.Contains("[rank 0] resuming from", log.ToString()); // the restarted workers continue from the checkpoint, not from the start
        Assert.Contains("[rank 0] epoch 3: train loss", log.ToString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model.safetensors")), File.ReadAllBytes(Path.Combine(restarted, "model.safetensors")));
    }
}

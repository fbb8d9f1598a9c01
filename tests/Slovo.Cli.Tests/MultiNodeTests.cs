using System.Diagnostics;
using System.Text;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

/// <summary>A test that makes network namespaces: it needs root and iproute2's ip; skipped, with the reason, elsewhere.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (Environment.UserName != "root") Skip = "needs root to make network namespaces (CI runs as root)";
        else if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip")) Skip = "needs iproute2's ip (apt-get install -y iproute2)";
    }
}

/// <summary>
/// Two hosts on one machine: network namespaces joined by a veth pair, at 10.231.K.1 and 10.231.K.2, with nothing else
/// (traffic stays between them). Disposing removes both namespaces and the pair.
/// </summary>
internal sealed class TwoHosts : IDisposable
{
    private static int s_count;
    private readonly string[] _names, _links;

    public TwoHosts()
    {
        int id = (Environment.ProcessId % 1000) * 10 + Interlocked.Increment(ref s_count) % 10, subnet = id % 250;
        _names = [$"slovo{id}a", $"slovo{id}b"];
        _links = [$"slv{id}a", $"slv{id}b"];
        Addresses = [$"10.231.{subnet}.1", $"10.231.{subnet}.2"];
        Remove();
        Ip("link", "add", _links[0], "type", "veth", "peer", "name", _links[1]);
        for (int i = 0; i < 2; ++i)
        {
            Ip("netns", "add", _names[i]);
            Ip("link", "set", _links[i], "netns", _names[i]);
            Ip("-n", _names[i], "addr", "add", Addresses[i] + "/24", "dev", _links[i]);
            Ip("-n", _names[i], "link", "set", "lo", "up");
            Ip("-n", _names[i], "link", "set", _links[i], "up");
        }
    }

    public string[] Addresses { get; }

    /// <summary>Starts `slovo ARGS` on host <paramref name="host"/>, standard output and error collected into <paramref name="log"/>.</summary>
    public Process Slovo(int host, StringBuilder log, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "netns", "exec", _names[host], "dotnet", Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll") }.Concat(args)) start.ArgumentList.Add(a);
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        void Add(string? line) { if (line is not null) lock (log) log.AppendLine(line); }
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Takes host 1's end of the link down: the hosts no longer reach each other.</summary>
    public void CutLink() => Ip("-n", _names[1], "link", "set", _links[1], "down");

    private static void Ip(params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using Process ip = Process.Start(start)!;
        string error = ip.StandardError.ReadToEnd();
        Assert.True(ip.WaitForExit(10_000), $"ip {string.Join(' ', args)} hung");
        Assert.True(ip.ExitCode == 0, $"ip {string.Join(' ', args)}: {error}");
    }

    private void Remove()
    {
        foreach (string name in _names)
        {
            using Process? ip = Process.Start(new ProcessStartInfo("ip", ["netns", "del", name]) { RedirectStandardError = true, UseShellExecute = false });
            ip?.WaitForExit(10_000);
        }
    }

    public void Dispose() => Remove(); // deleting a namespace deletes its end of the pair, and with it the pair
}

/// <summary>`slovo launch --nnodes 2` with each node in its own network namespace: as two hosts, and when the link or a worker fails.</summary>
[Collection("cli")]
public sealed class MultiNodeTests
{
    private static string Port() => Slovo.TestSupport.TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Data()
    {
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-nodes").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Take(300));
        return data;
    }

    private static string[] Train(string data, string run, string epochs) =>
        ["lm", "train", "--data", data, "--format", "lines", "--level", "char", "--emb", "8", "--hidden", "16", "--dropout", "0", "--batch", "7",
         "--bptt", "16", "--epochs", epochs, "--threads", "1", "--out", run];

    private static string[] Launch(TwoHosts hosts, int node, string port, string[] command) =>
        ["launch", "--nnodes", "2", "--node-rank", node.ToString(System.Globalization.CultureInfo.InvariantCulture), "--nproc", "1",
         "--master-addr", hosts.Addresses[0], "--master-port", port, "--local-addr", hosts.Addresses[node], "--", .. command];

    private static void Finish(Process p, StringBuilder log, int seconds)
    {
        if (p.WaitForExit(seconds * 1000)) { p.WaitForExit(); return; }
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
        throw new Xunit.Sdk.XunitException($"a node did not finish in {seconds} s:\n{log}");
    }

    [NetnsFact]
    public void TwoNodesTrainAsOneProcessDoesOnTheJoinedBatches()
    {
        using var hosts = new TwoHosts();
        string port = Port();
        var logs = new[] { new StringBuilder(), new StringBuilder() };
        using (Process check1 = hosts.Slovo(1, logs[1], null, Launch(hosts, 1, port, ["dist", "check", "--timeout", "60"])))
        using (Process check0 = hosts.Slovo(0, logs[0], null, Launch(hosts, 0, port, ["dist", "check", "--timeout", "60"])))
        {
            Finish(check0, logs[0], 120);
            Finish(check1, logs[1], 120);
            Assert.True(check0.ExitCode == 0 && check1.ExitCode == 0, $"{logs[0]}\n{logs[1]}");
            Assert.Contains("[rank 1] rank 1 of 2: all-reduce ok (sum of 1..2 = 3)", logs[1].ToString());
        }

        string data = Data();
        string single = Directory.CreateTempSubdirectory("slovo-nodes-1").FullName;
        string[] runs = [Directory.CreateTempSubdirectory("slovo-nodes-r0").FullName, Directory.CreateTempSubdirectory("slovo-nodes-r1").FullName];
        Cli.Ok(Train(data, single, "1"));
        port = Port();
        logs = [new StringBuilder(), new StringBuilder()];
        using (Process node1 = hosts.Slovo(1, logs[1], null, Launch(hosts, 1, port, Train(data, runs[1], "1"))))
        using (Process node0 = hosts.Slovo(0, logs[0], null, Launch(hosts, 0, port, Train(data, runs[0], "1"))))
        {
            Finish(node0, logs[0], 300);
            Finish(node1, logs[1], 300);
            Assert.True(node0.ExitCode == 0 && node1.ExitCode == 0, $"{logs[0]}\n{logs[1]}");
        }
        Assert.Contains("[rank 0] data-parallel: 2 processes, each reading its share of every batch of 7", logs[0].ToString());
        // Rank 0 writes the run; its weights are the single process's, summed in another order.
        using var scope = DisposeScope.Begin();
        Dictionary<string, Tensor> one = SafeTensors.Load(Path.Combine(single, "model.safetensors")), two = SafeTensors.Load(Path.Combine(runs[0], "model.safetensors"));
        Assert.Equal(one.Keys.Order(), two.Keys.Order());
        double worst = one.Keys.Max(k => one[k].Sub(two[k]).Abs().Max().ToDouble());
        Assert.True(worst < 1e-6, $"max |Δ| {worst:g3} between the two-node run and one process");
    }

    [NetnsFact]
    public void ACutLinkOrAKilledWorkerStopsEveryNodeWithinTheTimeoutNamingThePeer()
    {
        string data = Data();
        var environment = new Dictionary<string, string> { ["SLOVO_DIST_TIMEOUT"] = "15" };
        foreach (string fault in new[] { "link", "kill" })
        {
            using var hosts = new TwoHosts(); // a link of its own: the first fault leaves its link down
            string port = Port();
            var logs = new[] { new StringBuilder(), new StringBuilder() };
            string[] runs = [Directory.CreateTempSubdirectory("slovo-fault-r0").FullName, Directory.CreateTempSubdirectory("slovo-fault-r1").FullName];
            using Process node1 = hosts.Slovo(1, logs[1], environment, Launch(hosts, 1, port, Train(data, runs[1], "200")));
            using Process node0 = hosts.Slovo(0, logs[0], environment, Launch(hosts, 0, port, Train(data, runs[0], "200")));
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < 120 && !node0.HasExited && !logs[0].ToString().Contains("epoch 1: train loss")) Thread.Sleep(50);
            Assert.True(logs[0].ToString().Contains("epoch 1: train loss"), $"training did not get going:\n{logs[0]}\n{logs[1]}");
            if (fault == "link") hosts.CutLink();
            else
            {
                // node 1's worker: the launcher's child process (the launcher runs under ip netns exec).
                int worker = Children(node1.Id).SelectMany(Children).Concat(Children(node1.Id)).First(pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("lm\0train"));
                using Process kill = Process.Start("kill", ["-KILL", worker.ToString()])!;
                kill.WaitForExit();
            }
            clock.Restart();
            Finish(node0, logs[0], 60);
            Finish(node1, logs[1], 60);
            double took = clock.Elapsed.TotalSeconds;
            Assert.True(node0.ExitCode != 0 && node1.ExitCode != 0, $"{fault}: exit codes {node0.ExitCode} and {node1.ExitCode}\n{logs[0]}\n{logs[1]}");
            Assert.True(took < 45, $"{fault}: the nodes took {took:F0} s to stop (the timeout is 15 s)");
            Assert.Contains("slovo launch: rank 0 failed", logs[0].ToString());
            Assert.True(logs[0].ToString().Contains(hosts.Addresses[1]), $"{fault}: rank 0 does not name the peer it lost:\n{logs[0]}\n{logs[1]}");
        }
    }

    /// <summary>The child processes of <paramref name="pid"/> (Linux's /proc).</summary>
    internal static IEnumerable<int> Children(int pid)
    {
        string path = $"/proc/{pid}/task/{pid}/children";
        return File.Exists(path) ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray() : [];
    }
}

using System.CommandLine;
using System.Diagnostics;
using Slovo.Cli.CommandLine;
using Slovo.Torch;
using Slovo.Torch.Distributed;

namespace Slovo.Cli.Commands;

/// <summary>
/// `slovo launch`: torchrun for slovo commands (N processes per node with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
/// MASTER_PORT set; one failing worker stops the others), and `slovo dist check`: a one-all-reduce test of a setup.
/// </summary>
internal static class DistCommand
{
    public static Command LaunchCommand()
    {
        var nproc = Opt.Int("--nproc", "worker processes on this node", 2, min: 1);
        var nnodes = Opt.Int("--nnodes", "nodes in the job", 1, min: 1);
        var nodeRank = Opt.Int("--node-rank", "this node's index, 0 to nnodes - 1", 0, min: 0);
        var address = Opt.Text("--master-addr", "where rank 0 listens (node 0's address)", "127.0.0.1", "ADDRESS");
        var port = Opt.Int("--master-port", "the port rank 0 listens on", 29500, min: 1, max: 65535);
        var restarts = Opt.Int("--max-restarts", "when a worker fails: stop every worker on this node and start them again, at most this many times " +
                                                 "(a training command resumes from its last checkpoint; torchrun's --max-restarts)", 0, min: 0);
        var local = Opt.OptionalText("--local-addr", "the address the other nodes reach this node's workers at (default: --master-addr on node 0 of several, " +
                                                     "else what this machine's hostname resolves to)", "ADDRESS");
        var command = new Argument<string[]>("command") { Description = "the slovo command each worker runs (after --)", Arity = ArgumentArity.OneOrMore };
        var launch = new Command("launch", "Run a slovo command as N data-parallel workers (torchrun-style): sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; " +
                                           "a failing worker stops the others and its message is reported.").With(nproc, nnodes, nodeRank, address, port, local, restarts);
        launch.Add(command);
        launch.SetAction(p =>
        {
            int n = p.GetValue(nproc), nodes = p.GetValue(nnodes), node = p.GetValue(nodeRank);
            if (node >= nodes) throw new UsageException($"--node-rank {node} is outside --nnodes {nodes} (0 to {nodes - 1})");
            string master = p.GetValue(address)!;
            string? localAddress = p.GetValue(local) ?? (nodes > 1 && node == 0 ? master : null);
            int allowed = p.GetValue(restarts);
            for (int restart = 0; ; ++restart)
            {
                (int code, string? failure) = Launch(p.GetValue(command)!, n, nodes, node, master, p.GetValue(port), localAddress, restart);
                if (failure is null) return code;
                if (restart == allowed)
                {
                    Console.Error.WriteLine($"slovo launch: {failure}; stopped the other workers" + (allowed > 0 ? $" (after {allowed} restart(s), --max-restarts)" : ""));
                    return code;
                }
                Console.Error.WriteLine($"slovo launch: {failure}; stopped the other workers and starts them all again (restart {restart + 1} of {allowed})");
            }
        });
        return launch;
    }

    public static Command CheckCommand()
    {
        var failRank = Opt.OptionalInt("--fail-rank", "this rank exits with an error at once (to see how a job handles a failing worker)", min: 0);
        var killRank = Opt.OptionalInt("--kill-rank", "this rank kills itself (SIGKILL) after the first all-reduce, while the others wait in a second one " +
                                                     "(to see how a job handles a worker that dies mid-run)", min: 0);
        var timeout = Opt.Double("--timeout", "seconds to wait for every rank", 60, min: 1);
        var check = new Command("check", "Join the job (under 'slovo launch') and all-reduce one number: shows that every rank can reach the others.").With(failRank, killRank, timeout);
        check.SetAction(p =>
        {
            WorkerEnvironment env = WorkerEnvironment.Current() ?? throw new UsageException("WORLD_SIZE is not set: run it as 'slovo launch --nproc 2 -- dist check'");
            if (p.GetValue(failRank) == env.Rank) throw new InvalidDataException($"rank {env.Rank} fails on purpose (--fail-rank {env.Rank})");
            using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, env.Rank, env.WorldSize, env.MasterAddress, env.MasterPort, TimeSpan.FromSeconds(p.GetValue(timeout)), env.LocalAddress);
            using Tensor x = Tensor.From(new float[] { env.Rank + 1 }, 1);
            group.AllReduce(x);
            float sum = x.ToArray<float>()[0], expected = env.WorldSize * (env.WorldSize + 1) / 2f;
            if (sum != expected) throw new InvalidDataException($"rank {env.Rank}: the all-reduce gave {sum}, not {expected}");
            if (p.GetValue(killRank) == env.Rank) Process.GetCurrentProcess().Kill();
            group.Barrier();
            Console.WriteLine($"rank {env.Rank} of {env.WorldSize}: all-reduce ok (sum of 1..{env.WorldSize} = {sum})");
            return 0;
        });
        var dist = new Command("dist", "Distributed helpers (see also 'slovo launch').");
        dist.Add(check);
        return dist;
    }

    /// <summary>The variable that tells a worker how many times the launcher has restarted the job (torchrun's TORCHELASTIC_RESTART_COUNT).</summary>
    public const string RestartVariable = "SLOVO_RESTART_COUNT";

    // Starts the workers, forwards their output (prefixed with the rank), and stops them all when one fails or on Ctrl+C.
    // Returns the exit code, and what failed when a worker did (null otherwise).
    private static (int Code, string? Failure) Launch(string[] args, int n, int nodes, int node, string address, int port, string? localAddress, int restart)
    {
        string cli = typeof(DistCommand).Assembly.Location;
        string host = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        int world = n * nodes;
        var workers = new List<(int Rank, Process Process, Queue<string> Tail)>();
        // Once the job is being stopped, what the other workers say as they lose their peers is noise: it is dropped.
        bool stopping = false;
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (a scheduler stopping the job) stops the workers too, as Ctrl+C does.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        try
        {
            for (int local = 0; local < n; ++local)
            {
                int rank = node * n + local;
                var info = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                info.ArgumentList.Add(cli);
                foreach (string a in args) info.ArgumentList.Add(a);
                foreach ((string name, string value) in new WorkerEnvironment(rank, local, world, address, port) { LocalAddress = localAddress }.Variables(localWorldSize: n))
                    info.Environment[name] = value;
                info.Environment[RestartVariable] = restart.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var process = new Process { StartInfo = info };
                var tail = new Queue<string>();
                string prefix = world > 1 ? $"[rank {rank}] " : "";
                process.OutputDataReceived += (_, e) => { if (e.Data is not null && !Volatile.Read(ref stopping)) Console.Out.WriteLine(prefix + e.Data); };
                process.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is null) return;
                    lock (tail) { tail.Enqueue(e.Data); if (tail.Count > 20) tail.Dequeue(); }
                    if (!Volatile.Read(ref stopping)) Console.Error.WriteLine(prefix + e.Data);
                };
                process.Start();
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                workers.Add((rank, process, tail));
            }
            while (true)
            {
                if (stop.IsCancellationRequested)
                {
                    Volatile.Write(ref stopping, true);
                    StopAll(workers.Select(w => w.Process));
                    Console.Error.WriteLine("slovo launch: interrupted; stopped every worker");
                    return (130, null);
                }
                var failed = workers.FirstOrDefault(w => w.Process.HasExited && w.Process.ExitCode != 0);
                if (failed.Process is not null)
                {
                    failed.Process.WaitForExit();           // its output is read to the end
                    Volatile.Write(ref stopping, true);
                    StopAll(workers.Where(w => w.Process != failed.Process).Select(w => w.Process));
                    string why;
                    lock (failed.Tail) why = failed.Tail.LastOrDefault(l => l.Trim().Length > 0) ?? "(no message)";
                    int code = failed.Process.ExitCode;
                    string how = code > 128 ? $"exit code {code}: killed by signal {code - 128}" : $"exit code {code}";
                    return (SlovoCli.Failure, $"rank {failed.Rank} failed ({how}): {why}");
                }
                if (workers.All(w => w.Process.HasExited))
                {
                    foreach (var w in workers) w.Process.WaitForExit();
                    return (0, null);
                }
                Thread.Sleep(50);
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            foreach (var w in workers) w.Process.Dispose();
        }
    }

    private static void StopAll(IEnumerable<Process> processes)
    {
        foreach (Process p in processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }
        foreach (Process p in processes) p.WaitForExit(10_000);
    }
}

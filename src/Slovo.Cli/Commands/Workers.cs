using Slovo.Output;
using Slovo.Torch;
using Slovo.Torch.Distributed;

namespace Slovo.Cli.Commands;

/// <summary>
/// What a training command does differently as one worker of `slovo launch`: it joins the job's process group (Gloo) from
/// the environment torchrun's way (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), and every rank but 0 keeps quiet (no
/// progress, no result lines; errors still go to standard error), since rank 0 reports for the job and writes its files.
/// </summary>
internal static class Workers
{
    /// <summary>How long a worker waits for the others to join (SLOVO_DIST_TIMEOUT seconds; default 300).</summary>
    public static TimeSpan JoinTimeout =>
        double.TryParse(Environment.GetEnvironmentVariable("SLOVO_DIST_TIMEOUT"), System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether this worker was started again by <c>slovo launch --max-restarts</c> after a failure and <paramref name="run"/> has a
    /// checkpoint to continue from: a training command then resumes as with --resume.
    /// </summary>
    public static bool Restarted(string run) =>
        int.TryParse(Environment.GetEnvironmentVariable(DistCommand.RestartVariable), out int restart) && restart > 0
        && File.Exists(Path.Combine(run, Slovo.Training.RunFolder.CheckpointFile));

    /// <summary>The default of --threads: this machine's cores shared among the workers on it (all of them outside a job).</summary>
    public static int DefaultThreads =>
        Math.Max(1, Environment.ProcessorCount / Math.Max(1, int.TryParse(Environment.GetEnvironmentVariable(WorkerEnvironment.LocalWorldSizeVariable), out int n) ? n : 1));

    /// <summary>
    /// The job's process group when this process is one of several workers (null when run alone or in a job of one); ranks
    /// other than 0 are made quiet. <paramref name="device"/> must be the CPU: Gloo moves CPU tensors and this build has no NCCL.
    /// </summary>
    public static ProcessGroup? Join(Device device)
    {
        if (WorkerEnvironment.Current() is not { WorldSize: > 1 } env) return null;
        if (device.Type != DeviceType.CPU)
            throw new UsageException($"data-parallel training runs on the CPU over Gloo (this build has no NCCL for {device}); drop --device under 'slovo launch'");
        ProcessGroup group = ProcessGroup.Init(Backend.Gloo, env.Rank, env.WorldSize, env.MasterAddress, env.MasterPort, JoinTimeout, env.LocalAddress);
        if (env.Rank > 0)
        {
            Ui.Quiet = true;
            Console.SetOut(TextWriter.Null);
        }
        return group;
    }
}

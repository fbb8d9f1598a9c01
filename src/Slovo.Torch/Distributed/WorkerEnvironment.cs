namespace Slovo.Torch.Distributed;

/// <summary>
/// Where one worker of a data-parallel job stands, as a torchrun-style launcher tells it through the environment: its rank
/// overall and on its node, the number of workers, and where rank 0 listens. A launcher sets these variables; a worker reads
/// them with <see cref="Current"/> and joins the group with <see cref="ProcessGroup.Init"/>.
/// </summary>
/// <param name="Rank">This worker's rank in the job, 0 to <paramref name="WorldSize"/> - 1.</param>
/// <param name="LocalRank">Its rank among the workers of its node.</param>
/// <param name="WorldSize">Workers in the job.</param>
/// <param name="MasterAddress">Where rank 0 listens.</param>
/// <param name="MasterPort">The port rank 0 listens on.</param>
public sealed record WorkerEnvironment(int Rank, int LocalRank, int WorldSize, string MasterAddress, int MasterPort)
{
    /// <summary>The variable names, as torchrun sets them.</summary>
    public const string RankVariable = "RANK", LocalRankVariable = "LOCAL_RANK", WorldSizeVariable = "WORLD_SIZE", LocalWorldSizeVariable = "LOCAL_WORLD_SIZE",
        MasterAddressVariable = "MASTER_ADDR", MasterPortVariable = "MASTER_PORT";

    /// <summary>The variable of <see cref="LocalAddress"/>.</summary>
    public const string LocalAddressVariable = "SLOVO_LOCAL_ADDR";

    /// <summary>The address the other ranks reach this worker at (its node's address on the network the job runs over); null:
    /// what this machine's hostname resolves to.</summary>
    public string? LocalAddress { get; init; }

    /// <summary>The worker this process is, from the environment; null when <c>WORLD_SIZE</c> is absent (the process runs alone).
    /// A variable that is not a number is an <see cref="InvalidOperationException"/> naming it.</summary>
    public static WorkerEnvironment? Current()
    {
        if (Environment.GetEnvironmentVariable(WorldSizeVariable) is not { } world) return null;
        static int Int(string name, string? text) => int.TryParse(text, out int v) ? v
            : throw new InvalidOperationException($"{name}='{text}' is not a number; it is set by the launcher that starts the workers");
        return new WorkerEnvironment(Int(RankVariable, Environment.GetEnvironmentVariable(RankVariable)),
                                     Int(LocalRankVariable, Environment.GetEnvironmentVariable(LocalRankVariable) ?? "0"),
                                     Int(WorldSizeVariable, world), Environment.GetEnvironmentVariable(MasterAddressVariable) ?? "127.0.0.1",
                                     Int(MasterPortVariable, Environment.GetEnvironmentVariable(MasterPortVariable) ?? "29500"))
        {
            LocalAddress = Environment.GetEnvironmentVariable(LocalAddressVariable) is { Length: > 0 } local ? local : null,
        };
    }

    /// <summary>The variables a launcher sets for this worker (and <c>LOCAL_WORLD_SIZE</c>, the workers on its node).</summary>
    public IReadOnlyDictionary<string, string> Variables(int localWorldSize)
    {
        var variables = new Dictionary<string, string>
        {
        [RankVariable] = Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [LocalRankVariable] = LocalRank.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [WorldSizeVariable] = WorldSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [LocalWorldSizeVariable] = localWorldSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [MasterAddressVariable] = MasterAddress,
        [MasterPortVariable] = MasterPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (LocalAddress is not null) variables[LocalAddressVariable] = LocalAddress;
        return variables;
    }
}

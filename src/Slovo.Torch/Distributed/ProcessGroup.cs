using System.Text;
using Slovo.Torch.Native;

namespace Slovo.Torch.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce(Tensor, ReduceOp)"/> combines the ranks' tensors.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum = 0,
    /// <summary>Element-wise mean over the ranks (a sum divided by the world size).</summary>
    Average = 1,
    /// <summary>Element-wise product.</summary>
    Product = 2,
    /// <summary>Element-wise minimum.</summary>
    Min = 3,
    /// <summary>Element-wise maximum.</summary>
    Max = 4,
}

/// <summary>A communication backend of torch's c10d.</summary>
public enum Backend
{
    /// <summary>Gloo: CPU tensors, over TCP.</summary>
    Gloo = 0,
    /// <summary>NCCL: CUDA tensors (needs a CUDA build of libtorch with NCCL).</summary>
    Nccl = 1,
}

/// <summary>
/// torch's c10d key-value store over TCP, where the processes of a job find each other: rank 0 listens at the address,
/// the others connect to it, waiting up to the timeout.
/// </summary>
public sealed unsafe class TcpStore : IDisposable
{
    private IntPtr _handle;

    /// <summary>Opens the store at <paramref name="host"/>:<paramref name="port"/> for <paramref name="worldSize"/> processes.</summary>
    public TcpStore(string host, int port, int worldSize, bool isServer, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "must lie in [0, 65535]");
        NativeLibraryLoader.EnsureLoaded();
        IntPtr h;
        fixed (byte* name = Encoding.UTF8.GetBytes(host + "\0"))
            NativeLibraryLoader.Check(NativeMethods.slovo_store_tcp_new(name, port, worldSize, isServer ? 1 : 0, (long)timeout.TotalMilliseconds, &h));
        _handle = h;
        (Host, Port) = (host, port);
    }

    /// <summary>The address.</summary>
    public string Host { get; }

    /// <summary>The port.</summary>
    public int Port { get; }

    internal IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(TcpStore));

    /// <inheritdoc />
    public void Dispose()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.slovo_store_free(h);
    }
}

/// <summary>
/// The processes of one job, each with its rank, talking through torch's c10d (the engine of torch.distributed):
/// all-reduce, broadcast, all-gather and barrier on tensors, in place. Every rank must make the same calls in the same
/// order. Collectives block until they are done; a peer that stops answering turns into a <see cref="TorchException"/>
/// after the group's timeout, never a hang.
/// </summary>
public sealed unsafe class ProcessGroup : IDisposable
{
    private IntPtr _handle;
    private readonly TcpStore? _ownedStore;

    private ProcessGroup(IntPtr handle, int rank, int worldSize, Backend backend, TcpStore? ownedStore)
    {
        (_handle, Rank, WorldSize, Backend, _ownedStore) = (handle, rank, worldSize, backend, ownedStore);
    }

    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> − 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes.</summary>
    public int WorldSize { get; }

    /// <summary>The backend.</summary>
    public Backend Backend { get; }

    /// <summary>Whether the loaded shim has <paramref name="backend"/>.</summary>
    public static bool IsAvailable(Backend backend)
    {
        NativeLibraryLoader.EnsureLoaded();
        return NativeMethods.slovo_dist_has_backend((int)backend) != 0;
    }

    /// <summary>
    /// Joins the group of <paramref name="worldSize"/> processes that meet at <paramref name="masterAddress"/>:<paramref name="masterPort"/>
    /// (rank 0 hosts the store there). Waits up to <paramref name="timeout"/> (default 5 minutes) for everyone, then fails
    /// with a message naming the address. <paramref name="hostname"/> is the address the other ranks reach this one at
    /// (default, as torch.distributed: the address this machine's name resolves to, or the loopback address when it resolves
    /// to none; on a machine whose name maps to a loopback address, give its network address for a job across machines).
    /// </summary>
    public static ProcessGroup Init(Backend backend, int rank, int worldSize, string masterAddress, int masterPort, TimeSpan? timeout = null, string? hostname = null)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "must be at least 1");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"must lie in [0, {worldSize})");
        if (backend == Backend.Nccl)
            throw new NotSupportedException("NCCL is not in this build of Slovo's native shim; use Backend.Gloo (CPU tensors)");
        if (!IsAvailable(backend))
            throw new NotSupportedException("this build of Slovo's native shim has no Gloo. HINT: apt-get install -y libgloo-dev, then rebuild (rm -rf native/build && dotnet build)");
        TimeSpan wait = timeout ?? TimeSpan.FromMinutes(5);
        TcpStore store;
        try { store = new TcpStore(masterAddress, masterPort, worldSize, rank == 0, wait); }
        catch (TorchException e)
        {
            throw new TorchException($"rank {rank} could not reach the store at {masterAddress}:{masterPort} within {wait.TotalSeconds:0} s " +
                                     $"(is rank 0 running, and MASTER_ADDR/MASTER_PORT the same everywhere?): {e.Message}", e);
        }
        try { return Create(store, rank, worldSize, wait, hostname, ownsStore: true); }
        catch { store.Dispose(); throw; }
    }

    /// <summary>A group over an existing <paramref name="store"/> (which must outlive it).</summary>
    public static ProcessGroup Create(TcpStore store, int rank, int worldSize, TimeSpan timeout, string? hostname = null) =>
        Create(store, rank, worldSize, timeout, hostname, ownsStore: false);

    private static ProcessGroup Create(TcpStore store, int rank, int worldSize, TimeSpan timeout, string? hostname, bool ownsStore)
    {
        IntPtr h;
        int status;
        byte[]? name = hostname is null ? null : Encoding.UTF8.GetBytes(hostname + "\0");
        fixed (byte* n = name)
            status = NativeMethods.slovo_pg_gloo_new(store.Handle, rank, worldSize, (long)timeout.TotalMilliseconds, n, &h);
        if (status != 0)
        {
            string why = LastError();
            throw new TorchException($"rank {rank} of {worldSize} could not join the group at {store.Host}:{store.Port} within {timeout.TotalSeconds:0} s " +
                                     $"(did every rank start?): {why}", null);
        }
        var group = new ProcessGroup(h, rank, worldSize, Backend.Gloo, ownsStore ? store : null);
        try { group.Peers = group.GatherAddresses(hostname ?? System.Net.Dns.GetHostName()); }
        catch { group.Dispose(); throw; }
        return group;
    }

    /// <summary>Each rank's address as it gave it (its hostname, or the address it joined with), in rank order, for messages.</summary>
    public IReadOnlyList<string> Peers { get; private set; } = [];

    // Every rank's address, through one all-gather of a fixed-size byte tensor.
    private string[] GatherAddresses(string address)
    {
        const int Width = 256; // bytes: 64 characters of up to 4 bytes each
        byte[] bytes = new byte[Width];
        Encoding.UTF8.GetBytes(address.Length > Width / 4 ? address[..(Width / 4)] : address).CopyTo(bytes, 0);
        using Tensor mine = Tensor.From(bytes, Width);
        Tensor[] all = AllGather(mine);
        try { return all.Select(t => Encoding.UTF8.GetString(t.ToArray<byte>()).TrimEnd('\0')).ToArray(); }
        finally { foreach (Tensor t in all) t.Dispose(); }
    }

    // A collective that failed (a peer gone, a link down, a timeout): the error names this rank and the others with their addresses.
    private void Collective(string what, int status)
    {
        if (status == 0) return;
        string why = LastError();
        string others = string.Join(", ", Enumerable.Range(0, Peers.Count).Where(r => r != Rank).Select(r => $"rank {r} at {Peers[r]}"));
        throw new TorchException($"rank {Rank} of {WorldSize} lost contact with the job during {what}" +
                                 (others.Length > 0 ? $" (the other ranks: {others})" : "") + $": {why}", null);
    }

    private static string LastError() =>
        System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.slovo_last_error()) ?? "unknown native error";

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(ProcessGroup));

    /// <summary>Replaces every tensor, on every rank, by its combination over the ranks.</summary>
    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        IntPtr* handles = stackalloc IntPtr[Math.Max(1, tensors.Count)];
        for (int i = 0; i < tensors.Count; ++i) handles[i] = tensors[i].Handle;
        Collective("an all-reduce", NativeMethods.slovo_pg_allreduce(Handle, handles, tensors.Count, (int)op));
        GC.KeepAlive(tensors);
    }

    /// <summary>Replaces <paramref name="tensor"/>, on every rank, by its combination over the ranks.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => AllReduce([tensor], op);

    /// <summary>Overwrites every tensor on every rank with rank <paramref name="root"/>'s.</summary>
    public void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"must lie in [0, {WorldSize})");
        IntPtr* handles = stackalloc IntPtr[Math.Max(1, tensors.Count)];
        for (int i = 0; i < tensors.Count; ++i) handles[i] = tensors[i].Handle;
        Collective("a broadcast", NativeMethods.slovo_pg_broadcast(Handle, handles, tensors.Count, root));
        GC.KeepAlive(tensors);
    }

    /// <summary>Every rank's <paramref name="input"/>, in rank order (new tensors shaped like it).</summary>
    public Tensor[] AllGather(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var outputs = new Tensor[WorldSize];
        for (int r = 0; r < WorldSize; ++r) outputs[r] = Tensor.EmptyLike(input);
        IntPtr* handles = stackalloc IntPtr[WorldSize];
        for (int r = 0; r < WorldSize; ++r) handles[r] = outputs[r].Handle;
        try { Collective("an all-gather", NativeMethods.slovo_pg_allgather(Handle, input.Handle, handles, WorldSize)); }
        catch { foreach (Tensor t in outputs) t.Dispose(); throw; }
        GC.KeepAlive(input);
        return outputs;
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier() => Collective("a barrier", NativeMethods.slovo_pg_barrier(Handle));

    /// <inheritdoc />
    public void Dispose()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.slovo_pg_free(h);
        _ownedStore?.Dispose();
    }
}

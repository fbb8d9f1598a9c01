using System.Diagnostics;
using Slovo.Torch.Distributed;

namespace Slovo.Torch.Tests;

/// <summary>c10d through Slovo: ranks as threads of this process, meeting on 127.0.0.1 (Gloo supports that as it does
/// processes), checked against sums worked by hand.</summary>
public class DistributedTests
{
    private static int FreePort() => Slovo.TestSupport.TestPorts.Free();

    // Runs body(rank, group) on every rank at once, each in its own thread; rethrows the first failure.
    private static T[] OnRanks<T>(int world, Func<int, ProcessGroup, T> body)
    {
        int port = FreePort();
        var results = new T[world];
        var errors = new Exception?[world];
        Thread[] threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                using ProcessGroup group = ProcessGroup.Init(Backend.Gloo, rank, world, "127.0.0.1", port, TimeSpan.FromSeconds(30));
                results[rank] = body(rank, group);
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToArray();
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a rank did not finish in 60 s");
        if (errors.FirstOrDefault(e => e is not null) is { } first) throw new InvalidOperationException("a rank failed", first);
        return results;
    }

    [Fact]
    public void AllReduceSumsAndAveragesAcrossRanks()
    {
        float[][] got = OnRanks<float[]>(2, (rank, g) =>
        {
            Assert.Equal(rank, g.Rank);
            Assert.Equal(2, g.WorldSize);
            using Tensor a = Tensor.From(new float[] { rank + 1, 10 * (rank + 1), -rank }, 3);
            using Tensor b = Tensor.From(new float[] { 2 * rank }, 1);
            g.AllReduce([a, b], ReduceOp.Sum);
            using Tensor c = Tensor.From(new float[] { rank, 4 }, 2);
            g.AllReduce(c, ReduceOp.Average);
            using Tensor m = Tensor.From(new float[] { rank, -rank }, 2);
            g.AllReduce(m, ReduceOp.Max);
            return [.. a.ToArray<float>(), .. b.ToArray<float>(), .. c.ToArray<float>(), .. m.ToArray<float>()];
        });
        // By hand: (1 + 2, 10 + 20, 0 − 1), (0 + 2), ((0 + 1) / 2, (4 + 4) / 2), (max(0, 1), max(0, −1)).
        float[] expected = [3, 30, -1, 2, 0.5f, 4, 1, 0];
        Assert.Equal(expected, got[0]);
        Assert.Equal(expected, got[1]);
    }

    [Fact]
    public void BroadcastCopiesTheRootsTensorsAndAllGatherCollectsEveryRanks()
    {
        float[][] got = OnRanks<float[]>(3, (rank, g) =>
        {
            using Tensor t = Tensor.From(new float[] { rank, rank * rank }, 2);
            g.Broadcast([t], root: 2);
            using Tensor mine = Tensor.From(new float[] { 100 + rank }, 1);
            Tensor[] all = g.AllGather(mine);
            try
            {
                g.Barrier();
                return [.. t.ToArray<float>(), .. all.SelectMany(x => x.ToArray<float>())];
            }
            finally { foreach (Tensor x in all) x.Dispose(); }
        });
        foreach (float[] r in got) Assert.Equal([2f, 4f, 100f, 101f, 102f], r);
    }

    [Fact]
    public void ARendezvousNobodyJoinsTimesOutWithAClearError()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<TorchException>(() => ProcessGroup.Init(Backend.Gloo, 0, 2, "127.0.0.1", FreePort(), TimeSpan.FromSeconds(2)));
        Assert.InRange(clock.Elapsed.TotalSeconds, 1, 30);
        Assert.Contains("rank 0 of 2 could not join", e.Message);
        Assert.Contains("127.0.0.1", e.Message);
        // A worker whose store has no server (rank 0 never started) fails just as clearly.
        var worker = Assert.Throws<TorchException>(() => ProcessGroup.Init(Backend.Gloo, 1, 2, "127.0.0.1", FreePort(), TimeSpan.FromSeconds(2)));
        Assert.Contains("rank 1", worker.Message);
    }

    [Fact]
    public void NcclIsRefusedOnThisBuildAndBadRanksAreArgumentErrors()
    {
        Assert.True(ProcessGroup.IsAvailable(Backend.Gloo));
        Assert.Contains("NCCL", Assert.Throws<NotSupportedException>(() => ProcessGroup.Init(Backend.Nccl, 0, 1, "127.0.0.1", FreePort())).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Init(Backend.Gloo, 2, 2, "127.0.0.1", FreePort()));
    }
}

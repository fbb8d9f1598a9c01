using System.Diagnostics;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Torch.Tests;

[CollectionDefinition("Memory", DisableParallelization = true)]
public class MemoryCollection { }

/// <summary>Runs alone: resident memory is process-wide, so parallel tests would blur it.</summary>
[Collection("Memory")]
public class MemoryTests
{
    private static long ResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    [Fact]
    public void TenThousandTrainingStepsKeepResidentMemoryFlat()
    {
        LibTorch.ManualSeed(3);
        using var model = new Sequential(new Linear(32, 64), Activation.Tanh(), new Linear(64, 4));
        using var opt = new Adam(model.Parameters(), lr: 1e-3);
        using Tensor x = Tensor.RandN(16, 32);
        using Tensor y = Tensor.RandInt(0, 4, [16]);
        void Steps(int n)
        {
            for (int i = 0; i < n; ++i)
            {
                using var scope = DisposeScope.Begin();
                opt.ZeroGrad();
                Tensor loss = Losses.CrossEntropy(model.Forward(x), y);
                loss.Backward();
                opt.Step();
            }
        }
        Steps(10_000); // warm-up: JIT tiering and GC heap sizing add a one-off ~6 MB in the first thousands of steps
        // Native memory is what a leaked tensor would hold: resident memory less what the managed heap has committed
        // (which the collector sizes as it likes, more so when other test classes ran in this process before).
        long NativeResident()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return ResidentBytes() - GC.GetGCMemoryInfo().TotalCommittedBytes;
        }
        long before = NativeResident();
        var sw = Stopwatch.StartNew();
        Steps(10_000);
        long after = NativeResident();
        long growth = after - before;
        // A leak of even one 16x64 float tensor per step would add 40 MB over 10,000 steps.
        Assert.True(growth < 3 * 1024 * 1024, $"native resident memory grew by {growth / 1024} KiB over 10,000 steps ({sw.Elapsed.TotalSeconds:F1} s)");
    }

    private const long MiB = 1 << 20;

    // Runs `body` with the CPU tensor cache installed at `limit` bytes and empty, then restores the limit it found.
    private static void WithCpuCache(long limit, Action body)
    {
        long saved = LibTorch.CpuCacheLimit;
        LibTorch.CpuCacheLimit = limit;
        LibTorch.EmptyCpuCache();
        try
        {
            body();
        }
        finally
        {
            LibTorch.CpuCacheLimit = saved;
        }
    }

    [Fact]
    public void AFreedLargeBlockIsReusedForTheNextTensorOfItsSizeAndSmallOnesAreLeftAlone()
    {
        WithCpuCache(256 * MiB, () =>
        {
            CpuCacheStats start = LibTorch.CpuCache;
            Assert.Equal(0, start.CachedBytes);
            using (Tensor big = Tensor.Full([3 * MiB / 4], 7.0)) // 3 MiB of float32
            {
                Assert.Equal(start.Misses + 1, LibTorch.CpuCache.Misses);
                Assert.True(LibTorch.CpuCache.LiveBytes >= 3 * MiB);
            }
            Assert.Equal(3 * MiB, LibTorch.CpuCache.CachedBytes);

            // The same size again comes from the cache, and what the block held before does not show through.
            using (Tensor again = Tensor.Zeros(3 * MiB / 4))
            {
                CpuCacheStats now = LibTorch.CpuCache;
                Assert.Equal(start.Hits + 1, now.Hits);
                Assert.Equal(0, now.CachedBytes);
                Assert.Equal(0.0, again.Abs().Sum().ToDouble());
            }
            // Up to 1/8 smaller also fits the cached block; a size it cannot serve asks the C allocator.
            CpuCacheStats before = LibTorch.CpuCache;
            using (Tensor smaller = Tensor.Ones(3 * MiB / 4 - MiB / 4 / 8))
                Assert.Equal((before.Hits + 1, before.Misses), (LibTorch.CpuCache.Hits, LibTorch.CpuCache.Misses));
            using (Tensor larger = Tensor.Ones(4 * MiB / 4))
                Assert.Equal((before.Hits + 1, before.Misses + 1), (LibTorch.CpuCache.Hits, LibTorch.CpuCache.Misses));

            CpuCacheStats beforeSmall = LibTorch.CpuCache;
            using (Tensor small = Tensor.Ones(1000)) { }
            CpuCacheStats afterSmall = LibTorch.CpuCache;
            Assert.Equal((beforeSmall.Hits, beforeSmall.Misses, beforeSmall.CachedBytes), (afterSmall.Hits, afterSmall.Misses, afterSmall.CachedBytes));

            LibTorch.EmptyCpuCache();
            Assert.Equal(0, LibTorch.CpuCache.CachedBytes);
        });
    }

    [Fact]
    public void TheCacheKeepsNoMoreThanItsLimitAndLetsTheOldestGoFirst()
    {
        WithCpuCache(5 * MiB, () =>
        {
            Tensor a = Tensor.Ones(2 * MiB / 4), b = Tensor.Ones(3 * MiB / 4), c = Tensor.Ones(4 * MiB / 4);
            a.Dispose();
            b.Dispose();
            Assert.Equal(5 * MiB, LibTorch.CpuCache.CachedBytes);
            c.Dispose(); // 9 MiB would be over the limit: the oldest (a's 2 MiB, then b's 3 MiB) are released
            Assert.Equal(4 * MiB, LibTorch.CpuCache.CachedBytes);
            using (Tensor fromC = Tensor.Ones(4 * MiB / 4))
                Assert.Equal(0, LibTorch.CpuCache.CachedBytes);
            using (Tensor tooBig = Tensor.Ones(6 * MiB / 4)) { } // a block over the limit is never kept
            Assert.Equal(4 * MiB, LibTorch.CpuCache.CachedBytes); // fromC's block came back, tooBig's did not
            LibTorch.CpuCacheLimit = 0;
            Assert.Equal(0, LibTorch.CpuCache.CachedBytes);
        });
    }

    [Fact]
    public void TensorsAllocatedAndFreedOnManyThreadsAtOnceKeepTheirValues()
    {
        WithCpuCache(32 * MiB, () =>
        {
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
            {
                var random = new Random(worker);
                for (int i = 0; i < 40; ++i)
                {
                    long n = (1 + random.Next(3)) * MiB / 4;
                    using Tensor t = Tensor.Full([n], worker + 1);
                    using Tensor u = t * 2;
                    Assert.Equal(2.0 * (worker + 1) * n, u.Sum().ToDouble(), 1e-3 * n);
                }
            });
            Assert.True(LibTorch.CpuCache.Hits > 0);
            Assert.True(LibTorch.CpuCache.CachedBytes <= 32 * MiB);
        });
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L << 20)]
    public void SlovoCpuCacheMbSetsTheLimitTheCacheStartsWith(string setting, long expected)
    {
        string? saved = Environment.GetEnvironmentVariable("SLOVO_CPU_CACHE_MB");
        try
        {
            Environment.SetEnvironmentVariable("SLOVO_CPU_CACHE_MB", setting);
            Assert.Equal(expected, LibTorch.DefaultCpuCacheLimit());
            Environment.SetEnvironmentVariable("SLOVO_CPU_CACHE_MB", null);
            long fallback = LibTorch.DefaultCpuCacheLimit();
            Assert.InRange(fallback, 1, 4L << 30);
            Environment.SetEnvironmentVariable("SLOVO_CPU_CACHE_MB", "lots");
            var e = Assert.Throws<ArgumentException>(() => LibTorch.DefaultCpuCacheLimit());
            Assert.Contains("SLOVO_CPU_CACHE_MB must be a whole number of MiB", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SLOVO_CPU_CACHE_MB", saved);
        }
    }
}

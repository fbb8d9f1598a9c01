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

    [Fact]
    public void KeepingFreedMemoryIsSetOnGlibcUnlessTheUserChoseOtherwise()
    {
        // What it buys (a training step's large buffers reused instead of mapped again) shows on the main thread, whose
        // allocations glibc serves from its main heap; test threads allocate from arenas of their own, which map large
        // blocks regardless. Measured in bench (b) and with `slovo lm train` (bench/README.md).
        bool userChose = new[] { "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES" }
            .Any(v => Environment.GetEnvironmentVariable(v) is not null) || Environment.GetEnvironmentVariable("SLOVO_KEEP_FREED_MEMORY") == "0";
        Assert.Equal(!userChose, LibTorch.KeepFreedMemory());
    }
}

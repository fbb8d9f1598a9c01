using Slovo.Torch.Native;

namespace Slovo.Torch.Tests;

/// <summary>Properties and error paths of the native boundary.</summary>
public class ShimTests
{
    [Fact]
    public void AnyOperatorCanBeCalledByNameWithTypedArguments()
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Tensor.From(new float[] { 1, -2, 3, -4 }, 2, 2);
        Tensor clamped = new Op("aten::clamp").Call(x, NativeArg.Scalar(-1), NativeArg.Scalar(2));
        Assert.Equal(new float[] { 1, -1, 2, -1 }, clamped.ToArray<float>());
        Tensor summed = new Op("sum", "dim_IntList").Call(x, NativeArg.Ints(0), true, NativeArg.Of(ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, summed.DType);
        Assert.Equal(new double[] { 4, -6 }, summed.ToArray<double>());
        Assert.Equal(1, new Op("equal").CallScalar(x, x.Clone()));
        Assert.Equal(0, new Op("equal").CallScalar(x, clamped));
        Tensor?[] parts = new Op("split", "Tensor").CallMany(Tensor.Arange(5), 2L, 0L);
        Assert.Equal(3, parts.Length);
        Tensor g = new Op("gelu").Call(x, NativeArg.Of("tanh"));
        Assert.Equal(new long[] { 2, 2 }, g.Shape);
        Assert.Contains("aten::add.Tensor(Tensor self, Tensor other", new Op("add", "Tensor").Schema);
    }

    [Fact]
    public void OperatorExistenceCanBeAskedAtRunTime()
    {
        Assert.True(new Op("aten::lstm", "input").Exists);
        Assert.False(new Op("aten::surely_not_an_op").Exists);
    }

    [Fact]
    public void WrongArgumentsAreReportedNotCrashed()
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Tensor.Ones(2);
        var tooMany = Assert.Throws<TorchException>(() => new Op("neg").Call(x, x, x));
        Assert.Contains("takes 1 arguments but 3 were given", tooMany.Message);
        var missing = Assert.Throws<TorchException>(() => new Op("mm").Call(x));
        Assert.Contains("has no default", missing.Message);
        Assert.ThrowsAny<TorchException>(() => new Op("mm").Call(x, 3.5));
        Assert.ThrowsAny<TorchException>(() => Tensor.Ones(2, 3).View(-1, -1));
        Assert.ThrowsAny<TorchException>(() => x.ToInt64() + Tensor.Ones(3).ToInt64());
        Assert.Equal(2f, x.Sum().ToSingle()); // still alive
    }

    [Fact]
    public void ErrorsOnOneThreadDoNotLeakToAnother()
    {
        var messages = new string[4];
        Parallel.For(0, 4, i =>
        {
            using var scope = DisposeScope.Begin();
            try { Tensor.Ones(i + 1, 2).MM(Tensor.Ones(3 + i, 2)); }
            catch (TorchException e) { messages[i] = e.Message; }
        });
        for (int i = 0; i < 4; ++i) Assert.Contains($"{i + 1}x2 and {3 + i}x2", messages[i]);
    }

    [Fact]
    public void ThreadsAndDevicesAreReported()
    {
        int before = LibTorch.Threads;
        LibTorch.Threads = 1;
        Assert.Equal(1, LibTorch.Threads);
        LibTorch.Threads = before;
        Assert.Throws<ArgumentOutOfRangeException>(() => LibTorch.Threads = 0);
        Assert.True(LibTorch.CudaDeviceCount >= 0);
        Assert.StartsWith("1.", LibTorch.Version.Length > 0 && char.IsDigit(LibTorch.Version[0]) ? "1." : "x");
    }

    [Fact]
    public void GradientsFlowThroughOperatorsCalledByName()
    {
        using var scope = DisposeScope.Begin();
        Tensor a = Tensor.From(new float[] { 1, 2, 3, 4 }, 2, 2).RequiresGrad_();
        Tensor b = Tensor.From(new float[] { 1, 0, 0, 1 }, 2, 2);
        Tensor y = new Op("mm").Call(a, b).Tanh().Sum();
        y.Backward();
        float[] grad = a.Grad!.ToArray<float>();
        float[] expected = new float[] { 1, 2, 3, 4 }.Select(v => 1 - MathF.Tanh(v) * MathF.Tanh(v)).ToArray();
        for (int i = 0; i < 4; ++i) Assert.Equal(expected[i], grad[i], 5);
    }

    [Fact]
    public void BackwardWithExplicitGradientAndRetainGraph()
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Tensor.From(new float[] { 1, 2 }).RequiresGrad_();
        Tensor y = x * x;
        y.Backward(Tensor.From(new float[] { 1, 10 }), retainGraph: true);
        y.Backward(Tensor.From(new float[] { 1, 10 }));
        Assert.Equal(new float[] { 4, 80 }, x.Grad!.ToArray<float>()); // 2 passes of 2x·g
        Assert.ThrowsAny<TorchException>(() => y.Backward(Tensor.From(new float[] { 1, 1 })));
    }

    [Fact]
    public void MultiReturnOperatorsReleaseEveryHandleOnEveryPath()
    {
        // Views share their base's storage, so its use count says how many result handles are alive.
        using Tensor x = Tensor.Arange(100);
        Assert.Equal(1, x.StorageUseCount);
        var split = new Op("split", "Tensor");

        // Ten results where Call keeps one: the other nine are released.
        using (Tensor first = split.Call(x, 10L))
        {
            Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, first.ToArray<long>());
            Assert.Equal(2, x.StorageUseCount);
        }
        Assert.Equal(1, x.StorageUseCount);

        // More results than the first buffer holds (sized from the schema's one return): all come back, none lost.
        Tensor?[] parts = split.CallMany(x, 2L);
        Assert.Equal(50, parts.Length);
        Assert.Equal(51, x.StorageUseCount);
        Assert.Equal(new long[] { 98, 99 }, parts[^1]!.ToArray<long>());
        foreach (Tensor? p in parts) p!.Dispose();
        Assert.Equal(1, x.StorageUseCount);

        // Failing paths: a tensor list where a number is wanted, and an operator that fails after dispatch.
        var notANumber = Assert.Throws<TorchException>(() => split.CallScalar(x, 7L));
        Assert.Contains("did not return a number", notANumber.Message);
        Assert.Equal(1, x.StorageUseCount);
        using Tensor empty = Tensor.Zeros(0, 3);
        Assert.ThrowsAny<TorchException>(() => new Op("max", "dim").CallMany(empty, 0L));
        Assert.Equal(1, x.StorageUseCount);

        // The schema sizes tuple results exactly.
        using Tensor m = Tensor.From(new float[] { 3, 1, 2, 5 }, 2, 2);
        Tensor?[] maxDim = new Op("max", "dim").CallMany(m, 1L);
        Assert.Equal(2, maxDim.Length);
        Assert.Equal(new float[] { 3, 5 }, maxDim[0]!.ToArray<float>());
        Assert.Equal(new long[] { 0, 1 }, maxDim[1]!.ToArray<long>());
        foreach (Tensor? t in maxDim) t!.Dispose();
    }

    [Fact]
    public void TemporariesOutsideAnyScopeSurviveTheCallsThatUseThem()
    {
        // No scope: every temporary below is reachable only from the call that reads it, and a collector runs
        // finalizers all the while. A temporary freed mid-call would crash or give a wrong sum.
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            var split = new Op("split", "Tensor");
            using Tensor big = Tensor.Ones(1 << 20);
            for (int k = 0; k < 300; ++k)
            {
                // The kernel reads the temporary a + b for about a millisecond while the collector runs.
                Assert.Equal(1 << 21, (big + big).Mul(big).Sum().ToDouble());
                Assert.Equal(2.0 * 64 * (k % 7), (Tensor.Full([64], k % 7) + Tensor.Full([64], k % 7)).Sum().ToDouble());
                Assert.Equal(64, (Tensor.Ones(8, 8) * Tensor.Ones(8, 8)).Sum().ToDouble());
                Assert.Equal(4, split.CallMany(Tensor.Arange(8).Add(1), 2L).Length);
                Assert.Equal(36, new Op("cat").Call(NativeArg.Tensors(Tensor.Arange(4), Tensor.Arange(5))).Sum().ToInt64() + 20);
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}

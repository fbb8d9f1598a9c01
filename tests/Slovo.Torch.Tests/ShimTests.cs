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
        Tensor?[] parts = new Op("split", "Tensor").CallMany(8, Tensor.Arange(5), 2L, 0L);
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
}

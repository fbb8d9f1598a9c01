using Slovo.TestSupport;
using Slovo.Torch;

namespace Slovo.Torch.Tests;

public class TensorBasicsTests
{
    [Fact]
    public void RoundTripsArraysWithShape()
    {
        using Tensor t = Tensor.From(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(ScalarType.Float32, t.DType);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
        Assert.Equal(Device.CPU.Type, t.Device.Type);
    }

    [Fact]
    public void ArithmeticMatchesHandComputedValues()
    {
        using var scope = DisposeScope.Begin();
        Tensor a = Tensor.From(new float[] { 1, 2, 3, 4 }, 2, 2);
        Tensor b = Tensor.From(new float[] { 10, 20, 30, 40 }, 2, 2);
        Assert.Equal(new float[] { 11, 22, 33, 44 }, (a + b).ToArray<float>());
        Assert.Equal(new float[] { -9, -18, -27, -36 }, (a - b).ToArray<float>());
        Assert.Equal(new float[] { 10, 40, 90, 160 }, (a * b).ToArray<float>());
        Assert.Equal(new float[] { 3, 4, 5, 6 }, (a + 2).ToArray<float>());
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, (a / 2).ToArray<float>());
        Assert.Equal(new float[] { 70, 100, 150, 220 }, a.MatMul(b).ToArray<float>());
        Assert.Equal(10f, a.Sum().ToSingle());
        Assert.Equal(new long[] { 1, 1 }, a.ArgMax(1).ToArray<long>());
    }

    [Fact]
    public void IntegerTensorsKeepIntegerArithmetic()
    {
        using var scope = DisposeScope.Begin();
        Tensor a = Tensor.From(new long[] { 1, 2, 3 });
        Assert.Equal(ScalarType.Int64, (a + 1).DType);
        Assert.Equal(new long[] { 3, 6, 9 }, (a * 3).ToArray<long>());
        Assert.Equal(new long[] { 2, 4, 6 }, a.Add(a).ToArray<long>());
    }

    [Fact]
    public void IndexingSelectsSlicesAndWritesThrough()
    {
        using var scope = DisposeScope.Begin();
        Tensor t = Tensor.Arange(12).Reshape(3, 4);
        Assert.Equal(new long[] { 4, 5, 6, 7 }, t[1].ToArray<long>());
        Assert.Equal(new long[] { 1, 5, 9 }, t[.., 1].ToArray<long>());
        Assert.Equal(new long[] { 8, 9, 10, 11 }, t[^1].ToArray<long>());
        Assert.Equal(new long[] { 5, 6, 9, 10 }, t[1.., 1..3].ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 2 }, t[TensorIndex.NewAxis, .., 1..^1].Shape);
        Assert.Equal(new long[] { 1, 2, 5, 6, 9, 10 }, t[TensorIndex.NewAxis, .., 1..^1].ToArray<long>());
        Assert.Equal(new long[] { 3, 7, 11 }, t[TensorIndex.Ellipsis, 3].ToArray<long>());
        Tensor rows = Tensor.From(new long[] { 2, 0 });
        Assert.Equal(new long[] { 8, 9, 10, 11, 0, 1, 2, 3 }, t[rows].ToArray<long>());
        t[0, ..] = Tensor.From(new long[] { 100, 101, 102, 103 });
        Assert.Equal(new long[] { 100, 101, 102, 103 }, t[0].ToArray<long>());
        t.IndexFill([Tensor.From(new long[] { 2 })], -1);
        Assert.Equal(new long[] { -1, -1, -1, -1 }, t[2].ToArray<long>());
    }

    [Fact]
    public void ToStringShowsValuesShapeAndDType()
    {
        using Tensor t = Tensor.From(new float[] { 1, 2.5f, -3, 4 }, 2, 2);
        Assert.Equal("tensor([[1.0000, 2.5000], [-3.0000, 4.0000]], shape=[2, 2], dtype=Float32)", t.ToString());
        using Tensor big = Tensor.Arange(2000);
        Assert.Equal("tensor([0, 1, 2, ..., 1997, 1998, 1999], shape=[2000], dtype=Int64)", big.ToString());
    }

    [Fact]
    public void UseAfterDisposeThrowsAndDoubleDisposeIsHarmless()
    {
        Tensor t = Tensor.Ones(2);
        t.Dispose();
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.Shape);
        Assert.Throws<ObjectDisposedException>(() => t + 1);
    }

    [Fact]
    public void DisposeScopeReleasesEverythingButWhatIsKept()
    {
        Tensor kept, lost;
        using (var scope = DisposeScope.Begin())
        {
            lost = Tensor.Ones(3);
            kept = (lost * 2).MoveToOuterScope();
            Assert.Equal(1, scope.Count);
        }
        Assert.True(lost.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal(new float[] { 2, 2, 2 }, kept.ToArray<float>());
        kept.Dispose();
    }

    [Fact]
    public void NativeErrorsBecomeTorchExceptionsAndTheProcessLivesOn()
    {
        using Tensor a = Tensor.Ones(2, 3);
        using Tensor b = Tensor.Ones(4, 5);
        var e = Assert.Throws<TorchException>(() => a.MatMul(b));
        Assert.Contains("mat1 and mat2 shapes cannot be multiplied", e.Message);
        Assert.Throws<TorchException>(() => a.View(7));
        Assert.Throws<TorchException>(() => new Slovo.Torch.Native.Op("aten::no_such_op").Call(a));
        using Tensor c = a + 1; // still works
        Assert.Equal(12f, c.Sum().ToSingle());
    }

    [Fact]
    public void BadShapesAreRejectedWithClearMessages()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.From(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Contains("holds 4 elements but 3 were given", e.Message);
        using Tensor t = Tensor.Ones(2);
        Assert.Throws<InvalidOperationException>(() => t.ToArray<long>());
    }

    [Fact]
    public void AutogradComputesGradients()
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Tensor.From(new float[] { 1, 2, 3 }).RequiresGrad_();
        Tensor y = (x * x).Sum();
        y.Backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.Grad!.ToArray<float>());
        x.ZeroGrad();
        Assert.Null(x.Grad);
        using (LibTorch.NoGrad())
        {
            Assert.False(LibTorch.IsGradEnabled);
            Assert.False((x * 2).RequiresGrad);
        }
        Assert.True(LibTorch.IsGradEnabled);
        using (LibTorch.InferenceMode())
            Assert.True(LibTorch.IsInferenceMode);
        Assert.False(LibTorch.IsInferenceMode);
    }

    [Fact]
    public void AutocastRunsMatmulsInBFloat16KeepsWeightsAndGradientsInFloat32AndRestoresOnExit()
    {
        using var scope = DisposeScope.Begin();
        using var layer = new Slovo.Torch.NN.Linear(8, 4);
        Tensor x = Tensor.From(Enumerable.Range(0, 16).Select(i => i / 16f).ToArray(), 2, 8);
        Tensor full = layer.Forward(x);
        Tensor low;
        using (LibTorch.Autocast(Device.CPU))
        {
            low = layer.Forward(x);
            Assert.Equal(ScalarType.BFloat16, low.DType);
            using (LibTorch.Autocast(Device.CPU)) Assert.Equal(ScalarType.BFloat16, layer.Forward(x).DType); // nested
            Assert.Equal(ScalarType.BFloat16, layer.Forward(x).DType);                                     // still on after the inner one
        }
        Assert.Equal(ScalarType.Float32, layer.Forward(x).DType);                                         // restored
        // bfloat16 keeps 8 bits of mantissa: close to float32, not equal.
        float[] a = full.ToArray<float>(), b = low.To(ScalarType.Float32).ToArray<float>();
        Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 0.02 * Math.Abs(p.First) + 0.02));
        Assert.False(a.SequenceEqual(b));
        low.To(ScalarType.Float32).Sum().Backward();
        Assert.Equal(ScalarType.Float32, layer.Weight.Grad!.DType);
        Assert.Equal(ScalarType.Float32, layer.Weight.DType);
    }
}

/// <summary>Seeds the process-wide generator: runs alone.</summary>
[Collection(GlobalRandom.Name)]
public class GlobalSeedTests
{
    [Fact]
    public void ManualSeedMakesRandomnessRepeatable()
    {
        using var scope = DisposeScope.Begin();
        LibTorch.ManualSeed(7);
        float[] a = Tensor.RandN(5).ToArray<float>();
        LibTorch.ManualSeed(7);
        float[] b = Tensor.RandN(5).ToArray<float>();
        Assert.Equal(a, b);
    }
}

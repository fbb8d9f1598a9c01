namespace Slovo.Torch.Tests;

/// <summary>Seeded random cases: data survives the boundary bit for bit, arithmetic agrees with a C# reference,
/// and slicing agrees with array slicing, for many shapes and dtypes.</summary>
public class ShimPropertyTests
{
    private static long[] RandomShape(Random rng)
    {
        int dims = rng.Next(0, 5);
        return Enumerable.Range(0, dims).Select(_ => (long)rng.Next(0, 5)).ToArray();
    }

    [Fact]
    public void DataRoundTripsExactlyForEveryShapeAndDType()
    {
        var rng = new Random(17);
        for (int trial = 0; trial < 300; ++trial)
        {
            using var scope = DisposeScope.Begin();
            long[] shape = RandomShape(rng);
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            float[] f = Enumerable.Range(0, n).Select(_ => BitConverter.Int32BitsToSingle(rng.Next())).Where(v => !float.IsNaN(v)).ToArray();
            if (f.Length != n) continue;
            Tensor t = Tensor.From(f, shape);
            Assert.Equal(shape, t.Shape);
            Assert.Equal(f, t.ToArray<float>());
            long[] l = Enumerable.Range(0, n).Select(_ => rng.NextInt64()).ToArray();
            Assert.Equal(l, Tensor.From(l, shape).ToArray<long>());
            bool[] b = Enumerable.Range(0, n).Select(_ => rng.Next(2) == 1).ToArray();
            Assert.Equal(b, Tensor.From(b, shape).ToArray<bool>());
            Assert.Equal(f, Tensor.FromBytes(t.ToBytes(), shape, ScalarType.Float32).ToArray<float>());
        }
    }

    [Fact]
    public void ArithmeticAgreesWithAReferenceLoop()
    {
        var rng = new Random(23);
        for (int trial = 0; trial < 200; ++trial)
        {
            using var scope = DisposeScope.Begin();
            long[] shape = RandomShape(rng);
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            double[] x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 20 - 10).ToArray();
            double[] y = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 20 - 10).ToArray();
            double alpha = Math.Round(rng.NextDouble() * 4 - 2, 2);
            Tensor tx = Tensor.From(x, shape), ty = Tensor.From(y, shape);
            double[] sum = tx.Add(ty, alpha).ToArray<double>();
            double[] prod = (tx * ty).ToArray<double>();
            double[] affine = (tx * 3 - 1).ToArray<double>();
            for (int i = 0; i < n; ++i)
            {
                Assert.Equal(x[i] + alpha * y[i], sum[i], 12);
                Assert.Equal(x[i] * y[i], prod[i], 12);
                Assert.Equal(x[i] * 3 - 1, affine[i], 12);
            }
            Assert.Equal(x.Sum(), tx.Sum().ToDouble(), 9);
        }
    }

    [Fact]
    public void SlicingAgreesWithArraySlicing()
    {
        var rng = new Random(31);
        for (int trial = 0; trial < 200; ++trial)
        {
            using var scope = DisposeScope.Begin();
            int rows = rng.Next(1, 7), cols = rng.Next(1, 7);
            long[] data = Enumerable.Range(0, rows * cols).Select(i => (long)i).ToArray();
            Tensor t = Tensor.From(data, rows, cols);
            int r0 = rng.Next(0, rows), r1 = rng.Next(r0, rows + 1), c = rng.Next(0, cols);
            long[] expected = Enumerable.Range(r0, r1 - r0).Select(r => data[r * cols + c]).ToArray();
            Assert.Equal(expected, t[r0..r1, c].ToArray<long>());
            Assert.Equal(data[(rows - 1) * cols + c], t[^1, c].ToInt64());
        }
    }
}

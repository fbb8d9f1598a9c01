using System.Numerics;
using System.Runtime.InteropServices;

namespace Slovo.Embeddings;

/// <summary>SIMD helpers over float spans.</summary>
internal static class VectorMath
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, i = 0;
        var acc = Vector<float>.Zero;
        ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a), vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (int k = 0; k < va.Length; ++k) acc += va[k] * vb[k];
        i = va.Length * Vector<float>.Count;
        float sum = Vector.Sum(acc);
        for (; i < n; ++i) sum += a[i] * b[i];
        return sum;
    }

    public static float Norm(ReadOnlySpan<float> a) => MathF.Sqrt(Dot(a, a));

    /// <summary>Scales <paramref name="a"/> to unit length in place (a zero vector stays zero).</summary>
    public static void Normalize(Span<float> a)
    {
        float n = Norm(a);
        if (n == 0) return;
        for (int i = 0; i < a.Length; ++i) a[i] /= n;
    }

    public static void Scale(Span<float> a, float s)
    {
        for (int i = 0; i < a.Length; ++i) a[i] *= s;
    }

    public static void AddScaled(Span<float> acc, ReadOnlySpan<float> v, float scale)
    {
        for (int i = 0; i < acc.Length; ++i) acc[i] += scale * v[i];
    }
}

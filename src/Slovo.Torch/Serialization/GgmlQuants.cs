using System.Buffers.Binary;

namespace Slovo.Torch.Serialization;

/// <summary>
/// ggml's block formats, written from the format's layout: each block holds a float16 scale (and for the _1 and K types a
/// minimum) and packed integers. Dequantization runs blocks in parallel.
/// </summary>
internal static class GgmlQuants
{
    private static float Half(ReadOnlySpan<byte> b, int at) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b[at..]));

    /// <summary>The <paramref name="count"/> values of a tensor stored as <paramref name="type"/>.</summary>
    public static float[] Dequantize(GgmlType type, byte[] data, long count)
    {
        (int block, int bytes) = GgufFile.BlockOf(type);
        if (count > Array.MaxLength) throw new ArgumentException($"{count} values exceed the largest array");
        var y = new float[count];
        long blocks = count / block;
        Parallel.For(0L, blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            ReadOnlySpan<byte> b = data.AsSpan((int)(i * bytes), bytes);
            Span<float> o = y.AsSpan((int)(i * block), block);
            switch (type)
            {
                case GgmlType.Q4_0: Q4(b, o, withMin: false); break;
                case GgmlType.Q4_1: Q4(b, o, withMin: true); break;
                case GgmlType.Q5_0: Q5(b, o, withMin: false); break;
                case GgmlType.Q5_1: Q5(b, o, withMin: true); break;
                case GgmlType.Q8_0: Q8(b, o); break;
                case GgmlType.Q4_K: Q4K(b, o); break;
                case GgmlType.Q5_K: Q5K(b, o); break;
                case GgmlType.Q6_K: Q6K(b, o); break;
                default: throw new NotSupportedException($"{type} is not a block type");
            }
        });
        return y;
    }

    // 32 values: d (f16)[, m (f16)], 16 bytes of nibbles; element j is the low nibble of byte j, element j + 16 the high one.
    private static void Q4(ReadOnlySpan<byte> b, Span<float> y, bool withMin)
    {
        float d = Half(b, 0), m = withMin ? Half(b, 2) : 0;
        ReadOnlySpan<byte> qs = b[(withMin ? 4 : 2)..];
        for (int j = 0; j < 16; ++j)
        {
            int lo = qs[j] & 0x0F, hi = qs[j] >> 4;
            y[j] = withMin ? lo * d + m : (lo - 8) * d;
            y[j + 16] = withMin ? hi * d + m : (hi - 8) * d;
        }
    }

    // 32 values: d[, m], 4 bytes holding each value's fifth bit, 16 bytes of nibbles.
    private static void Q5(ReadOnlySpan<byte> b, Span<float> y, bool withMin)
    {
        float d = Half(b, 0), m = withMin ? Half(b, 2) : 0;
        int at = withMin ? 4 : 2;
        uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
        ReadOnlySpan<byte> qs = b[(at + 4)..];
        for (int j = 0; j < 16; ++j)
        {
            int lo = (qs[j] & 0x0F) | (int)((qh >> j) << 4 & 0x10), hi = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            y[j] = withMin ? lo * d + m : (lo - 16) * d;
            y[j + 16] = withMin ? hi * d + m : (hi - 16) * d;
        }
    }

    private static void Q8(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        for (int j = 0; j < 32; ++j) y[j] = (sbyte)b[2 + j] * d;
    }

    // The K types' 12 bytes of 6-bit scales and minimums for 8 sub-blocks of 32.
    private static (int Scale, int Min) ScaleMin(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    // 256 values: d, dmin (f16), 12 bytes of scales, 128 bytes of nibbles (each 32 bytes hold 64 values: low nibbles first).
    private static void Q4K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0), dmin = Half(b, 2);
        ReadOnlySpan<byte> scales = b.Slice(4, 12), q = b[16..];
        for (int chunk = 0, sub = 0; chunk < 4; ++chunk, sub += 2)
        {
            (int s1, int m1) = ScaleMin(sub, scales);
            (int s2, int m2) = ScaleMin(sub + 1, scales);
            ReadOnlySpan<byte> qc = q.Slice(chunk * 32, 32);
            Span<float> o = y.Slice(chunk * 64, 64);
            for (int l = 0; l < 32; ++l)
            {
                o[l] = d * s1 * (qc[l] & 0x0F) - dmin * m1;
                o[l + 32] = d * s2 * (qc[l] >> 4) - dmin * m2;
            }
        }
    }

    // 256 values: d, dmin, 12 bytes of scales, 32 bytes of fifth bits (bit 2c and 2c + 1 of byte l for chunk c), 128 of nibbles.
    private static void Q5K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0), dmin = Half(b, 2);
        ReadOnlySpan<byte> scales = b.Slice(4, 12), qh = b.Slice(16, 32), q = b[48..];
        for (int chunk = 0, sub = 0; chunk < 4; ++chunk, sub += 2)
        {
            (int s1, int m1) = ScaleMin(sub, scales);
            (int s2, int m2) = ScaleMin(sub + 1, scales);
            int u1 = 1 << (2 * chunk), u2 = 2 << (2 * chunk);
            ReadOnlySpan<byte> qc = q.Slice(chunk * 32, 32);
            Span<float> o = y.Slice(chunk * 64, 64);
            for (int l = 0; l < 32; ++l)
            {
                o[l] = d * s1 * ((qc[l] & 0x0F) + ((qh[l] & u1) != 0 ? 16 : 0)) - dmin * m1;
                o[l + 32] = d * s2 * ((qc[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - dmin * m2;
            }
        }
    }

    // 256 values: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed 8-bit scales, d (f16); values centred on 32.
    private static void Q6K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 208);
        for (int half = 0; half < 2; ++half)
        {
            ReadOnlySpan<byte> ql = b.Slice(half * 64, 64), qh = b.Slice(128 + half * 32, 32);
            ReadOnlySpan<byte> sc = b.Slice(192 + half * 8, 8);
            Span<float> o = y.Slice(half * 128, 128);
            for (int l = 0; l < 32; ++l)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                o[l] = d * (sbyte)sc[s] * q1;
                o[l + 32] = d * (sbyte)sc[s + 2] * q2;
                o[l + 64] = d * (sbyte)sc[s + 4] * q3;
                o[l + 96] = d * (sbyte)sc[s + 6] * q4;
            }
        }
    }

    /// <summary>Q8_0: per block of 32, d = max|x| / 127 (stored as float16) and q = round(x / d).</summary>
    public static byte[] QuantizeQ8_0(float[] x)
    {
        int blocks = x.Length / 32;
        var result = new byte[blocks * 34];
        Parallel.For(0, blocks, i =>
        {
            ReadOnlySpan<float> v = x.AsSpan(i * 32, 32);
            float amax = 0;
            foreach (float f in v) amax = Math.Max(amax, Math.Abs(f));
            float d = amax / 127, id = d != 0 ? 1 / d : 0;
            Span<byte> o = result.AsSpan(i * 34, 34);
            BinaryPrimitives.WriteUInt16LittleEndian(o, BitConverter.HalfToUInt16Bits((Half)d));
            for (int j = 0; j < 32; ++j) o[2 + j] = (byte)(sbyte)MathF.Round(v[j] * id, MidpointRounding.AwayFromZero);
        });
        return result;
    }
}

using Slovo.Torch.NN;

namespace Slovo.Torch.Tests;

/// <summary>
/// Transformer building blocks against PyTorch 1.13 (tests/golden/make_golden.py: a GPT-2 attention and block written out
/// in PyTorch). Tolerance as the other module goldens: 1e-5 absolute + 1e-4 relative in float32.
/// </summary>
public class AttentionTests
{
    [Fact]
    public void GeluExactAndTanhMatchPyTorch()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("gelu");
        foreach ((string form, string approximate) in new[] { ("exact", "none"), ("tanh", "tanh") })
        {
            Tensor x = g.Input("x");
            Tensor y = x.Gelu(approximate);
            Golden.AssertClose(g["out." + form], y, what: form);
            y.Sum().Backward();
            Golden.AssertClose(g["grad." + form], x.Grad!, what: "grad " + form);
        }
        Assert.False(g["out.exact"].Equal(g["out.tanh"])); // the two forms differ, so each check means something
    }

    [Fact]
    public void CausalSelfAttentionWithPaddingMatchesPyTorch()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("gpt2_attention");
        using var m = new CausalSelfAttention(8, heads: 2);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        (Tensor y, KeyValue present) = m.Forward(x, keep: g["in.keep"]);
        Golden.AssertClose(g["out.y"], y, what: "output");
        Assert.Equal(new long[] { 2, 2, 5, 4 }, present.Key.Shape);
        g.Backward(("y", y));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        foreach ((string name, Tensor p) in m.NamedParameters())
            Golden.AssertClose(g["grad.param." + name], p.Grad!, what: "grad " + name);
    }

    [Fact]
    public void TheCacheGrowsInPlaceAndAStateReadAgainKeepsItsOwnKeys()
    {
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        Tensor Keys(long t) => Tensor.Rand([1, 2, t, 4]);
        Tensor k0 = Keys(3), k1 = Keys(1), k2 = Keys(1), k3 = Keys(1);
        KeyValue s0 = KeyValue.Append(null, k0, k0.Mul(2));
        Assert.Equal((3L, 64L), (s0.Length, s0.Capacity));
        KeyValue s1 = KeyValue.Append(s0, k1, k1.Mul(2));
        Assert.True(s1.SharesBuffersWith(s0));
        Assert.True(s1.Key.Equal(Tensor.Cat([k0, k1], 2)) && s1.Value.Equal(Tensor.Cat([k0, k1], 2).Mul(2)));
        // s0 read again: s1 already wrote after it, so the branch gets buffers of its own and s1 keeps its keys.
        KeyValue branch = KeyValue.Append(s0, k2, k2.Mul(2));
        Assert.False(branch.SharesBuffersWith(s0));
        Assert.True(branch.Key.Equal(Tensor.Cat([k0, k2], 2)));
        Assert.True(s1.Key.Equal(Tensor.Cat([k0, k1], 2)));
        KeyValue s2 = KeyValue.Append(s1, k3, k3.Mul(2));
        Assert.True(s2.SharesBuffersWith(s0));
        Assert.True(s2.Key.Equal(Tensor.Cat([k0, k1, k3], 2)) && branch.Key.Equal(Tensor.Cat([k0, k2], 2)));
        // Past the room: new buffers of the next power of two.
        KeyValue full = KeyValue.Append(s2, Keys(61), Keys(61));
        Assert.Equal((66L, 128L), (full.Length, full.Capacity));
        Assert.False(full.SharesBuffersWith(s2));
        Assert.True(full.Key.Narrow(2, 0, 5).Equal(s2.Key));
    }

    [Fact]
    public void TrainingConcatenatesTheCache()
    {
        using var scope = DisposeScope.Begin();
        Tensor k0 = Tensor.Rand([1, 2, 3, 4]), k1 = Tensor.Rand([1, 2, 1, 4]);
        KeyValue s1 = KeyValue.Append(KeyValue.Append(null, k0, k0), k1, k1);
        Assert.Equal((4L, 4L), (s1.Length, s1.Capacity));
        Assert.True(s1.Key.Equal(Tensor.Cat([k0, k1], 2)));
    }

    [Fact]
    public void PreLayerNormBlockMatchesPyTorch()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("gpt2_block");
        using var m = new TransformerBlock(8, heads: 2);
        Assert.Equal(g.Params().Keys.Order(), m.StateDict().Keys.Order()); // Hugging Face's names, key for key
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        (Tensor y, _) = m.Forward(x, keep: g["in.keep"]);
        Golden.AssertClose(g["out.y"], y, what: "output");
        g.Backward(("y", y));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        foreach ((string name, Tensor p) in m.NamedParameters())
            Golden.AssertClose(g["grad.param." + name], p.Grad!, what: "grad " + name);
    }

    [Fact]
    public void DecodingWithTheCacheGivesTheFullPassOutputs()
    {
        using var scope = DisposeScope.Begin();
        using var random = TestSupport.TestRandom.Use(3);
        using var m = new TransformerBlock(12, heads: 3);
        m.Eval();
        using var noGrad = LibTorch.NoGrad();
        Tensor x = Tensor.RandN(2, 6, 12);
        (Tensor full, _) = m.Forward(x);
        // A prompt of 3 positions, then one position at a time with the keys and values carried.
        (Tensor first, KeyValue cache) = m.Forward(x.Narrow(1, 0, 3));
        var steps = new List<Tensor> { first };
        for (int t = 3; t < 6; ++t)
        {
            (Tensor y, cache) = m.Forward(x.Narrow(1, t, 1), cache);
            steps.Add(y);
        }
        Assert.Equal(6, cache.Length);
        Golden.AssertClose(full, Tensor.Cat(steps, 1), atol: 1e-5, what: "cached decoding");
    }

    [Fact]
    public void TheCausalMaskLinesUpQueriesWithTheLastKeys()
    {
        using var scope = DisposeScope.Begin();
        Assert.Equal(new bool[] { true, false, false, true, true, false, true, true, true }, Attention.CausalMask(3, 3).Reshape(-1).ToArray<bool>());
        Assert.Equal(new bool[] { true, true, true, false, true, true, true, true }, Attention.CausalMask(2, 4).Reshape(-1).ToArray<bool>());
        Assert.Throws<ArgumentException>(() => Attention.CausalMask(4, 2));
    }

    [Fact]
    public void ThePathIsChosenByAskingTheDispatcherAndBothPathsAgreeWhereBothExist()
    {
        using var scope = DisposeScope.Begin();
        using var random = TestSupport.TestRandom.Use(5);
        Assert.Equal(new Native.Op("aten::scaled_dot_product_attention").Exists, Attention.FusedAvailable);
        Assert.Equal(LibTorch.Version.StartsWith("1.", StringComparison.Ordinal), !Attention.FusedAvailable);
        Tensor q = Tensor.RandN(2, 3, 4, 8), k = Tensor.RandN(2, 3, 6, 8), v = Tensor.RandN(2, 3, 6, 8);
        Tensor keep = Tensor.From(new[] { true, true, true, true, true, true, true, true, true, true, false, false }, 2, 1, 1, 6);
        Tensor written = Attention.ScaledDotProduct(q, k, v, keep, causal: true, fused: false);
        // The definition, by hand: query i of 4 sees keys 0 … 2 + i that are not padding.
        float[] qa = q.ToArray<float>(), ka = k.ToArray<float>(), va = v.ToArray<float>(), wa = written.ToArray<float>();
        bool[] ke = keep.ToArray<bool>();
        for (int b = 0; b < 2; ++b)
            for (int h = 0; h < 3; ++h)
                for (int i = 0; i < 4; ++i)
                {
                    var w = new double[6];
                    for (int j = 0; j < 6; ++j)
                    {
                        double dot = 0;
                        for (int c = 0; c < 8; ++c) dot += qa[((b * 3 + h) * 4 + i) * 8 + c] * ka[((b * 3 + h) * 6 + j) * 8 + c];
                        w[j] = j <= 2 + i && ke[b * 6 + j] ? Math.Exp(dot / Math.Sqrt(8)) : 0;
                    }
                    double sum = w.Sum();
                    for (int c = 0; c < 8; ++c)
                    {
                        double expected = 0;
                        for (int j = 0; j < 6; ++j) expected += w[j] / sum * va[((b * 3 + h) * 6 + j) * 8 + c];
                        Assert.Equal(expected, wa[((b * 3 + h) * 4 + i) * 8 + c], 4);
                    }
                }
        if (Attention.FusedAvailable)
        {
            Golden.AssertClose(written, Attention.ScaledDotProduct(q, k, v, keep, causal: true, fused: true), what: "fused vs written out");
            // As many queries as keys and no padding: the fused operator gets is_causal instead of a mask.
            Tensor k4 = k.Narrow(2, 0, 4), v4 = v.Narrow(2, 0, 4);
            Golden.AssertClose(Attention.ScaledDotProduct(q, k4, v4, causal: true, fused: false), Attention.ScaledDotProduct(q, k4, v4, causal: true, fused: true),
                               what: "is_causal vs written out");
            Assert.True(Attention.DrawsFromGlobalGenerator(0.1));
        }
        else
            Assert.Throws<NotSupportedException>(() => Attention.ScaledDotProduct(q, k, v, fused: true));
    }
}

using Slovo.TestSupport;
using Slovo.Classification;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Tests;

public class HandLstmTests
{
    private static void AssertClose(Tensor expected, Tensor actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] a = expected.Contiguous().ToArray<float>(), b = actual.Contiguous().ToArray<float>();
        for (int i = 0; i < a.Length; ++i) Assert.True(Math.Abs(a[i] - b[i]) <= tol, $"element {i}: {a[i]} vs {b[i]}");
    }

    [Theory]
    [InlineData(1, false, false)]
    [InlineData(2, false, true)]
    [InlineData(1, true, false)]
    [InlineData(2, true, true)]
    public void MatchesLibtorchsFusedLstmGivenTheSameWeights(int layers, bool bidirectional, bool withLengths)
    {
        using var scope = DisposeScope.Begin();
        using var random = TestRandom.Use(3);
        var fused = new LSTM(5, 7, numLayers: layers, batchFirst: true, bidirectional: bidirectional);
        var hand = new HandLstm(5, 7, layers, bidirectional);
        hand.LoadStateDict(fused.StateDict());                    // PyTorch's names, key for key
        Tensor x = Tensor.RandN(4, 6, 5);                           // (B, T, I)
        Tensor? lengths = withLengths ? Tensor.From(new long[] { 6, 2, 4, 1 }) : null;
        (Tensor fo, (Tensor fh, Tensor fc)) = fused.Forward(x, null, lengths);
        (Tensor ho, Tensor hh, Tensor hc) = hand.Forward(x, lengths);
        AssertClose(fo, ho);
        AssertClose(fh, hh);
        AssertClose(fc, hc);
        // Gradients agree too.
        Tensor xf = x.Detach().RequiresGrad_(), xh = x.Detach().RequiresGrad_();
        fused.Forward(xf, null, lengths).Output.Sum().Backward();
        hand.Forward(xh, lengths).Output.Sum().Backward();
        AssertClose(xf.Grad!, xh.Grad!, 1e-4);
    }

    [Theory]
    [InlineData(LstmGates.Input)]
    [InlineData(LstmGates.Forget)]
    [InlineData(LstmGates.Output)]
    public void ForcingAGateChangesExactlyThatGate(LstmGates gate)
    {
        using var scope = DisposeScope.Begin();
        using var random = TestRandom.Use(5);
        var lstm = new HandLstm(3, 4);
        Dictionary<string, Tensor> w = lstm.StateDict();
        Tensor x = Tensor.RandN(2, 3), h = Tensor.RandN(2, 4), c = Tensor.RandN(2, 4);
        LstmStep full = HandLstmCell.Step(x, h, c, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"]);
        LstmStep ablated = HandLstmCell.Step(x, h, c, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], gate);
        (Tensor Full, Tensor Ablated, LstmGates Gate)[] gates =
        [
            (full.InputGate, ablated.InputGate, LstmGates.Input), (full.ForgetGate, ablated.ForgetGate, LstmGates.Forget),
            (full.OutputGate, ablated.OutputGate, LstmGates.Output), (full.Candidate, ablated.Candidate, LstmGates.None),
        ];
        foreach ((Tensor f, Tensor a, LstmGates g) in gates)
        {
            if (g == gate)
            {
                Assert.All(a.ToArray<float>(), v => Assert.Equal(1f, v));
                Assert.All(f.ToArray<float>(), v => Assert.True(v is > 0 and < 1));
            }
            else Assert.Equal(f.ToArray<float>(), a.ToArray<float>());
        }
        // The equations with the forced gate: c' = f c + i g, h' = o tanh(c').
        Tensor i = ablated.InputGate, f2 = ablated.ForgetGate, o = ablated.OutputGate;
        AssertClose(f2 * c + i * ablated.Candidate, ablated.C);
        AssertClose(o * ablated.C.Tanh(), ablated.H);
        // The module applies it too: its output differs from the unablated one.
        Tensor seq = Tensor.RandN(2, 5, 3);
        Tensor before = lstm.Forward(seq).Output;
        lstm.Forced = gate;
        Assert.False(before.AllClose(lstm.Forward(seq).Output));
    }
}

using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Classification;

// Shapes: B batch, T time steps, I input features, H hidden size, L layers, D directions (1 or 2).

/// <summary>LSTM gates that can be forced to 1 (ablation).</summary>
[Flags]
public enum LstmGates
{
    /// <summary>No gate is forced.</summary>
    None = 0,
    /// <summary>The input gate i.</summary>
    Input = 1,
    /// <summary>The forget gate f.</summary>
    Forget = 2,
    /// <summary>The output gate o.</summary>
    Output = 4,
}

/// <summary>What one LSTM step computed: the new hidden and cell states and every gate, each (B, H).</summary>
public sealed record LstmStep(Tensor H, Tensor C, Tensor InputGate, Tensor ForgetGate, Tensor Candidate, Tensor OutputGate);

/// <summary>
/// The LSTM cell written out with the course's equations (PyTorch's weight layout, gates stacked i, f, g, o):
/// i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(W_if x + b_if + W_hf h + b_hf), g = tanh(W_ig x + b_ig + W_hg h + b_hg),
/// o = σ(W_io x + b_io + W_ho h + b_ho), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). A gate in <c>forced</c> is 1 instead.
/// </summary>
public static class HandLstmCell
{
    /// <summary>One step for input x (B, I) and state h, c (B, H).</summary>
    public static LstmStep Step(Tensor x, Tensor h, Tensor c, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh, LstmGates forced = LstmGates.None)
    {
        using var scope = DisposeScope.Begin();
        Tensor gates = Linear.Functional(x, weightIh, biasIh) + Linear.Functional(h, weightHh, biasHh);   // (B, 4H)
        Tensor[] parts = gates.Chunk(4, 1);                                                               // 4 × (B, H)
        Tensor i = forced.HasFlag(LstmGates.Input) ? Ones(parts[0]) : parts[0].Sigmoid();
        Tensor f = forced.HasFlag(LstmGates.Forget) ? Ones(parts[1]) : parts[1].Sigmoid();
        Tensor g = parts[2].Tanh();
        Tensor o = forced.HasFlag(LstmGates.Output) ? Ones(parts[3]) : parts[3].Sigmoid();
        Tensor cNext = f * c + i * g;
        Tensor hNext = o * cNext.Tanh();
        foreach (Tensor t in new[] { hNext, cNext, i, f, g, o }) scope.Keep(t);
        return new LstmStep(hNext, cNext, i, f, g, o);
    }

    private static Tensor Ones(Tensor like) => Tensor.Ones(like.Shape, like.DType, like.Device);
}

/// <summary>
/// A multi-layer, optionally bidirectional LSTM built from <see cref="HandLstmCell"/>, batch-first, with variable
/// lengths. Parameters carry PyTorch's names (weight_ih_l0, weight_hh_l0_reverse, ...), so a fused
/// <see cref="LSTM"/>'s state dict loads into it key for key and both compute the same function.
/// </summary>
public sealed class HandLstm : Module
{
    private readonly Tensor[][] _weights; // [layer·D + direction] = { weight_ih, weight_hh, bias_ih, bias_hh }

    /// <summary>Hidden size H.</summary>
    public long HiddenSize { get; }

    /// <summary>Layers L.</summary>
    public int NumLayers { get; }

    /// <summary>Whether a second direction reads the sequence backwards.</summary>
    public bool Bidirectional { get; }

    /// <summary>Dropout between layers while training.</summary>
    public double DropoutP { get; }

    /// <summary>Gates forced to 1 (ablation); may be changed at any time.</summary>
    public LstmGates Forced { get; set; }

    /// <summary>Creates the LSTM with PyTorch's initialisation U(−1/√H, 1/√H).</summary>
    public HandLstm(long inputSize, long hiddenSize, int numLayers = 1, bool bidirectional = false, double dropout = 0, LstmGates forced = LstmGates.None)
    {
        if (numLayers < 1) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "must be at least 1");
        (HiddenSize, NumLayers, Bidirectional, DropoutP, Forced) = (hiddenSize, numLayers, bidirectional, dropout, forced);
        int d = bidirectional ? 2 : 1;
        double k = 1 / Math.Sqrt(hiddenSize);
        _weights = new Tensor[numLayers * d][];
        for (int layer = 0; layer < numLayers; ++layer)
            for (int dir = 0; dir < d; ++dir)
            {
                long inSize = layer == 0 ? inputSize : hiddenSize * d;
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                Tensor Param(string name, params long[] shape)
                {
                    Tensor t = Tensor.Empty(shape);
                    using (LibTorch.NoGrad()) Init.Uniform_(t, -k, k);
                    return RegisterParameter(name + suffix, t);
                }
                _weights[layer * d + dir] = [Param("weight_ih", 4 * hiddenSize, inSize), Param("weight_hh", 4 * hiddenSize, hiddenSize),
                                             Param("bias_ih", 4 * hiddenSize), Param("bias_hh", 4 * hiddenSize)];
            }
    }

    /// <summary>
    /// Runs over x (B, T, I). With <paramref name="lengths"/> (B), steps past a sequence's length leave its state
    /// unchanged and output zeros, and the backward direction starts at the sequence's last real step.
    /// </summary>
    /// <returns>Output (B, T, D·H), final hidden and cell states (L·D, B, H).</returns>
    public (Tensor Output, Tensor H, Tensor C) Forward(Tensor x, Tensor? lengths = null)
    {
        using var scope = DisposeScope.Begin();
        long batch = x.Size(0), steps = x.Size(1);
        int d = Bidirectional ? 2 : 1;
        long[] lens = lengths is null ? Enumerable.Repeat(steps, (int)batch).ToArray() : lengths.To(ScalarType.Int64).ToArray<long>();
        if (lens.Length != batch || lens.Any(l => l < 1 || l > steps))
            throw new ArgumentException($"lengths must hold {batch} values in [1, {steps}]", nameof(lengths));
        // mask[t] (B, 1): 1 while t is inside the sequence. reverse (B, T): position t of the reversed sequence.
        var maskValues = new float[steps * batch];
        var rev = new long[batch * steps];
        for (int b = 0; b < batch; ++b)
            for (int t = 0; t < steps; ++t)
            {
                maskValues[t * batch + b] = t < lens[b] ? 1 : 0;
                rev[b * steps + t] = t < lens[b] ? lens[b] - 1 - t : t;
            }
        Tensor mask = ToDevice(Tensor.From(maskValues, steps, batch, 1));                        // (T, B, 1)
        Tensor revIndex = ToDevice(Tensor.From(rev, batch, steps, 1));                             // (B, T, 1)
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        Tensor input = x;
        for (int layer = 0; layer < NumLayers; ++layer)
        {
            var outputs = new List<Tensor>();
            for (int dir = 0; dir < d; ++dir)
            {
                Tensor[] w = _weights[layer * d + dir];
                Tensor seq = dir == 0 ? input : input.Gather(1, revIndex.Expand(batch, steps, input.Size(2)));  // (B, T, I)
                Tensor h = Tensor.Zeros([batch, HiddenSize], x.DType, x.Device), c = Tensor.Zeros([batch, HiddenSize], x.DType, x.Device);
                var outs = new Tensor[steps];
                for (int t = 0; t < steps; ++t)
                {
                    LstmStep s = HandLstmCell.Step(seq.Narrow(1, t, 1).Reshape(batch, -1), h, c, w[0], w[1], w[2], w[3], Forced);
                    Tensor m = mask.Narrow(0, t, 1).Reshape(batch, 1);                                                                      // (B, 1)
                    h = m * s.H + (1 - m) * h;
                    c = m * s.C + (1 - m) * c;
                    outs[t] = m * s.H;
                }
                Tensor output = Tensor.Stack(outs, 1);                                                      // (B, T, H)
                if (dir == 1) output = output.Gather(1, revIndex.Expand(batch, steps, HiddenSize));
                outputs.Add(output);
                hs.Add(h);
                cs.Add(c);
            }
            input = d == 1 ? outputs[0] : Tensor.Cat(outputs, 2);                                          // (B, T, D·H)
            if (layer + 1 < NumLayers && DropoutP > 0) input = Dropout.Functional(input, DropoutP, Training);
        }
        Tensor hn = Tensor.Stack(hs, 0), cn = Tensor.Stack(cs, 0);                                            // (L·D, B, H)
        scope.Keep(input);
        scope.Keep(hn);
        scope.Keep(cn);
        return (input, hn, cn);
    }
}

using System.Globalization;
using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

// Shapes: B batch, T time, I input size, H hidden size, L layers, D directions (1 or 2).

/// <summary>Which recurrence a <see cref="Recurrent"/> layer runs.</summary>
public enum RecurrentKind
{
    /// <summary>Elman RNN with tanh.</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU.</summary>
    RnnRelu,
    /// <summary>Long short-term memory.</summary>
    Lstm,
    /// <summary>Gated recurrent unit.</summary>
    Gru,
}

/// <summary>
/// Multi-layer, optionally bidirectional recurrent layer on libtorch's fused kernels. Parameters are named as in
/// PyTorch (weight_ih_l0, weight_hh_l0_reverse, ...), so PyTorch state dicts load unchanged. Sequences of different
/// lengths are packed, so padding never leaks into the states.
/// </summary>
public class Recurrent : Module
{
    private static readonly Op s_lstm = new("lstm", "input"), s_lstmData = new("lstm", "data");
    private static readonly Op s_gru = new("gru", "input"), s_gruData = new("gru", "data");
    private static readonly Op s_rnnTanh = new("rnn_tanh", "input"), s_rnnTanhData = new("rnn_tanh", "data");
    private static readonly Op s_rnnRelu = new("rnn_relu", "input"), s_rnnReluData = new("rnn_relu", "data");
    private static readonly Op s_pack = new("_pack_padded_sequence"), s_pad = new("_pad_packed_sequence");
    private static readonly Op s_flatten = new("_cudnn_rnn_flatten_weight");

    private readonly Tensor[] _flat;

    /// <summary>The recurrence.</summary>
    public RecurrentKind Kind { get; }

    /// <summary>Input features I.</summary>
    public long InputSize { get; }

    /// <summary>Hidden features H.</summary>
    public long HiddenSize { get; }

    /// <summary>Stacked layers L.</summary>
    public int NumLayers { get; }

    /// <summary>Whether a second direction runs right to left.</summary>
    public bool Bidirectional { get; }

    /// <summary>Whether inputs and outputs are (B, T, ·) rather than (T, B, ·).</summary>
    public bool BatchFirst { get; }

    /// <summary>Dropout between layers (training only).</summary>
    public double DropoutP { get; }

    /// <summary>libtorch's fused kernel draws the inter-layer dropout masks from its global generator and takes no other.</summary>
    public override bool DrawsFromGlobalGenerator => DropoutP > 0 && NumLayers > 1;

    /// <summary>Creates the layer with U(−1/√H, 1/√H) weights, as PyTorch does.</summary>
    public Recurrent(RecurrentKind kind, long inputSize, long hiddenSize, int numLayers = 1, bool bias = true,
                     bool batchFirst = false, double dropout = 0, bool bidirectional = false)
    {
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentException($"sizes must be positive (input {inputSize}, hidden {hiddenSize})");
        if (numLayers < 1) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "at least one layer");
        if (dropout is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "must be in [0, 1]");
        (Kind, InputSize, HiddenSize, NumLayers, BatchFirst, DropoutP, Bidirectional) =
            (kind, inputSize, hiddenSize, numLayers, batchFirst, dropout, bidirectional);
        HasBias = bias;
        long gates = kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };
        double bound = 1 / Math.Sqrt(hiddenSize);
        var flat = new List<Tensor>();
        int dirs = bidirectional ? 2 : 1;
        for (int layer = 0; layer < numLayers; ++layer)
        {
            long layerInput = layer == 0 ? inputSize : hiddenSize * dirs;
            for (int d = 0; d < dirs; ++d)
            {
                string sfx = layer.ToString(CultureInfo.InvariantCulture) + (d == 1 ? "_reverse" : "");
                flat.Add(RegisterParameter("weight_ih_l" + sfx, Init.Uniform_(Tensor.Empty([gates * hiddenSize, layerInput]), -bound, bound)));
                flat.Add(RegisterParameter("weight_hh_l" + sfx, Init.Uniform_(Tensor.Empty([gates * hiddenSize, hiddenSize]), -bound, bound)));
                if (bias)
                {
                    flat.Add(RegisterParameter("bias_ih_l" + sfx, Init.Uniform_(Tensor.Empty([gates * hiddenSize]), -bound, bound)));
                    flat.Add(RegisterParameter("bias_hh_l" + sfx, Init.Uniform_(Tensor.Empty([gates * hiddenSize]), -bound, bound)));
                }
            }
        }
        _flat = flat.ToArray();
    }

    /// <summary>Whether the layer has bias vectors.</summary>
    public bool HasBias { get; }

    /// <summary>
    /// On CUDA, lays the weights out as views of one contiguous buffer, as cuDNN wants them (PyTorch's flatten_parameters);
    /// otherwise cuDNN copies them into such a buffer on every call and libtorch warns "RNN module weights are not part of
    /// single contiguous chunk of memory". Runs after every move; a no-op on the CPU.
    /// </summary>
    protected override void OnMoved()
    {
        base.OnMoved();
        if (Device.Type != DeviceType.CUDA || !s_flatten.Exists) return;
        long mode = Kind switch { RecurrentKind.RnnRelu => 0, RecurrentKind.RnnTanh => 1, RecurrentKind.Lstm => 2, _ => 3 };
        using var noGrad = LibTorch.NoGrad();
        using Tensor buffer = s_flatten.Call(NativeArg.Tensors(_flat), HasBias ? 4L : 2L, InputSize, mode, HiddenSize, 0L, (long)NumLayers, BatchFirst, Bidirectional);
    }

    private int Directions => Bidirectional ? 2 : 1;

    /// <summary>
    /// Runs the recurrence. <paramref name="h0"/> (and <paramref name="c0"/> for LSTM) are (L·D, B, H), zeros when null.
    /// With <paramref name="lengths"/> (int64, B), each sequence stops at its length: outputs past it are zero and
    /// the final states are taken at the last real step.
    /// </summary>
    /// <returns>Output (B, T, D·H) or (T, B, D·H); final hidden state (L·D, B, H); final cell state for LSTM, else null.</returns>
    public (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor? h0 = null, Tensor? c0 = null, Tensor? lengths = null)
    {
        if (input.Dim != 3)
            throw new ArgumentException($"recurrent input must be 3-d ({(BatchFirst ? "B, T, I" : "T, B, I")}), got [{string.Join(", ", input.Shape)}]", nameof(input));
        if (input.Size(2) != InputSize)
            throw new ArgumentException($"input has {input.Size(2)} features but the layer expects {InputSize}", nameof(input));
        using var scope = DisposeScope.Begin();
        int batchDim = BatchFirst ? 0 : 1;
        long batch = input.Size(batchDim), steps = input.Size(1 - batchDim);
        long[] stateShape = [NumLayers * Directions, batch, HiddenSize];
        Tensor h = h0 ?? Tensor.Zeros(stateShape, input.DType, input.Device);
        Tensor? c = Kind == RecurrentKind.Lstm ? c0 ?? Tensor.Zeros(stateShape, input.DType, input.Device) : null;
        bool train = Training;
        Tensor output, hn;
        Tensor? cn = null;
        if (lengths is null)
        {
            Tensor?[] r = Kind switch
            {
                RecurrentKind.Lstm => s_lstm.CallMany(input, NativeArg.Tensors(h, c!), NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional, BatchFirst),
                RecurrentKind.Gru => s_gru.CallMany(input, h, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional, BatchFirst),
                RecurrentKind.RnnTanh => s_rnnTanh.CallMany(input, h, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional, BatchFirst),
                _ => s_rnnRelu.CallMany(input, h, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional, BatchFirst),
            };
            (output, hn, cn) = (r[0]!, r[1]!, Kind == RecurrentKind.Lstm ? r[2] : null);
        }
        else
        {
            (output, hn, cn) = RunPacked(input, h, c, lengths, batchDim, batch, steps, train);
        }
        scope.Keep(output);
        scope.Keep(hn);
        if (cn is not null) scope.Keep(cn);
        return (output, hn, cn);
    }

    private (Tensor, Tensor, Tensor?) RunPacked(Tensor input, Tensor h, Tensor? c, Tensor lengths, int batchDim, long batch, long steps, bool train)
    {
        if (lengths.Dim != 1 || lengths.Size(0) != batch)
            throw new ArgumentException($"lengths must be 1-d with {batch} entries, got [{string.Join(", ", lengths.Shape)}]", nameof(lengths));
        Tensor lens = lengths.To(Device.CPU).To(ScalarType.Int64);
        long min = lens.Min().ToInt64(), max = lens.Max().ToInt64();
        if (min < 1 || max > steps)
            throw new ArgumentException($"lengths must lie in [1, {steps}], got min {min} and max {max}", nameof(lengths));
        (Tensor sortedLens, Tensor perm) = lens.Sort(0, descending: true);
        Tensor unsort = perm.ArgSort();
        Tensor permDev = perm.To(input.Device), unsortDev = unsort.To(input.Device);
        Tensor sortedInput = input.IndexSelect(batchDim, permDev);
        Tensor?[] packed = s_pack.CallMany(sortedInput, sortedLens, BatchFirst);
        Tensor data = packed[0]!, batchSizes = packed[1]!;
        Tensor hs = h.IndexSelect(1, permDev);
        Tensor? cs = c?.IndexSelect(1, permDev);
        Tensor?[] r = Kind switch
        {
            RecurrentKind.Lstm => s_lstmData.CallMany(data, batchSizes, NativeArg.Tensors(hs, cs!), NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional),
            RecurrentKind.Gru => s_gruData.CallMany(data, batchSizes, hs, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional),
            RecurrentKind.RnnTanh => s_rnnTanhData.CallMany(data, batchSizes, hs, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional),
            _ => s_rnnReluData.CallMany(data, batchSizes, hs, NativeArg.Tensors(_flat), HasBias, (long)NumLayers, DropoutP, train, Bidirectional),
        };
        Tensor?[] padded = s_pad.CallMany(r[0]!, batchSizes, BatchFirst, NativeArg.Of(0L), steps);
        Tensor output = padded[0]!.IndexSelect(batchDim, unsortDev);
        Tensor hn = r[1]!.IndexSelect(1, unsortDev);
        Tensor? cn = Kind == RecurrentKind.Lstm ? r[2]!.IndexSelect(1, unsortDev) : null;
        return (output, hn, cn);
    }
}

/// <summary>LSTM (see <see cref="Recurrent"/>).</summary>
public sealed class LSTM(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
                         double dropout = 0, bool bidirectional = false)
    : Recurrent(RecurrentKind.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional)
{
    /// <summary>Runs the LSTM; <paramref name="state"/> is (h0, c0), zeros when null.</summary>
    /// <returns>Output and the final (h, c), each (L·D, B, H).</returns>
    public (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state = null, Tensor? lengths = null)
    {
        (Tensor o, Tensor h, Tensor? c) = Run(input, state?.H, state?.C, lengths);
        return (o, (h, c!));
    }
}

/// <summary>GRU (see <see cref="Recurrent"/>).</summary>
public sealed class GRU(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
                        double dropout = 0, bool bidirectional = false)
    : Recurrent(RecurrentKind.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional)
{
    /// <summary>Runs the GRU; <paramref name="h0"/> is zeros when null.</summary>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0 = null, Tensor? lengths = null)
    {
        (Tensor o, Tensor h, _) = Run(input, h0, null, lengths);
        return (o, h);
    }
}

/// <summary>Elman RNN with tanh or ReLU (see <see cref="Recurrent"/>).</summary>
public sealed class RNN(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
                        double dropout = 0, bool bidirectional = false, bool relu = false)
    : Recurrent(relu ? RecurrentKind.RnnRelu : RecurrentKind.RnnTanh, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional)
{
    /// <summary>Runs the RNN; <paramref name="h0"/> is zeros when null.</summary>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0 = null, Tensor? lengths = null)
    {
        (Tensor o, Tensor h, _) = Run(input, h0, null, lengths);
        return (o, h);
    }
}

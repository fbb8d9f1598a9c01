using Slovo.Torch.Native;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Torch.Tests;

public class ModuleBehaviourTests
{
    [Fact]
    public void ParameterNamesAndCountsFollowPyTorch()
    {
        using var linear = new Linear(5, 3);
        Assert.Equal(18, linear.ParameterCount());
        using var lstm = new LSTM(4, 6, numLayers: 2, bidirectional: true);
        string[] names = lstm.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(new[]
        {
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        }, names);
        // nn.LSTM(4, 6, num_layers=2, bidirectional=True): 4*6*(4+6+2)*2 + 4*6*(12+6+2)*2
        Assert.Equal(4 * 6 * (4 + 6 + 2) * 2 + 4 * 6 * (12 + 6 + 2) * 2, lstm.ParameterCount());
        using var seq = new Sequential(new Linear(2, 3), Activation.ReLU(), new Linear(3, 1));
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, seq.StateDict().Keys.ToArray());
    }

    [Fact]
    public void DropoutScalesInTrainingAndIsIdentityInEval()
    {
        using var scope = DisposeScope.Begin();
        LibTorch.ManualSeed(5);
        using var dropout = new Dropout(0.5);
        Tensor x = Tensor.Ones(10_000);
        float[] y = dropout.Forward(x).ToArray<float>();
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        double zeros = y.Count(v => v == 0) / 10_000.0;
        Assert.InRange(zeros, 0.47, 0.53);
        dropout.Eval();
        Assert.True(dropout.Forward(x).Equal(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5));
    }

    [Fact]
    public void PretrainedEmbeddingsCanBeFrozenOrTrained()
    {
        using var scope = DisposeScope.Begin();
        Tensor vectors = Tensor.From(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        using Embedding frozen = Embedding.FromPretrained(vectors);
        Assert.True(frozen.Frozen);
        Assert.Equal(0, frozen.ParameterCount(trainableOnly: true));
        Assert.Equal(new float[] { 5, 6, 1, 2 }, frozen.Forward(Tensor.From(new long[] { 2, 0 })).ToArray<float>());
        using Embedding trained = Embedding.FromPretrained(vectors, freeze: false);
        Assert.Equal(6, trained.ParameterCount(trainableOnly: true));
        vectors.Fill_(0); // the module holds a copy
        Assert.Equal(3f, trained.Weight[1, 0].ToSingle());
        using var padded = new Embedding(5, 3, paddingIdx: -1);
        Assert.Equal(4, padded.PaddingIdx);
        Assert.Equal(0f, padded.Weight[4].Abs().Sum().ToSingle());
    }

    [Fact]
    public void StateDictMismatchesAreListed()
    {
        using var scope = DisposeScope.Begin();
        using var m = new Linear(3, 2);
        var e = Assert.Throws<ArgumentException>(() => m.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.Zeros(2, 3), ["extra"] = Tensor.Zeros(1) }));
        Assert.Contains("missing [bias]", e.Message);
        Assert.Contains("unexpected [extra]", e.Message);
        var shape = Assert.Throws<ArgumentException>(() => m.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.Zeros(3, 3), ["bias"] = Tensor.Zeros(2) }));
        Assert.Contains("'weight': shape [3, 3] in the state dict, [2, 3] in the module", shape.Message);
        m.LoadStateDict(new Dictionary<string, Tensor> { ["bias"] = Tensor.Ones(2) }, strict: false);
        Assert.Equal(new float[] { 1, 1 }, m.Bias!.ToArray<float>());
    }

    [Fact]
    public void MovingToAnotherDTypeKeepsParameterIdentity()
    {
        using var scope = DisposeScope.Begin();
        using var m = new Linear(3, 2);
        using var opt = new SGD(m.Parameters(), lr: 0.1);
        Tensor w = m.Weight;
        m.To(ScalarType.Float64);
        Assert.Same(w, m.Weight);
        Assert.Equal(ScalarType.Float64, opt.Parameters[0].DType);
        Tensor y = m.Forward(Tensor.Ones([1, 3], ScalarType.Float64)).Sum();
        y.Backward();
        opt.Step();
        Assert.Equal(ScalarType.Float64, m.Weight.DType);
    }

    [Fact]
    public void InitialisersRespectTheirBounds()
    {
        using var scope = DisposeScope.Begin();
        Tensor w = Tensor.Empty([200, 100]);
        Init.XavierUniform_(w);
        double bound = Math.Sqrt(6.0 / 300);
        Assert.True(w.Abs().Max().ToDouble() <= bound);
        Assert.True(w.Abs().Max().ToDouble() > 0.9 * bound);
        Init.KaimingNormal_(w, nonlinearity: "relu");
        Assert.InRange(w.Std().ToDouble(), Math.Sqrt(2.0 / 100) * 0.95, Math.Sqrt(2.0 / 100) * 1.05);
        Tensor q = Init.Orthogonal_(Tensor.Empty([6, 4]));
        Assert.True(q.T().MM(q).AllClose(Tensor.Eye(4), atol: 1e-5));
        Assert.Throws<ArgumentException>(() => Init.XavierUniform_(Tensor.Empty([5])));
    }

    [Fact]
    public void RecurrentLayersRejectBadInputsClearly()
    {
        using var scope = DisposeScope.Begin();
        using var lstm = new LSTM(4, 3, batchFirst: true);
        Assert.Contains("input has 5 features but the layer expects 4",
            Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(2, 7, 5))).Message);
        Assert.Contains("must be 3-d", Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(7, 4))).Message);
        Assert.Contains("lengths must lie in [1, 7]",
            Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(2, 7, 4), lengths: Tensor.From(new long[] { 8, 2 }))).Message);
        Assert.Throws<ArgumentException>(() => new Linear(0, 3));
        Assert.Throws<ArgumentException>(() => new Conv1d(3, 4, 3, groups: 2));
    }

    [Fact]
    public void PaddedStepsDoNotLeakIntoFinalStates()
    {
        using var scope = DisposeScope.Begin();
        LibTorch.ManualSeed(11);
        using var gru = new GRU(3, 4, batchFirst: true);
        Tensor x = Tensor.RandN(1, 5, 3);
        (_, Tensor hShort) = gru.Forward(x[.., ..2]);
        Tensor noisy = x.Clone();
        noisy[.., 2..] = Tensor.RandN(1, 3, 3) * 100;
        (Tensor y, Tensor hPacked) = gru.Forward(noisy, lengths: Tensor.From(new long[] { 2 }));
        Assert.True(hShort.AllClose(hPacked, atol: 1e-6));
        Assert.Equal(0f, y[.., 2..].Abs().Sum().ToSingle());
    }

    [Fact]
    public void AMissingLibtorchIsReportedWithTheInstallCommand()
    {
        string message = NativeLibraryLoader.Describe(new DllNotFoundException("libtorch_cpu.so: cannot open shared object file"));
        Assert.Contains("apt-get install -y libtorch-dev libopenblas0-pthread", message);
        Assert.Contains("HINT", message);
    }
}

using Slovo.Torch.NN;

namespace Slovo.Torch.Tests;

/// <summary>Forward outputs and gradients of every nn module against PyTorch 1.13 (tests/golden/make_golden.py).
/// Tolerance: float32 results within 1e-5 absolute + 1e-4 relative.</summary>
public class ModuleGoldenTests
{
    private static void AssertParamGrads(Golden g, Module m)
    {
        foreach ((string name, Tensor p) in m.NamedParameters())
        {
            using Tensor? grad = p.Grad;
            Assert.NotNull(grad);
            Golden.AssertClose(g["grad.param." + name], grad!, what: "grad of " + name);
        }
    }

    [Fact]
    public void Linear()
    {
        using var m = new Linear(5, 3);
        CheckOneInOneOut("linear", m, m.Forward);
    }

    /// <summary>Output, input gradient and parameter gradients of a module with one float input "x" and one output "y".</summary>
    private static void CheckOneInOneOut(string name, Module m, Func<Tensor, Tensor> forward)
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load(name);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        Tensor y = forward(x);
        Golden.AssertClose(g["out.y"], y, what: "output");
        g.Backward(("y", y));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        AssertParamGrads(g, m);
    }

    [Fact]
    public void EmbeddingWithPadding()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("embedding");
        using var m = new Embedding(10, 6, paddingIdx: 0);
        m.LoadStateDict(g.Params());
        Tensor y = m.Forward(g.Input("idx"));
        Golden.AssertClose(g["out.y"], y, what: "output");
        g.Backward(("y", y));
        AssertParamGrads(g, m);
        using Tensor? grad = m.Weight.Grad;
        Assert.Equal(0f, grad![0].Abs().Sum().ToSingle()); // padding row gets no gradient
    }

    [Theory]
    [InlineData("sum", BagMode.Sum)]
    [InlineData("mean", BagMode.Mean)]
    [InlineData("max", BagMode.Max)]
    public void EmbeddingBag(string name, BagMode mode)
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("embedding_bag_" + name);
        using var m = new EmbeddingBag(10, 4, mode);
        m.LoadStateDict(g.Params());
        Tensor y = m.Forward(g.Input("idx"), g.Input("offsets"));
        Golden.AssertClose(g["out.y"], y, what: "output");
        g.Backward(("y", y));
        AssertParamGrads(g, m);
    }

    [Fact]
    public void LayerNorm()
    {
        using var m = new LayerNorm(8);
        CheckOneInOneOut("layer_norm", m, m.Forward);
    }

    [Fact]
    public void Conv1dAndPooling()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("conv1d");
        using var m = new Conv1d(4, 6, 3, padding: 1);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        Tensor y = m.Forward(x);
        Tensor maxPool = Pool1d.Max(m.Forward(x), 2), avgPool = Pool1d.Avg(m.Forward(x), 2), adaptive = Pool1d.AdaptiveMax(m.Forward(x));
        Golden.AssertClose(g["out.y"], y, what: "conv output");
        Golden.AssertClose(g["out.maxpool"], maxPool, what: "max pool");
        Golden.AssertClose(g["out.avgpool"], avgPool, what: "avg pool");
        Golden.AssertClose(g["out.adaptivemax"], adaptive, what: "adaptive max pool");
        g.Backward(("y", y), ("maxpool", maxPool), ("avgpool", avgPool), ("adaptivemax", adaptive));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        AssertParamGrads(g, m);
    }

    [Fact]
    public void LstmTwoLayersBidirectionalWithInitialState()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("lstm_bi2");
        using var m = new LSTM(4, 6, numLayers: 2, batchFirst: true, bidirectional: true);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x"), h0 = g.Input("h0"), c0 = g.Input("c0");
        (Tensor y, (Tensor h, Tensor c)) = m.Forward(x, (h0, c0));
        Golden.AssertClose(g["out.y"], y, what: "output");
        Golden.AssertClose(g["out.h"], h, what: "h_n");
        Golden.AssertClose(g["out.c"], c, what: "c_n");
        g.Backward(("y", y), ("h", h), ("c", c));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        Golden.AssertClose(g["grad.in.h0"], h0.Grad!, what: "grad h0");
        Golden.AssertClose(g["grad.in.c0"], c0.Grad!, what: "grad c0");
        AssertParamGrads(g, m);
    }

    [Fact]
    public void Gru()
    {
        using var m = new GRU(4, 5);
        CheckSingleStateRecurrent("gru", m, x => m.Forward(x));
    }

    [Fact]
    public void RnnTanhTwoLayers()
    {
        using var m = new RNN(4, 5, numLayers: 2);
        CheckSingleStateRecurrent("rnn_tanh2", m, x => m.Forward(x));
    }

    private static void CheckSingleStateRecurrent(string name, Module m, Func<Tensor, (Tensor Output, Tensor H)> forward)
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load(name);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        (Tensor y, Tensor h) = forward(x);
        Golden.AssertClose(g["out.y"], y, what: "output");
        Golden.AssertClose(g["out.h"], h, what: "h_n");
        g.Backward(("y", y), ("h", h));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        AssertParamGrads(g, m);
    }

    [Fact]
    public void LstmWithVariableLengths()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("lstm_packed");
        using var m = new LSTM(3, 4, batchFirst: true, bidirectional: true);
        m.LoadStateDict(g.Params());
        Tensor x = g.Input("x");
        (Tensor y, (Tensor h, Tensor c)) = m.Forward(x, lengths: g.Input("lengths"));
        Golden.AssertClose(g["out.y"], y, what: "output");
        Golden.AssertClose(g["out.h"], h, what: "h_n");
        Golden.AssertClose(g["out.c"], c, what: "c_n");
        g.Backward(("y", y), ("h", h), ("c", c));
        Golden.AssertClose(g["grad.in.x"], x.Grad!, what: "grad x");
        AssertParamGrads(g, m);
    }

    [Fact]
    public void Losses()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("losses");
        Tensor Leaf(string k) => g[k].Detach().RequiresGrad_();

        Tensor logits = Leaf("ce.logits");
        Tensor ce = NN.Losses.CrossEntropy(logits, g["ce.target"], ignoreIndex: -100, labelSmoothing: 0.1);
        ce.Backward();
        Golden.AssertClose(g["ce.loss"], ce, what: "cross-entropy");
        Golden.AssertClose(g["ce.grad"], logits.Grad!, what: "cross-entropy grad");

        Tensor seq = Leaf("ce2.logits");
        Tensor ce2 = NN.Losses.CrossEntropy(seq, g["ce2.target"], ignoreIndex: 0);
        ce2.Backward();
        Golden.AssertClose(g["ce2.loss"], ce2, what: "sequence cross-entropy");
        Golden.AssertClose(g["ce2.grad"], seq.Grad!, what: "sequence cross-entropy grad");

        Tensor a = Leaf("mse.a");
        Tensor mse = NN.Losses.MSE(a, g["mse.b"]);
        mse.Backward();
        Golden.AssertClose(g["mse.loss"], mse, what: "mse");
        Golden.AssertClose(g["mse.grad"], a.Grad!, what: "mse grad");

        Tensor z = Leaf("bce.z");
        Tensor bce = NN.Losses.BCEWithLogits(z, g["bce.t"]);
        bce.Backward();
        Golden.AssertClose(g["bce.loss"], bce, what: "bce");
        Golden.AssertClose(g["bce.grad"], z.Grad!, what: "bce grad");

        Tensor u = Leaf("cos.u"), v = Leaf("cos.v");
        Tensor cos = NN.Losses.CosineEmbedding(u, v, g["cos.s"], margin: 0.1);
        cos.Backward();
        Golden.AssertClose(g["cos.loss"], cos, what: "cosine embedding");
        Golden.AssertClose(g["cos.grad_u"], u.Grad!, what: "cosine grad u");
        Golden.AssertClose(g["cos.grad_v"], v.Grad!, what: "cosine grad v");
    }
}

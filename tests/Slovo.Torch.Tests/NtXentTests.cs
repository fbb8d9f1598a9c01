using Slovo.Torch.NN;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Torch.Tests;

public class NtXentTests
{
    [Fact]
    public void MatchesPyTorchLossAndGradients()
    {
        string path = Path.Combine(Slovo.TestSupport.TestPaths.RepoRoot, "tests", "golden", "nt_xent.safetensors");
        (Dictionary<string, Tensor> g, Dictionary<string, string> meta) = SafeTensors.LoadWithMetadata(path);
        using var scope = DisposeScope.Begin();
        Tensor q = g["q"].Detach().RequiresGrad_(), d = g["d"].Detach().RequiresGrad_();
        Tensor loss = Losses.NtXent(q, d, double.Parse(meta["temperature"], System.Globalization.CultureInfo.InvariantCulture));
        loss.Backward();
        Assert.True(loss.AllClose(g["loss"], 1e-4, 1e-5), $"loss {loss.ToDouble()} vs {g["loss"].ToDouble()}");
        Assert.True(q.Grad!.AllClose(g["grad_q"], 1e-4, 1e-5));
        Assert.True(d.Grad!.AllClose(g["grad_d"], 1e-4, 1e-5));
        foreach (Tensor t in g.Values) t.Dispose();
    }

    [Fact]
    public void RejectsBadInput()
    {
        using var scope = DisposeScope.Begin();
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.NtXent(Tensor.Ones(2, 3), Tensor.Ones(2, 3), 0));
        Assert.Throws<ArgumentException>(() => Losses.NtXent(Tensor.Ones(2, 3), Tensor.Ones(3, 3), 0.1));
    }
}

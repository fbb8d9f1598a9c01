using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Torch.Tests;

/// <summary>10-step loss trajectories and final weights against PyTorch's optimizers (single-tensor path),
/// and learning-rate sequences against its schedulers. Tolerance: 1e-5 absolute + 1e-4 relative.</summary>
public class OptimGoldenTests
{
    private static Sequential MakeModel() => new(new Linear(6, 8), Activation.Tanh(), new Linear(8, 1));

    private static void RunTrajectory(string name, Func<IEnumerable<Tensor>, Optimizer> make) => RunTrajectory(name, (p, _) => make(p));

    private static void RunTrajectory(string name, Func<IEnumerable<Tensor>, Module, Optimizer> make)
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("optim_" + name);
        using Sequential model = MakeModel();
        model.LoadStateDict(g.Keys.Where(k => k.StartsWith("init.", StringComparison.Ordinal))
            .ToDictionary(k => k["init.".Length..], k => g[k]));
        using Optimizer opt = make(model.Parameters(), model);
        var losses = new double[10];
        for (int step = 0; step < 10; ++step)
        {
            using var stepScope = DisposeScope.Begin();
            opt.ZeroGrad();
            Tensor loss = NN.Losses.MSE(model.Forward(g["x"]), g["y"]);
            loss.Backward();
            opt.Step();
            losses[step] = loss.ToDouble();
        }
        Golden.AssertClose(g["losses"], Tensor.From(losses), what: name + " losses");
        foreach ((string key, Tensor p) in model.StateDict())
            Golden.AssertClose(g["final." + key], p, what: name + " final " + key);
    }

    [Fact]
    public void AdamMatchesPyTorch() => RunTrajectory("adam", p => new Adam(p, lr: 0.01, weightDecay: 0.01));

    [Fact]
    public void AdamWMatchesPyTorch() => RunTrajectory("adamw", p => new AdamW(p, lr: 0.01, weightDecay: 0.1));

    [Fact]
    public void AdamWWithoutDecayOnBiasesMatchesPyTorchsTwoGroups() =>
        RunTrajectory("adamw_groups", (p, m) => new AdamW(p, lr: 0.01, weightDecay: 0.1,
            noWeightDecay: m.NamedParameters().Where(x => x.Name.EndsWith("bias", StringComparison.Ordinal)).Select(x => x.Parameter)));

    [Fact]
    public void SgdMomentumMatchesPyTorch() => RunTrajectory("sgd_momentum", p => new SGD(p, lr: 0.05, momentum: 0.9, weightDecay: 0.01));

    [Fact]
    public void SgdNesterovMatchesPyTorch() => RunTrajectory("sgd_nesterov", p => new SGD(p, lr: 0.05, momentum: 0.9, nesterov: true));

    [Fact]
    public void SchedulersMatchPyTorch()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("schedulers");
        using Tensor p = Tensor.Zeros(1);
        void Check(string key, Func<Optimizer, LRScheduler> make)
        {
            using var opt = new SGD([p], lr: 0.1);
            LRScheduler s = make(opt);
            var rates = new List<double> { opt.LearningRate };
            for (int i = 0; i < 12; ++i)
            {
                s.Step();
                rates.Add(opt.LearningRate);
            }
            Golden.AssertClose(g[key], Tensor.From(rates.ToArray()), atol: 1e-12, rtol: 1e-9, what: key);
        }
        Check("step", o => new StepLR(o, 4, 0.5));
        Check("cosine", o => new CosineAnnealingLR(o, 8, 0.01));
        Check("warmup", o => new LinearWarmupLR(o, 3, 10));
        Check("warmup_cosine", o => new WarmupCosineLR(o, warmupSteps: 3, totalSteps: 10, minLr: 0.01));
    }

    [Fact]
    public void SavedOptimizerStateResumesTheSameTrajectory()
    {
        using var scope = DisposeScope.Begin();
        using var g = Golden.Load("optim_adam");
        var init = g.Keys.Where(k => k.StartsWith("init.", StringComparison.Ordinal)).ToDictionary(k => k["init.".Length..], k => g[k]);
        string dir = Directory.CreateTempSubdirectory("slovo-optim").FullName;
        double Train(Sequential model, Optimizer opt, int steps)
        {
            double last = 0;
            for (int i = 0; i < steps; ++i)
            {
                using var s = DisposeScope.Begin();
                opt.ZeroGrad();
                Tensor loss = NN.Losses.MSE(model.Forward(g["x"]), g["y"]);
                loss.Backward();
                opt.Step();
                last = loss.ToDouble();
            }
            return last;
        }
        using Sequential straight = MakeModel();
        straight.LoadStateDict(init);
        using var optStraight = new Adam(straight.Parameters(), lr: 0.01);
        double expected = Train(straight, optStraight, 8);

        using Sequential first = MakeModel();
        first.LoadStateDict(init);
        using var optFirst = new Adam(first.Parameters(), lr: 0.01);
        Train(first, optFirst, 5);
        var kind = new Serialization.ModelArchiveKind("test-checkpoint", "test model", "the test");
        string ckpt = Path.Combine(dir, "checkpoint.safetensors");
        Serialization.ModelArchive.SaveCheckpoint(ckpt, kind, "lr=0.01", first, optFirst, new[] { 5, 0 });

        using Sequential resumed = MakeModel(); // fresh weights: everything must come from the checkpoint
        using var optResumed = new Adam(resumed.Parameters(), lr: 0.01);
        Assert.Contains("other model or training settings",
            Assert.Throws<InvalidDataException>(() => Serialization.ModelArchive.LoadCheckpoint<int[]>(ckpt, kind, "lr=0.02", resumed, optResumed)).Message);
        var otherKind = kind with { Format = "another-checkpoint" };
        Assert.Contains("is not a checkpoint of a Slovo test model",
            Assert.Throws<InvalidDataException>(() => Serialization.ModelArchive.LoadCheckpoint<int[]>(ckpt, otherKind, "lr=0.01", resumed, optResumed)).Message);
        Assert.Equal(new[] { 5, 0 }, Serialization.ModelArchive.LoadCheckpoint<int[]>(ckpt, kind, "lr=0.01", resumed, optResumed));
        Assert.Equal(5, optResumed.StepCount);
        double actual = Train(resumed, optResumed, 3);
        Assert.Equal(expected, actual);
        foreach ((string k, Tensor p) in straight.StateDict())
            Assert.True(p.Equal(resumed.StateDict()[k]), k + " differs after resume");
    }

    [Fact]
    public void ClipGradNormScalesToTheLimit()
    {
        using var scope = DisposeScope.Begin();
        Tensor a = Tensor.Zeros(3).RequiresGrad_(), b = Tensor.Zeros(4).RequiresGrad_();
        (a * Tensor.From(new float[] { 3, 0, 0 })).Sum().Backward();
        (b * Tensor.From(new float[] { 0, 4, 0, 0 })).Sum().Backward();
        double before = GradClip.ClipGradNorm([a, b], 1.0);
        Assert.Equal(5.0, before, 5);
        Assert.Equal(1.0, Tensor.Cat([a.Grad!, b.Grad!]).Norm().ToDouble(), 4);
    }
}

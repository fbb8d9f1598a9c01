using Slovo.TestSupport;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Training;

namespace Slovo.Tests;

public class TrainingLoopTests
{
    [Fact]
    public void ABatchReadInPartsStepsAsTheWholeBatchDoes()
    {
        using var scope = DisposeScope.Begin();
        using var random = TestRandom.Use(4);
        Tensor x = Tensor.RandN(8, 5), y = Tensor.RandN(8, 1);
        float[] Train(int parts)
        {
            using Sequential model = RandomGenerator.Seeded(9, () => new Sequential(new Linear(5, 7), Activation.Tanh(), new Linear(7, 1)));
            using var opt = new AdamW(model.Parameters(), lr: 0.05);
            using var loop = new TrainingLoop(model, opt, new TrainingOptions { Epochs = 1, Clip = 0.5 });
            for (int step = 0; step < 5; ++step)
                loop.Step(Enumerable.Range(0, parts).Select(i => (Func<Tensor?>)(() =>
                {
                    long rows = 8 / parts;
                    return Losses.MSE(model.Forward(x.Narrow(0, i * rows, rows)), y.Narrow(0, i * rows, rows)).Div(parts);
                })).ToList());
            Assert.Equal(5, loop.Steps);
            return model.Parameters().SelectMany(p => p.Detach().Reshape(-1).ToArray<float>()).ToArray();
        }

        float[] whole = Train(1), inFour = Train(4);
        Assert.Equal(whole.Length, inFour.Length);
        for (int i = 0; i < whole.Length; ++i) Assert.Equal(whole[i], inFour[i], 5);
        Assert.NotEqual(whole, RandomGenerator.Seeded(9, () => new Sequential(new Linear(5, 7), Activation.Tanh(), new Linear(7, 1)))
            .Parameters().SelectMany(p => p.Detach().Reshape(-1).ToArray<float>()).ToArray()); // it did train
    }

    [Fact]
    public void AStepWithNothingToLearnFromIsNotTaken()
    {
        using var scope = DisposeScope.Begin();
        using var model = new Linear(2, 1);
        using var opt = new Adam(model.Parameters());
        using var loop = new TrainingLoop(model, opt, new TrainingOptions());
        Assert.False(loop.Step(() => null));
        Assert.False(loop.Step([() => null, () => null]));
        Assert.Equal(0, loop.Steps);
        Assert.Throws<ArgumentException>(() => new TrainingLoop(model, opt, new TrainingOptions { Epochs = 0 }));
    }
}

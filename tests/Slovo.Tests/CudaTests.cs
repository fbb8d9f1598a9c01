using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Tests;

/// <summary>A test that needs a CUDA device: skipped, with the reason, where libtorch sees none.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!LibTorch.CudaIsAvailable)
            Skip = $"needs a CUDA device; libtorch {LibTorch.Version} here sees none (scripts/check-gpu runs these checks on a GPU machine without .NET)";
    }
}

/// <summary>The same work on CUDA and on the CPU gives the same numbers (float32, TF32 off).</summary>
public class CudaTests
{
    private static readonly Device Gpu = Device.CUDA(0);

    private static double MaxRelDiff(Tensor a, Tensor b)
    {
        float[] x = a.To(Device.CPU).ToArray<float>(), y = b.To(Device.CPU).ToArray<float>();
        return x.Zip(y).Max(p => Math.Abs(p.First - p.Second) / (1 + Math.Abs(p.Second)));
    }

    [CudaFact]
    public void AnLstmAndAGptRunTheSameForwardAndBackwardOnCudaAsOnTheCpu()
    {
        LibTorch.AllowTF32(false);
        using var scope = DisposeScope.Begin();
        Tensor x = Tensor.RandN([4, 9, 16], generator: new RandomGenerator(1));
        Tensor ids = Tensor.RandInt(0, 50, [4, 9], generator: new RandomGenerator(2));
        foreach (Func<Module> make in new Func<Module>[]
                 {
                     () => new LSTM(16, 12, numLayers: 2, batchFirst: true, bidirectional: true),
                     () => new GptModel(new GptConfig { Layers = 2, Heads = 4, Width = 16, Positions = 16, VocabSize = 50, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0 }),
                 })
        {
            using Module cpu = RandomGenerator.Seeded(3, make), gpu = RandomGenerator.Seeded(3, make);
            gpu.To(Gpu);
            Assert.Equal(DeviceType.CUDA, gpu.Device.Type);
            Tensor Run(Module m, Device on) => m is LSTM l ? l.Forward(x.To(on)).Output : ((GptModel)m).Forward(ids.To(on)).Logits;
            Tensor yc = Run(cpu, Device.CPU), yg = Run(gpu, Gpu);
            Assert.True(MaxRelDiff(yg, yc) < 1e-4);
            yc.Sum().Backward();
            yg.Sum().Backward();
            foreach (((_, Tensor pc), (_, Tensor pg)) in cpu.NamedParameters().Zip(gpu.NamedParameters()))
                Assert.True(MaxRelDiff(pg.Grad!, pc.Grad!) < 1e-4);
        }
    }

    [CudaFact]
    public void AGptTrainsAndGeneratesOnCudaAsOnTheCpu()
    {
        LibTorch.AllowTF32(false);
        string[] texts = Enumerable.Range(0, 30).Select(i => $"line {i} of a small corpus, {i * 7 % 11}").ToArray();
        Vocabulary vocab = CharVocabulary.Build(texts);
        int[][] seqs = texts.Select(vocab.EncodeSequence).ToArray();
        var config = new GptConfig { Layers = 2, Heads = 2, Width = 16, Positions = 32, VocabSize = vocab.Size, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0 };
        var o = new GptTrainingOptions { Epochs = 2, BatchSize = 4, Context = 32, LearningRate = 3e-3, WarmupSteps = 2, Patience = 0 };
        using GptModel cpu = RandomGenerator.Seeded(4, () => new GptModel(config)), gpu = RandomGenerator.Seeded(4, () => new GptModel(config));
        gpu.To(Gpu);
        new GptTrainer().Train(cpu, vocab, seqs[..24], seqs[24..], 100, o);
        new GptTrainer().Train(gpu, vocab, seqs[..24], seqs[24..], 100, o);
        foreach ((string name, Tensor t) in cpu.StateDict()) Assert.True(MaxRelDiff(gpu.StateDict()[name], t) < 1e-3, name);
        var greedy = new GenerationOptions { Greedy = true, MaxTokens = 12 };
        IReadOnlyList<IReadOnlyList<int>> prompts = [vocab.EncodeSequence("line")[..^1], vocab.EncodeSequence("a small")[..^1]];
        Assert.Equal(Generator.GenerateBatch(cpu, prompts, greedy).Select(r => r.Tokens), Generator.GenerateBatch(gpu, prompts, greedy).Select(r => r.Tokens));
    }
}

using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.NN;
using Xunit;

namespace Slovo.Tests;

/// <summary>Activation checkpointing gives the plain run's gradients (dropout replayed), for GPT-2 and the open families, and
/// with a LoRA adapter on a frozen base.</summary>
public sealed class CheckpointActivationsTests
{
    // One training forward and backward under a fixed generator; the gradients by parameter name.
    private static Dictionary<string, float[]> Gradients(CachedDecoder model, Module trained, bool checkpoint, Tensor ids)
    {
        model.ZeroGrad();
        trained.ZeroGrad();
        model.CheckpointActivations = checkpoint;
        model.Train();
        using (var g = new RandomGenerator(42))
        using (g.Use())
        using (var scope = DisposeScope.Begin())
        {
            Tensor logits = model.Forward(ids).Logits;
            Tensor loss = logits.To(ScalarType.Float32).LogSoftmax(-1).Mean().Neg();
            loss.Backward();
        }
        model.CheckpointActivations = false;
        return trained.NamedParameters().Where(p => p.Parameter.Grad is not null)
            .ToDictionary(p => p.Name, p => p.Parameter.Grad!.To(ScalarType.Float32).Contiguous().ToArray<float>());
    }

    private static void AssertSame(Dictionary<string, float[]> plain, Dictionary<string, float[]> checkpointed, string what)
    {
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        Assert.NotEmpty(plain);
        foreach ((string name, float[] want) in plain)
        {
            double diff = want.Zip(checkpointed[name], (a, b) => Math.Abs((double)a - b)).Max();
            Assert.True(diff <= 1e-6, $"{what}: the gradient of {name} differs by {diff:g3}");
        }
    }

    [Fact]
    public void GptWithDropoutGetsThePlainRunsGradients()
    {
        using GptModel model = RandomGenerator.Seeded(5, () => new GptModel(new GptConfig
        {
            Layers = 3, Heads = 2, Width = 16, Positions = 32, VocabSize = 50, EmbeddingDropout = 0.1, AttentionDropout = 0.2, ResidualDropout = 0.2,
        }));
        using Tensor ids = Tensor.From([1L, 5, 9, 2, 7, 3, 11, 4, 8, 8, 1, 0], 2, 6);
        Dictionary<string, float[]> plain = Gradients(model, model, false, ids);
        long before = Checkpoint.Recomputed;
        Dictionary<string, float[]> checkpointed = Gradients(model, model, true, ids);
        Assert.True(Checkpoint.Recomputed - before >= 3, "each of the 3 blocks is recomputed in the backward pass");
        Assert.Equal(model.NamedParameters().Count(), plain.Count);
        AssertSame(plain, checkpointed, "gpt");
        Assert.Equal(0, Checkpoint.Pending);
        // Dropout is really drawn: another generator gives other gradients.
        Assert.NotEqual(plain["h.0.attn.c_attn.weight"], Gradients(model, model, false, ids.Flip([1])) ["h.0.attn.c_attn.weight"]);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gemma2")]
    [InlineData("mistral")]
    public void OpenFamiliesGetThePlainRunsGradients(string type)
    {
        (DecoderModel model, Tensor ids, _) = DecoderModelTests.LoadGolden(type);
        using (model)
        {
            AssertSame(Gradients(model, model, false, ids), Gradients(model, model, true, ids), type);
            Assert.Equal(0, Checkpoint.Pending);
        }
    }

    [Fact]
    public void ALoraAdapterOnAFrozenBaseGetsThePlainRunsGradients()
    {
        (DecoderModel model, Tensor ids, _) = DecoderModelTests.LoadGolden("llama");
        using (model)
        using (LoraAdapter adapter = RandomGenerator.Seeded(3, () => LoraAdapter.Attach(model, new LoraOptions { Rank = 2, Dropout = 0.3, Targets = ["q_proj", "v_proj", "down_proj"] })))
        {
            using (LibTorch.NoGrad())
            using (var g = new RandomGenerator(4))
                foreach (Tensor p in adapter.Parameters()) p.Normal_(0, 0.1, g);
            LoraAdapter.FreezeBase(model);
            Dictionary<string, float[]> plain = Gradients(model, adapter, false, ids), checkpointed = Gradients(model, adapter, true, ids);
            Assert.Equal(adapter.NamedParameters().Count(), checkpointed.Count); // every adapter weight, the first layer's too, gets its gradient
            AssertSame(plain, checkpointed, "lora");
            Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        }
    }
}

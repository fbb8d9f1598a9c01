using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.TestSupport;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Tests;

/// <summary>
/// GPT-2 against a reference written in PyTorch 1.13 (tests/golden/make_golden.py, gpt2_tiny) on the shipped
/// ../shared/models/tiny-random-gpt2. Tolerance: logits and gradients within 1e-4 absolute + 1e-4 relative (float32,
/// five layers of accumulation).
/// </summary>
public class GptModelTests
{
    private static string Tiny => Path.Combine(TestPaths.Shared, "models", "tiny-random-gpt2");

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        using var scope = DisposeScope.Begin();
        double diff = (expected.To(ScalarType.Float64) - actual.Detach().To(ScalarType.Float64)).Abs().Max().ToDouble();
        Assert.True(expected.AllClose(actual.Detach(), 1e-4, 1e-4), $"{what}: max |diff| {diff:E3}");
    }

    [Fact]
    public void TheHuggingFaceFolderLoadsAndMatchesTheReferenceForwardAndBackward()
    {
        using var scope = DisposeScope.Begin();
        Dictionary<string, Tensor> g = SafeTensors.Load(Path.Combine(TestPaths.RepoRoot, "tests", "golden", "gpt2_tiny.safetensors"));
        using GptModel model = GptModel.FromPretrained(Tiny);
        Assert.Equal(5, model.Config.Layers);
        Assert.Equal(1000, model.VocabSize);
        Assert.False(model.Training);
        (Tensor logits, KvCache cache) = model.Forward(g["in.ids"]);
        AssertClose(g["out.logits"], logits, "logits");
        Assert.Equal(6, cache.Length);
        (logits * g["gout.logits"]).Sum().Backward();
        Dictionary<string, Tensor> parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (string key in g.Keys.Where(k => k.StartsWith("grad.param.", StringComparison.Ordinal)))
            AssertClose(g[key], parameters[key["grad.param.".Length..]].Grad!, key);
    }

    [Fact]
    public void SaveThenLoadIsBitIdenticalAndKeepsHuggingFaceNames()
    {
        using var scope = DisposeScope.Begin();
        using GptModel model = GptModel.FromPretrained(Tiny);
        string dir = Directory.CreateTempSubdirectory("slovo-gpt2").FullName;
        model.SavePretrained(dir, Path.Combine(Tiny, "tokenizer.json"));
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")));
        // The written file holds what the original holds, name for name and bit for bit.
        Dictionary<string, Tensor> original = SafeTensors.Load(Path.Combine(Tiny, "model.safetensors"));
        Dictionary<string, Tensor> written = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(original.Keys.Order(), written.Keys.Order());
        foreach ((string key, Tensor t) in original) Assert.True(t.Equal(written[key]), key);
        using GptModel reloaded = GptModel.FromPretrained(dir);
        Assert.Equal(model.Config with { Architectures = [] }, reloaded.Config with { Architectures = [] });
        foreach ((string name, Tensor p) in model.StateDict()) Assert.True(p.Equal(reloaded.StateDict()[name]), name);
    }

    [Fact]
    public void GeneratesThroughTheGeneratorWithTheCacheAsAFullPassWould()
    {
        using var scope = DisposeScope.Begin();
        using GptModel model = GptModel.FromPretrained(Tiny);
        int[] prompt = [98, 5, 17, 300];
        GenerationResult greedy = Generator.Generate(model, prompt, new GenerationOptions { Greedy = true, MaxTokens = 8 });
        Assert.Equal(8, greedy.Tokens.Count);
        // Each greedy token is the argmax of a full pass over everything before it (no cache).
        var text = prompt.ToList();
        using var noGrad = LibTorch.NoGrad();
        foreach (int token in greedy.Tokens)
        {
            (Tensor logits, _) = model.Forward(Tensor.From(text.Select(t => (long)t).ToArray(), 1, text.Count));
            float[] last = logits[0, -1].ToArray<float>();
            Assert.Equal(Array.IndexOf(last, last.Max()), token);
            text.Add(token);
        }
        // And the cached logits themselves equal a full re-run's at every step.
        (KvCache cache, float[] cached) = model.Start(prompt);
        var seen = prompt.ToList();
        foreach (int token in greedy.Tokens)
        {
            (Tensor full, _) = model.Forward(Tensor.From(seen.Select(t => (long)t).ToArray(), 1, seen.Count));
            float[] rerun = full[0, -1].ToArray<float>();
            for (int v = 0; v < rerun.Length; ++v) Assert.Equal(rerun[v], cached[v], 1e-4); // a tolerance, not rounding to 4 places (0.105750002 and 0.105749995 round apart)
            (cache, cached) = model.Advance(cache, token);
            seen.Add(token);
        }
                GenerationResult sampled = Generator.Generate(model, prompt, new GenerationOptions { TopP = 0.9, Temperature = 0.8, MaxTokens = 8, Seed = 3 });
        Assert.Equal(sampled.Tokens, Generator.Generate(model, prompt, new GenerationOptions { TopP = 0.9, Temperature = 0.8, MaxTokens = 8, Seed = 3 }).Tokens);
    }

    [Fact]
    public void ABatchOfPromptsOfDifferentLengthsGivesWhatEachGivesAlone()
    {
        using var scope = DisposeScope.Begin();
        using GptModel model = GptModel.FromPretrained(Tiny);
        IReadOnlyList<int>[] prompts = [[98, 5, 17, 300, 41, 7], [12], [98, 640, 3]];
        var o = new GenerationOptions { Greedy = true, MaxTokens = 6 };
        IReadOnlyList<GenerationResult> batch = Generator.GenerateBatch(model, prompts, o);
        for (int i = 0; i < prompts.Length; ++i) Assert.Equal(Generator.Generate(model, prompts[i], o).Tokens, batch[i].Tokens);
        // The first step's logits too, not only the argmax: left padding, the mask and the position ids leave each row as it was alone.
        (KvCache state, float[][] together) = model.StartBatch(prompts);
        Assert.Equal(6, state.Length);
        for (int i = 0; i < prompts.Length; ++i)
        {
            (_, float[] alone) = model.Start(prompts[i]);
            for (int v = 0; v < alone.Length; ++v) Assert.Equal(alone[v], together[i][v], 1e-4);
        }
    }

    [Fact]
    public void ReadingPastTheContextIsAClearError()
    {
        using var scope = DisposeScope.Begin();
        using GptModel model = GptModel.FromPretrained(Tiny);
        (KvCache state, _) = model.Start(Enumerable.Repeat(7, 511).ToArray());
        (state, _) = model.Advance(state, 8);
        var e = Assert.Throws<ArgumentException>(() => model.Advance(state, 9));
        Assert.Contains("513 positions exceed the model's context of 512 (n_positions)", e.Message);
    }

    [Fact]
    public void OnlyTheBlocksProjectionMatricesDecay()
    {
        using GptModel model = GptModel.FromPretrained(Tiny);
        var exempt = new HashSet<Tensor>(model.NoWeightDecayParameters(), ReferenceEqualityComparer.Instance);
        string[] decayed = model.NamedParameters().Where(p => !exempt.Contains(p.Parameter)).Select(p => p.Name).Order().ToArray();
        Assert.Equal(20, decayed.Length); // 4 matrices × 5 layers
        Assert.All(decayed, n => Assert.Matches(@"^h\.\d\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$", n));
    }

    [Fact]
    public void BadFoldersGetErrorsNamingTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-gpt2-bad").FullName;
        Assert.Contains("no config.json", Assert.Throws<FileNotFoundException>(() => GptModel.FromPretrained(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"bert\"}");
        File.Copy(Path.Combine(Tiny, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        Assert.Contains("not gpt2", Assert.Throws<InvalidDataException>(() => GptModel.FromPretrained(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(Tiny, "config.json")).Replace("\"n_layer\": 5", "\"n_layer\": 6"));
        string e = Assert.Throws<InvalidDataException>(() => GptModel.FromPretrained(dir)).Message;
        Assert.Contains("model.safetensors", e);
        Assert.Contains("do not fit the config", e);
    }
}

using System.Text.Json.Nodes;
using Slovo.LanguageModels;
using Slovo.Training;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Xunit;

namespace Slovo.Tests;

/// <summary>LoRA adapters on GPT-2 and the open families: a fresh adapter changes nothing, merging keeps the outputs, PEFT's
/// files round-trip, only the adapter trains, and a killed adapter run resumes exactly.</summary>
public sealed class LoraTests
{
    private static GptModel Gpt(int vocab = 40, int seed = 3) => RandomGenerator.Seeded((ulong)seed, () => new GptModel(new GptConfig
    {
        Layers = 2, Heads = 2, Width = 16, Positions = 32, VocabSize = vocab,
    }));

    private static Tensor Ids() => Tensor.From([1L, 5, 9, 2, 7, 3, 11, 4], 1, 8);

    private static float[] Logits(CachedDecoder m, Tensor ids)
    {
        m.Eval();
        using var noGrad = LibTorch.NoGrad();
        using Tensor logits = m.Forward(ids).Logits;
        return logits.Contiguous().ToArray<float>();
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static void Randomize(LoraAdapter adapter, ulong seed)
    {
        using var g = new RandomGenerator(seed);
        using var use = g.Use();
        using var noGrad = LibTorch.NoGrad();
        foreach (Tensor p in adapter.Parameters()) p.Normal_(0, 0.2);
    }

    public static TheoryData<string> Models => new() { "gpt", "llama", "qwen2", "gemma2" };

    private static CachedDecoder Load(string kind) => kind == "gpt" ? Gpt() : DecoderModelTests.LoadGolden(kind).Model;

    [Theory]
    [MemberData(nameof(Models))]
    public void AnAdapterWhoseBIsZeroLeavesTheOutputsUnchanged(string kind)
    {
        using CachedDecoder model = Load(kind);
        using Tensor ids = Ids();
        float[] before = Logits(model, ids);
        using LoraAdapter adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4, Targets = kind == "gpt" ? ["c_attn", "c_proj", "c_fc"] : ["q_proj", "v_proj", "down_proj"] });
        Assert.True(adapter.ParameterCount() > 0);
        Assert.Equal(before, Logits(model, ids)); // B = 0: the low-rank term is exactly zero
        Randomize(adapter, 7);
        Assert.True(MaxDiff(before, Logits(model, ids)) > 1e-3, "a non-zero adapter must change the logits");
        adapter.Detach();
        Assert.Equal(before, Logits(model, ids));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void MergedAndUnmergedOutputsAgree(string kind)
    {
        using CachedDecoder model = Load(kind);
        using Tensor ids = Ids();
        using LoraAdapter adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 3, Alpha = 6, Targets = kind == "gpt" ? ["c_attn", "c_fc"] : ["q_proj", "k_proj", "o_proj", "gate_proj", "up_proj"] });
        Randomize(adapter, 8);
        float[] unmerged = Logits(model, ids);
        adapter.Merge();
        float[] merged = Logits(model, ids);
        double diff = MaxDiff(unmerged, merged);
        Assert.True(diff < 1e-5, $"{kind}: merged and unmerged differ by {diff:g3}");
    }

    /// <summary>PEFT adapter folders written by tests/golden/make_lora_golden.py (PyTorch, PEFT's layout and names; rank-stabilised
    /// scaling for qwen2) give the logits PyTorch computes with the adapted weights.</summary>
    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void APeftAdapterGivesPyTorchsLogits(string type)
    {
        (DecoderModel model, Tensor ids, Tensor expected) = DecoderModelTests.LoadGolden(type, "lora");
        using (model)
        using (LoraAdapter adapter = LoraAdapter.Load(Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", $"lora_{type}"), model))
        using (LibTorch.NoGrad())
        {
            Assert.Equal(type == "llama" ? 2 * 2 : 2 * 7, adapter.LayerNames.Count); // 2 layers × the targets
            using Tensor logits = model.Forward(ids).Logits;
            double diff = logits.Sub(expected).Abs().Max().ToDouble();
            Assert.True(diff < 1e-4, $"{type}: max |Δ| {diff:g3} against PyTorch");
            adapter.Detach();
            using Tensor plain = model.Forward(ids).Logits;
            Assert.True(plain.Sub(expected).Abs().Max().ToDouble() > 1e-2, "without the adapter the logits must differ");
        }
    }

    [Fact]
    public void PeftFilesUsePeftsNamesAndLoadBackToTheSameOutputs()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-lora").FullName;
        using Tensor ids = Ids();
        float[] expected;
        using (GptModel model = Gpt())
        using (LoraAdapter adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4, Alpha = 8, Targets = ["c_attn", "c_proj"] }, baseModel: "/models/base"))
        {
            Randomize(adapter, 9);
            expected = Logits(model, ids);
            adapter.Save(dir);
        }
        var keys = new List<(string Name, long[] Shape)>();
        SafeTensors.ForEach(Path.Combine(dir, LoraAdapter.WeightsFile), e => keys.Add((e.Name, e.Shape)));
        // PEFT's names on GPT2LMHeadModel: Conv1D layers under transformer.h.N, A (r, in) and B (out, r).
        Assert.Contains(keys, k => k.Name == "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight" && k.Shape.SequenceEqual([4L, 16]));
        Assert.Contains(keys, k => k.Name == "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight" && k.Shape.SequenceEqual([48L, 4]));
        Assert.Contains(keys, k => k.Name == "base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight" && k.Shape.SequenceEqual([16L, 4]));
        Assert.Equal(2 * 2 * 3, keys.Count); // 2 layers × (c_attn, attn.c_proj, mlp.c_proj) × (A, B)
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, LoraAdapter.ConfigFile)))!;
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal(4, (int)config["r"]!);
        Assert.Equal(8.0, (double)config["lora_alpha"]!);
        Assert.True((bool)config["fan_in_fan_out"]!);
        Assert.Equal("/models/base", (string?)config["base_model_name_or_path"]);
        using (GptModel model = Gpt())
        using (LoraAdapter loaded = LoraAdapter.Load(dir, model))
        {
            Assert.Equal(expected, Logits(model, ids));
            Assert.Equal("/models/base", loaded.BaseModel);
        }
        // A base of another shape is refused, naming the cause.
        using GptModel wider = RandomGenerator.Seeded(1, () => new GptModel(new GptConfig { Layers = 2, Heads = 2, Width = 32, Positions = 32, VocabSize = 40 }));
        Assert.Contains("another base", Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(dir, wider)).Message);
    }

    [Fact]
    public void OpenFamilyAdaptersAreNamedAsPeftNamesLlamaLayers()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-lora-llama").FullName;
        using DecoderModel model = DecoderModelTests.LoadGolden("llama").Model;
        using (LoraAdapter adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 2 }))
        {
            Assert.Equal(["q_proj", "v_proj"], adapter.Options.Targets);
            adapter.Save(dir);
            adapter.Detach();
        }
        var names = new List<string>();
        SafeTensors.ForEach(Path.Combine(dir, LoraAdapter.WeightsFile), e => names.Add(e.Name));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", names);
        Assert.Contains("no layer of this", Assert.Throws<ArgumentException>(() => LoraAdapter.Attach(model, new LoraOptions { Targets = ["c_attn"] })).Message);
    }

    [Fact]
    public void AllLinearTargetsEveryLinearLayerButTheOutputHead()
    {
        DecoderConfig config;
        using (DecoderModel golden = DecoderModelTests.LoadGolden("llama").Model) config = golden.Config with { TieEmbeddings = false };
        using DecoderModel llama = new(config); // an output head of its own, which all-linear leaves alone
        Assert.Contains("lm_head", LoraAdapter.TargetableNames(llama));
        using (LoraAdapter adapter = LoraAdapter.Attach(llama, new LoraOptions { Rank = 2, Targets = [LoraAdapter.AllLinear] }))
        {
            Assert.Equal(["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"], adapter.Options.Targets!.Order(StringComparer.Ordinal));
            Assert.Equal(7 * llama.Config.Layers, adapter.LayerNames.Count);
            adapter.Detach();
        }
        using GptModel gpt = Gpt();
        using LoraAdapter onGpt = LoraAdapter.Attach(gpt, new LoraOptions { Rank = 2, Targets = [LoraAdapter.AllLinear] });
        Assert.Equal(["c_attn", "c_fc", "c_proj"], onGpt.Options.Targets!.Order(StringComparer.Ordinal));
        Assert.Equal(4 * 2, onGpt.LayerNames.Count); // c_attn, the attention's c_proj, c_fc and the MLP's c_proj in each of 2 blocks
    }

    [Fact]
    public void SeveralAdaptersOnOneBaseAreChosenPerThread()
    {
        using GptModel model = Gpt();
        using Tensor ids = Ids();
        float[] plain = Logits(model, ids);
        using LoraAdapter a = LoraAdapter.Attach(model, new LoraOptions { Rank = 2 });
        Randomize(a, 1);
        float[] withA = Logits(model, ids);
        using LoraAdapter b = LoraAdapter.Attach(model, new LoraOptions { Rank = 2 });
        Randomize(b, 2);
        float[] withB = Logits(model, ids); // unselected: the last attached applies
        Assert.True(MaxDiff(withA, withB) > 1e-3);
        using (a.Use()) Assert.Equal(withA, Logits(model, ids));
        using (LoraLayer.Select(null)) Assert.Equal(plain, Logits(model, ids));
        float[]? onOther = null;
        var thread = new Thread(() => { using (a.Use()) onOther = Logits(model, ids); });
        using (b.Use())
        {
            thread.Start();
            thread.Join();
            Assert.Equal(withB, Logits(model, ids));
        }
        Assert.Equal(withA, onOther);
    }

    private static float[] BaseWeights(CachedDecoder m) =>
        m.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();

    [Fact]
    public void OnlyTheAdapterTrains_TheFrozenWeightsStayBitIdentical_AndAKilledRunResumesExactly()
    {
        LmDataset d = LmTrainingTests.Words();
        var o = new GptTrainingOptions
        {
            Epochs = 3, BatchSize = 3, Context = 8, LearningRate = 0.02, MinLearningRate = 0.002, WarmupSteps = 2, Patience = 0, Seed = 5, CheckpointEvery = 2,
        };
        var lora = new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1, Targets = ["c_attn", "c_fc"] };
        string full = Directory.CreateTempSubdirectory("slovo-lora-full").FullName, killed = Directory.CreateTempSubdirectory("slovo-lora-killed").FullName;
        float[] adapterWeights;
        LmTrainingResult r1;
        using (GptModel m = Gpt(d.Vocab.Size))
        {
            float[] frozen = BaseWeights(m);
            using LoraAdapter adapter = RandomGenerator.Seeded(1, () => LoraAdapter.Attach(m, lora));
            r1 = new GptTrainer { Adapter = adapter }.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, full);
            Assert.Equal(frozen, BaseWeights(m));
            Assert.All(m.Parameters(), p => Assert.Null(p.Grad));
            adapterWeights = adapter.Parameters().SelectMany(p => p.Contiguous().ToArray<float>()).ToArray();
            Assert.Contains(adapterWeights, w => w != 0);
        }
        Assert.True(r1.History[^1].TrainLoss < r1.History[0].TrainLoss, "the adapter's training loss did not fall");
        Assert.True(File.Exists(Path.Combine(full, RunFolder.AdapterDir, LoraAdapter.ConfigFile)));
        Assert.False(Directory.Exists(Path.Combine(full, RunFolder.ModelDir)));
        // The checkpoint holds the adapter and its optimizer state, nothing of the base.
        var checkpointKeys = new List<string>();
        SafeTensors.ForEach(Path.Combine(full, RunFolder.CheckpointFile), e => checkpointKeys.Add(e.Name));
        Assert.DoesNotContain(checkpointKeys, k => k.Contains("wte", StringComparison.Ordinal) || k.EndsWith("c_attn.weight", StringComparison.Ordinal));
        Assert.Contains(checkpointKeys, k => k.EndsWith("c_attn.lora_A.weight", StringComparison.Ordinal));

        int checkpoints = 0;
        using (GptModel m = Gpt(d.Vocab.Size))
        using (LoraAdapter adapter = RandomGenerator.Seeded(1, () => LoraAdapter.Attach(m, lora)))
        {
            var dying = new GptTrainer { Adapter = adapter, OnCheckpoint = _ => { if (++checkpoints == 3) throw new OperationCanceledException("killed"); } };
            Assert.Throws<OperationCanceledException>(() => dying.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed));
        }
        using (GptModel m = Gpt(d.Vocab.Size))
        using (LoraAdapter adapter = RandomGenerator.Seeded(77, () => LoraAdapter.Attach(m, lora))) // other A: everything must come from the checkpoint
        {
            LmTrainingResult r2 = new GptTrainer { Adapter = adapter }.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed, resume: true);
            Assert.Equal(adapterWeights, adapter.Parameters().SelectMany(p => p.Contiguous().ToArray<float>()).ToArray());
            Assert.Equal(r1.History.Select(h => h.Valid.NllSum), r2.History.Select(h => h.Valid.NllSum));
        }
        using (GptModel m = Gpt(d.Vocab.Size))
        using (LoraAdapter adapter = LoraAdapter.Attach(m, lora with { Rank = 8 }))
            Assert.Contains("same options", Assert.Throws<InvalidDataException>(() =>
                new GptTrainer { Adapter = adapter }.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed, resume: true)).Message);
    }

    [Fact]
    public void BadAdapterFoldersGetOneLineErrors()
    {
        using GptModel model = Gpt();
        string dir = Directory.CreateTempSubdirectory("slovo-lora-bad").FullName;
        Assert.Contains("adapter_config.json", Assert.Throws<FileNotFoundException>(() => LoraAdapter.Load(dir, model)).Message);
        File.WriteAllText(Path.Combine(dir, LoraAdapter.ConfigFile), """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": true}""");
        Assert.Contains("DoRA", Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(dir, model)).Message);
        File.WriteAllText(Path.Combine(dir, LoraAdapter.ConfigFile), """{"peft_type": "PREFIX_TUNING"}""");
        Assert.Contains("only LORA", Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(dir, model)).Message);
        File.WriteAllText(Path.Combine(dir, LoraAdapter.ConfigFile), """{"peft_type": "LORA", "r": 4, "lora_alpha": 8}""");
        Assert.Contains(LoraAdapter.WeightsFile, Assert.Throws<FileNotFoundException>(() => LoraAdapter.Load(dir, model)).Message);
    }
}

using System.Text.Json.Nodes;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.TestSupport;
using Slovo.Torch;
using Slovo.Torch.Serialization;
using Xunit;

namespace Slovo.Tests;

/// <summary>
/// The open decoder families against a reference written in plain PyTorch 1.13 (tests/golden/make_decoder_golden.py):
/// for each family a tiny config exercising what it has (GQA and MQA, biases, q/k norms, sliding windows, soft-capping,
/// fused projections, partial rotary, every rope_scaling type), its weights under Hugging Face's names, and the logits.
/// </summary>
public sealed class DecoderModelTests
{
    public static TheoryData<string> Families => new(DecoderConfig.ModelTypes);

    internal static (DecoderModel Model, Tensor Ids, Tensor Logits) LoadGolden(string type, string file = "decoder")
    {
        (Dictionary<string, Tensor> g, Dictionary<string, string> meta) =
            SafeTensors.LoadWithMetadata(Path.Combine(TestPaths.RepoRoot, "tests", "golden", $"{file}_{type}.safetensors"));
        DecoderConfig config = DecoderConfig.FromHuggingFace((JsonObject)JsonNode.Parse(meta["config"])!);
        var model = new DecoderModel(config);
        var loader = model.BeginLoad();
        foreach ((string key, Tensor t) in g)
            if (key.StartsWith("param.", StringComparison.Ordinal)) loader.Load(key["param.".Length..], t);
        loader.Finish(type);
        model.Eval();
        return (model, g["in.ids"], g["out.logits"]);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void LogitsMatchThePyTorchReference(string type)
    {
        (DecoderModel model, Tensor ids, Tensor expected) = LoadGolden(type);
        using (model)
        using (LibTorch.NoGrad())
        {
            using Tensor logits = model.Forward(ids).Logits;
            double diff = logits.Sub(expected).Abs().Max().ToDouble();
            Assert.True(diff < 1e-4, $"{type}: max |Δ| {diff:g3} against PyTorch");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void CachedAndBatchedDecodingGiveTheFullForwardsLogits(string type)
    {
        (DecoderModel model, Tensor ids, Tensor expected) = LoadGolden(type);
        using (model)
        {
            long[] all = ids.ToArray<long>();
            int[] row0 = all.Take(8).Select(i => (int)i).ToArray(), row1 = all.Skip(8).Select(i => (int)i).ToArray();
            float[] want = expected.ToArray<float>();
            int v = model.VocabSize;
            float[] Want(int row, int position) => want.AsSpan((row * 8 + position) * v, v).ToArray();
            // Dynamic NTK scaling (and longrope) change the frequencies once a call reads past the trained length, so a cached sequence (earlier keys
            // rotated with the old θ) differs from a full pass by design, as in Hugging Face; there rows are compared with
            // one sequence stepped alone.
            bool dynamic = model.Config.RopeScaling?.Type is "dynamic" or "longrope";
            float[][] Alone(int[] row, int prompt)
            {
                var result = new List<float[]>();
                (KvCache state, float[] logits) = model.Start(row[..prompt]);
                result.Add(logits);
                for (int i = prompt; i < 8; ++i)
                {
                    (KvCache next, logits) = model.Advance(state, row[i]);
                    model.Release(state);
                    state = next;
                    result.Add(logits);
                }
                model.Release(state);
                return result.ToArray();
            }
            float[][] alone0 = Alone(row0, 2), alone1 = Alone(row1, 5);
            if (!dynamic)
            {
                for (int i = 1; i < 8; ++i) AssertClose(Want(0, i), alone0[i - 1], $"{type} row 0 position {i}");
                for (int i = 4; i < 8; ++i) AssertClose(Want(1, i), alone1[i - 4], $"{type} row 1 position {i}");
            }
            // A left-padded batch: prompts of 2 and 5 tokens, then stepped together; each row as it was alone.
            (KvCache batch, float[][] rows) = model.StartBatch([row0[..2], row1[..5]]);
            AssertClose(alone0[0], rows[0], type + " batch row 0");
            AssertClose(alone1[0], rows[1], type + " batch row 1");
            for (int i = 0; i < 3; ++i)
            {
                (KvCache next, rows) = model.AdvanceBatch(batch, [row0[2 + i], row1[5 + i]]);
                model.Release(batch);
                batch = next;
                AssertClose(alone0[1 + i], rows[0], $"{type} batch step {i} row 0");
                AssertClose(alone1[1 + i], rows[1], $"{type} batch step {i} row 1");
            }
            model.Release(batch);
        }
    }

    private static void AssertClose(float[] want, float[] got, string what)
    {
        double diff = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff < 1e-4, $"{what}: max |Δ| {diff:g3}");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void AHuggingFaceFolderRoundTrips(string type)
    {
        (DecoderModel model, Tensor ids, Tensor expected) = LoadGolden(type);
        string dir = Path.Combine(Path.GetTempPath(), "slovo-decoder-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (model) model.SavePretrained(dir);
            using DecoderModel back = DecoderModel.FromPretrained(dir);
            Assert.Equal(type, back.Config.ModelType);
            using var noGrad = LibTorch.NoGrad();
            using Tensor logits = back.Forward(ids).Logits;
            Assert.True(logits.Sub(expected).Abs().Max().ToDouble() < 1e-4);
            using DecoderModel half = DecoderModel.FromPretrained(dir, ScalarType.BFloat16);
            Assert.Equal(ScalarType.BFloat16, half.StateDict().Values.First(t => t.DType.IsFloatingPoint()).DType);
            using Tensor approx = half.Forward(ids).Logits.To(ScalarType.Float32);
            // bf16 keeps about 3 significant digits: the logits stay near, far from the float32 tolerance.
            double diff = approx.Sub(expected).Abs().Max().ToDouble(), scale = expected.Abs().Max().ToDouble();
            Assert.True(diff < 0.1 * scale, $"bf16 max |Δ| {diff:g3} of logits up to {scale:g3}");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void SoftCappedAttentionWithoutAWindowIsStillCausal()
    {
        (DecoderModel golden, Tensor ids, _) = LoadGolden("gemma2");
        using (golden)
        {
            DecoderConfig config = golden.Config with { SlidingWindow = null, SlidingLayers = null };
            using var model = new DecoderModel(config);
            model.LoadStateDict(golden.StateDict());
            model.Eval();
            using var noGrad = LibTorch.NoGrad();
            int[] row = ids.ToArray<long>().Take(8).Select(i => (int)i).ToArray();
            float[] full = model.Forward(Tensor.From(row.Select(i => (long)i).ToArray(), 1, 8)).Logits[0, 3].ToArray<float>();
            (KvCache state, float[] prefix) = model.Start(row[..4]);                 // position 3 read with nothing after it
            model.Release(state);
            AssertClose(prefix, full, "position 3 of the full pass against the 4-token prefix");
        }
    }
}

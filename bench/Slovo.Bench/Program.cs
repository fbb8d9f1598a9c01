using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Text;

// Side-by-side benchmarks of Slovo.Torch against PyTorch (Debian python3-torch: the same libtorch 1.13), in one run.
// PyTorch runs as a persistent peer process (bench/peer_torch.py), and Slovo and PyTorch rounds alternate one by
// one so both see the same machine noise; medians are compared and the ratio is printed last.
// usage: dotnet run -c Release --project bench/Slovo.Bench -- [add|lstm|gpt-train|gpt-generate|encode|gpt2|gpt2-dotnet|bpe-train|batch-encode|batch-encode-dotnet|rank|w2v-load|lm-generate|lm-train|cls-lstm|cls-train|probes|serve [SECONDS [CLIENTS,... [gpt|lstm]]]|serve-soak [SECONDS [CLIENTS]]|allreduce|load-rss|engine-decode [gpt2|smollm] [torch]|engine-cache|engine-rss|engine-trained MODEL TEXTS [N]|engine-profile|encode-engines|train-memory [STEPS [BATCH [CONTEXT]]]|all]
// ("load-rss" is the decoder-loading memory measure (r) and "engine-decode" the engines' decoding speed (q), not part of "all"; "serve" is the HTTP load test (o), "serve-soak" its soak (o''), and "allreduce" the all-reduce of (p), not part of "all"; "probes" prints the seeded quality probes behind the tests' thresholds; it is not part of "all")

string which = args.Length > 0 ? args[0] : "all";
if (which == "all")
{
    // Each benchmark runs in a process of its own, so none inherits another's heap, thread pools or memory high-water
    // mark: "all" gives the figures the single benchmarks give.
    string self = typeof(Peer).Assembly.Location;
    foreach (string name in new[] { "add", "lstm", "gpt-train", "gpt-generate", "encode", "gpt2", "gpt2-dotnet", "bpe-train", "batch-encode", "batch-encode-dotnet", "rank", "w2v-load",
                                    "lm-generate", "lm-train", "cls-lstm", "cls-train" })
    {
        string host = Environment.ProcessPath!; // the dotnet host (dotnet Slovo.Bench.dll) or the app host (Slovo.Bench)
        string[] argv = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [self, name] : [name];
        using var child = Process.Start(new ProcessStartInfo(host, argv) { UseShellExecute = false })!;
        child.WaitForExit();
        if (child.ExitCode != 0) return child.ExitCode;
    }
    return 0;
}
if (which.StartsWith("load-rss", StringComparison.Ordinal)) return LoadBench.Run(args);
if (which == "encode-engines")
{
    EncoderEngineBench.Run(FindRepoRoot());
    return 0;
}
if (which == "engine-profile")
{
    DecodeProfile.Run();
    return 0;
}
if (which == "engine-rss") return EngineBench.Memory(args);
if (which == "train-memory") return TrainMemoryBench.Run(args);
if (which == "train-memory-worker") return TrainMemoryBench.Worker(args);
if (which == "engine-trained") return TrainedEngineBench.Run(args);
if (which == "engine-cache")
{
    EngineBench.RunCache();
    return 0;
}
if (which == "engine-decode")
{
    EngineBench.Run(args);
    return 0;
}
if (which == "allreduce-worker")
{
    DistBench.Worker(args);
    return 0;
}
string python = Environment.GetEnvironmentVariable("SLOVO_PYTHON") ?? "/usr/bin/python3";
string peer = Path.Combine(FindRepoRoot(), "bench", "peer_torch.py");
if (!File.Exists(python))
{
    Console.Error.WriteLine($"The PyTorch peer needs {python} with torch. HINT: apt-get install -y python3-torch (or set SLOVO_PYTHON)");
    return 2;
}
bool torchFree = which is "serve" or "serve-soak" or "gpt2" or "gpt2-dotnet" or "bpe-train" or "batch-encode" or "batch-encode-dotnet" or "rank" or "w2v-load" or "probes";
Console.WriteLine(torchFree ? $"{Environment.ProcessorCount} cores" : $"libtorch {LibTorch.Version}, {Environment.ProcessorCount} cores");
try
{
    if (which is "add" or "all") BenchAdd();
    if (which is "lstm" or "all") BenchLstm();
    if (which is "gpt-train" or "all") GptBench.Train(python, peer);
    if (which is "gpt-generate" or "all") GptBench.Generate(python, peer);
    if (which is "encode" or "all") EncoderBench.Run(python, peer, FindRepoRoot());
    if (which is "gpt2" or "all") BenchGpt2();
    if (which is "gpt2-dotnet" or "all") BenchGpt2DotNet();
    if (which is "bpe-train" or "all") BenchBpeTrain();
    if (which is "batch-encode" or "all") BenchBatchEncode();
    if (which is "batch-encode-dotnet" or "all") BenchBatchEncodeDotNet();
    if (which is "rank" or "all") BenchRank();
    if (which is "w2v-load" or "all") BenchW2vLoad();
    if (which is "lm-generate" or "all") LmBench.Generate();
    if (which is "lm-train" or "all") LmBench.Train(python, peer);
    if (which is "cls-lstm" or "all") ClassifyBench.HandVsFused();
    if (which is "cls-train" or "all") ClassifyBench.Train(python, peer);
    if (which is "probes") Probes.Run(FindRepoRoot());
    if (which is "serve") ServeBench.Run(args);
    if (which is "serve-soak") ServeBench.Soak(args);
    if (which is "allreduce") DistBench.Run(python, FindRepoRoot());
}
catch (PeerUnavailableException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
return 0;

void BenchRank()
{
    // The course's layout: 3,760 queries, each with its duplicate and 1,000 - 1 negatives drawn from a pool of questions.
    const int queries = 3760, candidates = 1000, dim = 300, pool = 40_000;
    var rng = new Random(1);
    float[] vectors = new float[pool * dim];
    for (int i = 0; i < vectors.Length; ++i) vectors[i] = (float)(rng.NextDouble() * 2 - 1);
    var pairs = Enumerable.Range(0, queries).Select(i => (i, queries + i)).ToList();
    var cases = Slovo.Evaluation.RankingEvaluation.BuildCases(pairs, pool, candidates - 1, seed: 2);
    Slovo.Evaluation.RankingEvaluation.Ranks(vectors, dim, cases.Take(50).ToList()); // warm-up
    var times = new List<double>();
    int[] ranks = [];
    for (int r = 0; r < 5; ++r)
    {
        var sw = Stopwatch.StartNew();
        ranks = Slovo.Evaluation.RankingEvaluation.Ranks(vectors, dim, cases);
        double hits = Slovo.Evaluation.RankingEvaluation.HitsAtK(ranks, 10) + Slovo.Evaluation.RankingEvaluation.DcgAtK(ranks, 10);
        times.Add(sw.Elapsed.TotalSeconds);
        if (double.IsNaN(hits)) throw new InvalidOperationException("NaN metric");
    }
    Console.WriteLine($"(f) ranking: {queries:N0} queries x {candidates:N0} candidates of {dim}-d vectors (pool of {pool:N0}), {Environment.ProcessorCount} cores,");
    Console.WriteLine($"    ranks + Hits@10 + DCG@10, median of 5 runs: {Median(times):F3} s (target < 5 s; fastest {times.Min():F3} s)");
}

void BenchW2vLoad()
{
    const int words = 500_000, dim = 300;
    string path = Path.Combine(Path.GetTempPath(), "slovo-bench-500k.bin");
    if (!File.Exists(path))
    {
        var rng = new Random(3);
        var data = new float[words * dim];
        for (int i = 0; i < data.Length; ++i) data[i] = (float)(rng.NextDouble() * 2 - 1);
        new Slovo.Embeddings.KeyedVectors(Enumerable.Range(0, words).Select(i => "w" + i.ToString(CultureInfo.InvariantCulture)).ToList(), data, dim).Save(path);
    }
    var slovo = new List<double>();
    var gensim = new List<double>();
    for (int r = 0; r < 3; ++r)
    {
        var sw = Stopwatch.StartNew();
        var kv = Slovo.Embeddings.KeyedVectors.Load(path, binary: true);
        slovo.Add(sw.Elapsed.TotalSeconds);
        if (kv.Count != words) throw new InvalidOperationException("wrong count");
        var psi = new ProcessStartInfo(python, $"{Path.Combine(FindRepoRoot(), "bench", "peer_gensim.py")} {path}") { RedirectStandardOutput = true };
        using Process p = Process.Start(psi)!;
        string[] answer = p.StandardOutput.ReadToEnd().Trim().Split(' ');
        p.WaitForExit();
        if (p.ExitCode != 0 || answer.Length != 2) throw new InvalidOperationException("gensim peer failed. HINT: apt-get install -y python3-gensim");
        gensim.Add(double.Parse(answer[0], CultureInfo.InvariantCulture));
    }
    double s = Median(slovo), g = Median(gensim);
    Console.WriteLine($"(g) word2vec binary load, {words:N0} x {dim} ({new FileInfo(path).Length / 1e6:F0} MB), median of 3 alternating rounds");
    Console.WriteLine($"    Slovo  {s:F2} s   (rounds: {string.Join(", ", slovo.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})");
    Console.WriteLine($"    gensim {g:F2} s   (rounds: {string.Join(", ", gensim.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}; gensim 4.2, load time measured inside Python)");
    Console.WriteLine($"    ratio Slovo/gensim time = {s / g:F2} (target <= 0.5)");
}

// ~100 MB of the shipped text (Pushkin, arXiv abstracts, tweets, IMDb train, Yelp), repeated; written once to /tmp.
string Corpus100()
{
    string path = Path.Combine(Path.GetTempPath(), "slovo-bench-corpus100.txt");
    if (File.Exists(path) && new FileInfo(path).Length >= 100_000_000) return path;
    string shared = Slovo.SharedData.Data();
    using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "arxiv", "arxivData.json")));
    var parts = new List<string>
    {
        File.ReadAllText(Path.Combine(shared, "pushkin", "pushkin.txt")).Replace("\r\n", "\n"),
        string.Join("\n", doc.RootElement.EnumerateArray().Select(e => e.GetProperty("summary").GetString())),
    };
    foreach (string f in new[] { "tweets/positive.txt", "tweets/negative.txt", "imdb/train/positive", "imdb/train/negative", "yelp/reviews.txt" })
        parts.Add(File.ReadAllText(Path.Combine(shared, f)));
    string unit = string.Join("\n", parts);
    using var writer = new StreamWriter(path, false, new System.Text.UTF8Encoding(false));
    long written = 0, unitBytes = System.Text.Encoding.UTF8.GetByteCount(unit);
    while (written < 100_000_000) { writer.Write(unit); written += unitBytes; }
    return path;
}

void BenchBpeTrain()
{
    ResetPeakRss();
    string peersDir = Path.Combine(FindRepoRoot(), "bench", "peers");
    string corpus = Corpus100();
    using Peer hf = Peer.Start("node", Path.Combine(peersDir, "hf_peer.mjs"), peersDir, "=> ");
    var slovo = new List<double>();
    var hfTimes = new List<double>();
    for (int r = 0; r < 2; ++r)
    {
        var sw = Stopwatch.StartNew();
        var counts = Slovo.Tokenizers.Trainers.WordCounter.CountFiles([corpus], null, new Slovo.Tokenizers.PreTokenizers.WhitespacePreTokenizer());
        var model = Slovo.Tokenizers.Trainers.BpeTrainer.Train(counts, new Slovo.Tokenizers.Trainers.BpeTrainerOptions { VocabSize = 30_000, MinFrequency = 0 });
        slovo.Add(sw.Elapsed.TotalSeconds);
        if (model.VocabSize != 30_000) throw new InvalidOperationException($"Slovo trained {model.VocabSize} tokens");
        hfTimes.Add(double.Parse(hf.Ask($"train {corpus} 30000 {Path.Combine(Path.GetTempPath(), "slovo-bench-hf-bpe.json")}"), CultureInfo.InvariantCulture));
    }
    long hfPeak = long.Parse(hf.Ask("peak"), CultureInfo.InvariantCulture);
    double s = slovo.Min(), t = hfTimes.Min();
    Console.WriteLine($"(d) BPE training, 30,000 tokens, Whitespace pre-tokenizer, on {new FileInfo(corpus).Length / 1e6:F0} MB of the shipped text repeated;");
    Console.WriteLine($"    {Environment.ProcessorCount} cores; best of 2 alternating rounds (counting words + merging)");
    Console.WriteLine($"    Slovo        {s:F2} s   (rounds: {string.Join(", ", slovo.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})");
    Console.WriteLine($"    HF tokenizers {t:F2} s   (rounds: {string.Join(", ", hfTimes.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})");
    Console.WriteLine($"    peak resident memory: Slovo process {PeakRss() / 1048576.0:F0} MiB, HF process {hfPeak / 1048576.0:F0} MiB");
    Console.WriteLine($"    ratio Slovo/HF time = {s / t:F2} (target <= 0.7)");
}

void BenchBatchEncode()
{
    ResetPeakRss();
    string peersDir = Path.Combine(FindRepoRoot(), "bench", "peers");
    using Peer hf = Peer.Start("node", Path.Combine(peersDir, "hf_peer.mjs"), peersDir, "=> ");
    (string[] lines, string tokPath) = BatchEncodeInputs(hf);
    hf.Ask($"load {tokPath} {Path.Combine(Path.GetTempPath(), "slovo-bench-lines.txt")}");
    var tokenizer = Slovo.Tokenizers.Serialization.TokenizerJson.Load(tokPath);
    hf.Ask("encode"); // warm-up
    tokenizer.EncodeBatch(lines);
    var slovo = new List<double>();
    var hfTimes = new List<double>();
    long tokens = 0, hfTokens = 0;
    for (int r = 0; r < 5; ++r)
    {
        var sw = Stopwatch.StartNew();
        var encs = tokenizer.EncodeBatch(lines);
        slovo.Add(sw.Elapsed.TotalSeconds);
        tokens = encs.Sum(e => (long)e.Length);
        string[] answer = hf.Ask("encode").Split(' ');
        hfTimes.Add(double.Parse(answer[0], CultureInfo.InvariantCulture));
        hfTokens = long.Parse(answer[1], CultureInfo.InvariantCulture);
    }
    if (tokens != hfTokens) Console.WriteLine($"    WARNING: token counts differ: Slovo {tokens}, HF {hfTokens}");
    double s = tokens / Median(slovo), t = hfTokens / Median(hfTimes);
    long hfPeak = long.Parse(hf.Ask("peak"), CultureInfo.InvariantCulture);
    Console.WriteLine($"(e) batch encode of {lines.Length:N0} lines ({tokens:N0} tokens) with the 30,000-token BPE from (d), {Environment.ProcessorCount} cores,");
    Console.WriteLine($"    median of 5 alternating rounds (Slovo EncodeBatch vs HF encodeBatch, full encodings with offsets)");
    Console.WriteLine($"    Slovo         {s / 1e6:F2} M tokens/s");
    Console.WriteLine($"    HF tokenizers {t / 1e6:F2} M tokens/s");
    Console.WriteLine($"    peak resident memory: Slovo process {PeakRss() / 1048576.0:F0} MiB, HF process {hfPeak / 1048576.0:F0} MiB");
    Console.WriteLine($"    ratio Slovo/HF throughput = {s / t:F2} (target >= 2.0)");
}

// The lines (e) encodes and the tokenizer.json HF trained in (d) (trained now if missing).
(string[] Lines, string TokenizerPath) BatchEncodeInputs(Peer hf)
{
    string tokPath = Path.Combine(Path.GetTempPath(), "slovo-bench-hf-bpe.json");
    if (!File.Exists(tokPath)) hf.Ask($"train {Corpus100()} 30000 {tokPath}");
    // Lines to encode: the first 150,000 lines of the corpus (most of one copy of the shipped text).
    string linesPath = Path.Combine(Path.GetTempPath(), "slovo-bench-lines.txt");
    string[] lines = File.ReadLines(Corpus100()).Take(150_000).ToArray();
    File.WriteAllText(linesPath, string.Join("\n", lines));
    return (File.ReadAllText(linesPath).Split('\n'), tokPath);
}

// (e2) The same batch encode against Microsoft.ML.Tokenizers' BpeTokenizer, built from the vocabulary and merges of
// (d)'s tokenizer.json with its "\w+|[^\w\s]+" pre-tokenizer (HF's Whitespace); both in this process, 2 cores each
// (ML.Tokenizers has no batch call: Parallel.For over the lines), full tokens with offsets, ids checked identical.
void BenchBatchEncodeDotNet()
{
    ResetPeakRss();
    string peersDir = Path.Combine(FindRepoRoot(), "bench", "peers");
    string[] lines;
    string tokPath;
    using (Peer hf = Peer.Start("node", Path.Combine(peersDir, "hf_peer.mjs"), peersDir, "=> ")) (lines, tokPath) = BatchEncodeInputs(hf);
    var tokenizer = Slovo.Tokenizers.Serialization.TokenizerJson.Load(tokPath);
    var model = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tokPath))!["model"]!;
    var vocab = model["vocab"]!.AsObject().Select(kv => new KeyValuePair<string, int>(kv.Key, (int)kv.Value!)).ToList();
    var merges = model["merges"]!.AsArray().Select(m => m is System.Text.Json.Nodes.JsonArray pair ? $"{pair[0]} {pair[1]}" : (string)m!).ToList();
    string? unk = (string?)model["unk_token"];
    var ml = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new Microsoft.ML.Tokenizers.BpeOptions(vocab)
    {
        Merges = merges, PreTokenizer = Microsoft.ML.Tokenizers.PreTokenizer.CreateWordOrNonWord(), UnknownToken = unk,
    });
    IReadOnlyList<Slovo.Tokenizers.TokenEncoding> ours = tokenizer.EncodeBatch(lines, addSpecialTokens: false);
    int differing = 0;
    for (int i = 0; i < lines.Length; ++i)
        if (!ours[i].Ids.SequenceEqual(ml.EncodeToIds(lines[i]))) ++differing;
    long tokens = ours.Sum(e => (long)e.Length);
    var slovo = new List<double>();
    var mlTimes = new List<double>();
    long mlTokens = 0;
    for (int r = 0; r < 5; ++r)
    {
        var sw = Stopwatch.StartNew();
        tokenizer.EncodeBatch(lines, addSpecialTokens: false);
        slovo.Add(sw.Elapsed.TotalSeconds);
        sw.Restart();
        var theirs = new IReadOnlyList<Microsoft.ML.Tokenizers.EncodedToken>[lines.Length];
        Parallel.For(0, lines.Length, i => theirs[i] = ml.EncodeToTokens(lines[i], out _));
        mlTimes.Add(sw.Elapsed.TotalSeconds);
        mlTokens = theirs.Sum(t => (long)t.Count);
    }
    double s = tokens / Median(slovo), t = mlTokens / Median(mlTimes);
    Console.WriteLine($"(e2) batch encode of {lines.Length:N0} lines ({tokens:N0} tokens) with the 30,000-token BPE from (d), {Environment.ProcessorCount} cores,");
    Console.WriteLine($"    median of 5 alternating rounds (Slovo EncodeBatch vs Microsoft.ML.Tokenizers 2.0.1 BpeTokenizer.EncodeToTokens in Parallel.For, offsets on both)");
    Console.WriteLine($"    ids identical on {lines.Length - differing:N0} of {lines.Length:N0} lines; tokens Slovo {tokens:N0}, ML.Tokenizers {mlTokens:N0}");
    Console.WriteLine($"    Slovo                   {s / 1e6:F2} M tokens/s");
    Console.WriteLine($"    Microsoft.ML.Tokenizers {t / 1e6:F2} M tokens/s");
    Console.WriteLine($"    ratio Slovo/ML.Tokenizers throughput = {s / t:F2} (target >= 2.0)");
}

void BenchGpt2()
{
    ResetPeakRss();
    string root = FindRepoRoot();
    string shared = Slovo.SharedData.RequireRoot();
    string peersDir = Path.Combine(root, "bench", "peers");
    if (!Directory.Exists(Path.Combine(peersDir, "node_modules", "tiktoken")))
    {
        Console.Error.WriteLine($"tiktoken is not installed. HINT: (cd {peersDir} && npm ci)");
        return;
    }
    // Corpus: every arXiv abstract shipped beside the project, joined by newlines.
    using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "data", "arxiv", "arxivData.json")));
    string corpus = string.Join("\n", doc.RootElement.EnumerateArray().Select(e => e.GetProperty("summary").GetString()));
    string corpusPath = Path.Combine(Path.GetTempPath(), "slovo-bench-gpt2.txt");
    File.WriteAllText(corpusPath, corpus);
    var tokenizer = Slovo.Tokenizers.Gpt2Tokenizer.Load(Path.Combine(shared, "models", "gpt2-tokenizer"));
    using Peer node = Peer.Start("node", Path.Combine(peersDir, "tiktoken_peer.mjs"), peersDir);
    node.Ask($"load {corpusPath}");
    node.Ask("encode"); // warm-up
    tokenizer.Encode(corpus);
    const int rounds = 9;
    var slovo = new List<double>();
    var tik = new List<double>();
    long tokens = 0, tikTokens = 0;
    for (int r = 0; r < rounds; ++r)
    {
        tokenizer.Model.ClearCache(); // every round is a cold first pass over the text
        var sw = Stopwatch.StartNew();
        tokens = tokenizer.Encode(corpus).Length;
        slovo.Add(sw.Elapsed.TotalSeconds);
        string[] answer = node.Ask("encode").Split(' ');
        tik.Add(double.Parse(answer[0], CultureInfo.InvariantCulture));
        tikTokens = long.Parse(answer[1], CultureInfo.InvariantCulture);
    }
    if (tokens != tikTokens) Console.WriteLine($"    WARNING: token counts differ: Slovo {tokens}, tiktoken {tikTokens}");
    double s = tokens / Median(slovo), t = tikTokens / Median(tik);
    Console.WriteLine($"(c) GPT-2 encode of the shipped arXiv abstracts ({corpus.Length:N0} characters, {tokens:N0} tokens), 1 thread,");
    Console.WriteLine($"    median of {rounds} alternating cold rounds");
    Console.WriteLine($"    Slovo    {s / 1e6:F2} M tokens/s");
    Console.WriteLine($"    tiktoken {t / 1e6:F2} M tokens/s  (npm tiktoken 1.0.22, encode_ordinary)");
    long nodePeak = long.Parse(node.Ask("peak"), CultureInfo.InvariantCulture);
    Console.WriteLine($"    peak resident memory: Slovo process {PeakRss() / 1048576.0:F0} MiB{(which == "gpt2" ? "" : " (libtorch loaded too)")}, tiktoken process {nodePeak / 1048576.0:F0} MiB");
    Console.WriteLine($"    ratio Slovo/tiktoken throughput = {s / t:F2} (target >= 1.0)");
}

// (c2) GPT-2 encoding against the .NET incumbents, in this process: Microsoft.ML.Tokenizers' TiktokenTokenizer for
// "gpt2" and SharpToken's r50k_base (GPT-2's encoding). Warm caches (each tokenizer encodes the corpus once first),
// rounds alternating, median of 7; the ids must be identical.
void BenchGpt2DotNet()
{
    string shared = Slovo.SharedData.RequireRoot();
    using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "data", "arxiv", "arxivData.json")));
    string corpus = string.Join("\n", doc.RootElement.EnumerateArray().Select(e => e.GetProperty("summary").GetString()));
    var slovo = Slovo.Tokenizers.Gpt2Tokenizer.Load(Path.Combine(shared, "models", "gpt2-tokenizer"));
    var ml = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");
    var sharp = SharpToken.GptEncoding.GetEncoding("r50k_base");
    int[] reference = slovo.Encode(corpus).ToArray();
    bool mlSame = ml.EncodeToIds(corpus).SequenceEqual(reference), sharpSame = sharp.Encode(corpus).SequenceEqual(reference);
    const int rounds = 7;
    var times = new Dictionary<string, List<double>> { ["Slovo"] = [], ["Microsoft.ML.Tokenizers"] = [], ["SharpToken"] = [] };
    for (int r = 0; r < rounds; ++r)
    {
        var sw = Stopwatch.StartNew();
        _ = slovo.Encode(corpus);
        times["Slovo"].Add(sw.Elapsed.TotalSeconds);
        sw.Restart();
        _ = ml.EncodeToIds(corpus);
        times["Microsoft.ML.Tokenizers"].Add(sw.Elapsed.TotalSeconds);
        sw.Restart();
        _ = sharp.Encode(corpus);
        times["SharpToken"].Add(sw.Elapsed.TotalSeconds);
    }
    Console.WriteLine($"(c2) GPT-2 encode of the shipped arXiv abstracts ({reference.Length:N0} tokens) against .NET tokenizers, 1 thread, warm caches,");
    Console.WriteLine($"     median of {rounds} alternating rounds; ids identical to Slovo's: Microsoft.ML.Tokenizers {(mlSame ? "yes" : "NO")}, SharpToken {(sharpSame ? "yes" : "NO")}");
    double slovoRate = reference.Length / Median(times["Slovo"]);
    foreach ((string name, List<double> t) in times)
        Console.WriteLine($"     {name,-24} {reference.Length / Median(t) / 1e6:F2} M tokens/s");
    Console.WriteLine($"     ratio Slovo/Microsoft.ML.Tokenizers throughput = {slovoRate / (reference.Length / Median(times["Microsoft.ML.Tokenizers"])):F2} (target >= 2.0)");
    Console.WriteLine($"     ratio Slovo/SharpToken throughput = {slovoRate / (reference.Length / Median(times["SharpToken"])):F2} (target >= 2.0)");
}

void BenchAdd()
{
    const int ops = 1_000_000, rounds = 11;
    LibTorch.Threads = 1;
    using Tensor a = Tensor.Ones(4, 4), b = Tensor.Ones(4, 4);
    using Peer torchPeer = Peer.Start(python, peer);
    torchPeer.Ask("add_setup");
    TimeAdds(a, b, ops); // warm-up
    torchPeer.Ask($"add {ops}");
    var slovo = new List<double>();
    var torch = new List<double>();
    for (int r = 0; r < rounds; ++r)
    {
        slovo.Add(TimeAdds(a, b, ops));
        torch.Add(double.Parse(torchPeer.Ask($"add {ops}"), CultureInfo.InvariantCulture));
    }
    double s = Median(slovo) / ops * 1e6, t = Median(torch) / ops * 1e6;
    Console.WriteLine($"(a) per-op overhead: rounds of 1,000,000 adds of two 4x4 float tensors, 1 thread, median of {rounds} alternating rounds");
    Console.WriteLine($"    Slovo   {s:F3} us/op   (using Tensor c = a + b)");
    Console.WriteLine($"    PyTorch {t:F3} us/op   (c = a + b in Python)");
    Console.WriteLine($"    ratio Slovo/PyTorch = {s / t:F2} (target <= 0.75)");
}

void BenchLstm()
{
    const int vocab = 14358, emb = 128, hidden = 128, layers = 2, batch = 32, seq = 230;
    const int steps = 2, rounds = 11, phaseSteps = 4;
    int threads = Environment.ProcessorCount;
    LibTorch.Threads = threads;
    LibTorch.ManualSeed(0);
    using var embedding = new Embedding(vocab, emb);
    using var lstm = new LSTM(emb, hidden, numLayers: layers, batchFirst: true);
    using var head = new Linear(hidden, vocab);
    var parameters = embedding.Parameters().Concat(lstm.Parameters()).Concat(head.Parameters()).ToList();
    using var opt = new Adam(parameters, lr: 1e-3);
    using Tensor x = Tensor.RandInt(0, vocab, [batch, seq]);
    using Tensor y = Tensor.RandInt(0, vocab, [batch * seq]);
    // One step; with phases, the seconds of each part are added to it: embedding + LSTM, output layer, loss, backward, Adam.
    void Step(double[]? phases)
    {
        var clock = phases is null ? null : Stopwatch.StartNew();
        void Mark(int phase)
        {
            if (clock is null) return;
            phases![phase] += clock.Elapsed.TotalSeconds;
            clock.Restart();
        }
        using var scope = DisposeScope.Begin();
        opt.ZeroGrad();
        // Big intermediates are released as soon as they are consumed, as Python's reference counting does;
        // autograd keeps what it needs on its own references.
        Tensor loss;
        Tensor output;
        using (Tensor emb = embedding.Forward(x))                   // (B, T, E)
        {
            (output, (Tensor h, Tensor c)) = lstm.Forward(emb);   // (B, T, H)
            h.Dispose();
            c.Dispose();
        }
        Mark(0);
        using (output)
        using (Tensor logits = head.Forward(output))                // (B, T, V)
        {
            Mark(1);
            using Tensor flat = logits.Reshape(-1, vocab);          // (B*T, V)
            loss = Losses.CrossEntropy(flat, y);
        }
        Mark(2);
        loss.Backward();
        Mark(3);
        opt.Step();
        Mark(4);
    }
    using Peer torchPeer = Peer.Start(python, peer);
    torchPeer.Ask($"lstm_setup {threads}");
    Step(null); // warm-up
    // Each side is timed in its own steady state: one untimed step starts each half-round (and Peer.Ask hands back what
    // Slovo's CPU tensor cache holds before the peer runs).
    PerStepResult result = Rounds.PerStep(rounds, steps, () => Step(null), n => double.Parse(torchPeer.Ask($"lstm {n} 1"), CultureInfo.InvariantCulture),
        warmup: 1);
    Step(null);
    long cachedAfterStep = LibTorch.CpuCache.CachedBytes;
    // Where the time goes, part by part, on each side (alternating steps).
    var slovoPhases = new double[5];
    var torchPhases = new double[5];
    for (int i = 0; i < phaseSteps; ++i)
    {
        // Each side goes first every other step, as in Rounds.PerStep, and each timed step follows an untimed one.
        if (i % 2 == 0) { Step(null); Step(slovoPhases); }
        double[] p = torchPeer.Ask("lstm_phases 1 1").Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        for (int k = 0; k < 5; ++k) torchPhases[k] += p[k];
        if (i % 2 == 1) { Step(null); Step(slovoPhases); }
    }
    double s = result.Slovo * 1e3, t = result.Peer * 1e3;
    Console.WriteLine($"(b) one training step (forward, backward, Adam) of the word-level LSTM LM: vocab {vocab}, emb {emb}, hidden {hidden},");
    Console.WriteLine($"    {layers} layers, batch {batch}, sequence {seq}; {threads} threads; median of {rounds} alternating rounds of {steps} steps,");
    Console.WriteLine($"    each after 1 untimed step; Slovo's CPU tensor cache: {(LibTorch.CpuCache.LimitBytes > 0 ? $"limit {LibTorch.CpuCache.LimitBytes >> 20} MiB, {cachedAfterStep >> 20} MiB held after a step, handed back before each peer call" : "off")}");
    Console.WriteLine($"    Slovo   {s:F1} ms/step");
    Console.WriteLine($"    PyTorch {t:F1} ms/step");
    Console.WriteLine($"    ratio Slovo/PyTorch = {s / t:F2} (target <= 1.0); {result.RatioSummary()}");
    string[] names = ["embedding + LSTM", "output layer", "cross-entropy", "backward", "Adam"];
    Console.WriteLine($"    by part, ms per step over {phaseSteps} alternating steps, each after an untimed one (Slovo / PyTorch):");
    for (int k = 0; k < 5; ++k)
        Console.WriteLine($"      {names[k],-17} {slovoPhases[k] / phaseSteps * 1e3,7:F1} / {torchPhases[k] / phaseSteps * 1e3,7:F1}");
}

// The timed loop lives in its own method, compiled fully optimized at once (no tiering, no on-stack replacement).
[MethodImpl(MethodImplOptions.AggressiveOptimization)]
static double TimeAdds(Tensor a, Tensor b, int ops)
{
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < ops; ++i)
    {
        using Tensor c = a + b;
    }
    return sw.Elapsed.TotalSeconds;
}

// In "all" mode one process runs every benchmark, so its high-water mark would carry the largest earlier one into every
// later memory line. Each benchmark that reports memory starts from a collected heap and a reset mark (Linux resets
// VmHWM to the current RSS when "5" is written to /proc/self/clear_refs).
static void ResetPeakRss()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    try { File.WriteAllText("/proc/self/clear_refs", "5"); }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Console.Error.WriteLine($"    (peak memory not reset: {e.Message})"); }
}

static long PeakRss()
{
    foreach (string line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    return 0;
}

static double Median(List<double> xs) => Rounds.Median(xs);

static string FindRepoRoot()
{
    string? dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "bench", "peer_torch.py"))) dir = Path.GetDirectoryName(dir);
    return dir ?? throw new DirectoryNotFoundException("bench/peer_torch.py not found above " + AppContext.BaseDirectory);
}

/// <summary>A peer's program is not installed; the message says how to install it.</summary>
internal sealed class PeerUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>A persistent peer process (bench/peer_torch.py, bench/peers/tiktoken_peer.mjs): one command per line, one answer per line.</summary>
internal sealed class Peer : IDisposable
{
    private readonly Process _process;
    private readonly string _answerPrefix;
    private readonly bool _torch;

    private Peer(Process process, string answerPrefix, bool torch) => (_process, _answerPrefix, _torch) = (process, answerPrefix, torch);

    /// <summary>Starts a peer; with <paramref name="answerPrefix"/>, other output lines are skipped and the prefix is removed.</summary>
    public static Peer Start(string program, string script, string? workingDirectory = null, string answerPrefix = "")
    {
        var psi = new ProcessStartInfo(program, script) { RedirectStandardInput = true, RedirectStandardOutput = true };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        // The same BLAS configuration Slovo uses: one OpenBLAS thread inside each libtorch worker.
        psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
        try
        {
            return new Peer(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}"), answerPrefix,
                torch: script.EndsWith(".py", StringComparison.Ordinal));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PeerUnavailableException($"could not start the peer '{program} {script}': {e.Message}. " +
                (program == "node" ? "HINT: apt-get install -y nodejs npm; (cd bench/peers && npm ci)" : "HINT: apt-get install -y python3-torch (or set SLOVO_PYTHON)"), e);
        }
    }

    public string Ask(string command)
    {
        // Slovo keeps freed CPU tensor memory for reuse (LibTorch.CpuCacheLimit); it hands it back before a PyTorch peer
        // runs, so that the peer works beside Slovo's live tensors only. On this project's machine (a VM) memory that one
        // process merely holds makes another's fresh pages slower to fault in (bench/README.md, 2026-12-04).
        if (_torch) LibTorch.EmptyCpuCache();
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        string? line = _process.StandardOutput.ReadLine();
        while (_answerPrefix.Length > 0 && line is not null && !line.StartsWith(_answerPrefix, StringComparison.Ordinal))
            line = _process.StandardOutput.ReadLine();
        if (line is not null) line = line[_answerPrefix.Length..];
        if (line is null || line.StartsWith("error", StringComparison.Ordinal))
            throw new InvalidOperationException($"peer failed on '{command}': {line ?? "it exited"}. HINT: apt-get install -y python3-torch; (cd bench/peers && npm ci)");
        return line;
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}

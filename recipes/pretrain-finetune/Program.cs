using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Slovo.Classification;
using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.Import;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;
using Slovo.Recipes;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Serialization;
using Slovo.Training;

// recipes/pretrain-finetune: the course's method for tweets (fine-tune a pretrained transformer, compare with an LSTM), with the
// pretrained model made here: a small Llama pretrained on the shipped English text, then fine-tuned on recipes/tweets' training
// tweets fully and with LoRA (r=8, r=32), and compared with recipes/tweets' LSTM and from-scratch GPT on the same test tweets.
// usage: dotnet run -c Release --project recipes/pretrain-finetune [-- --quick]   (run recipes/tweets first for its two rows;
// a killed run continues where it stopped)
bool quick = args.Contains("--quick"); // a small run that checks the recipe end to end in a few minutes
string root = RecipePaths.Root(), shared = RecipePaths.SharedData();
string recipe = Path.Combine(root, "recipes", "pretrain-finetune"), runs = Path.Combine(recipe, quick ? "runs-quick" : "runs");
string tweetRuns = Path.Combine(root, "recipes", "tweets", quick ? "runs-quick" : "runs");
var total = Stopwatch.StartNew();
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Directory.CreateDirectory(runs);

// The tweets exactly as recipes/tweets splits them (same cleaning, seeds and shares), so the test tweets are its test tweets.
const int seed = 1;
List<string> tweets = new[] { "negative.txt", "positive.txt" }.SelectMany(f => File.ReadLines(Path.Combine(shared, "tweets", f)))
    .Select(TweetCleaner.Clean).Where(t => t.Length >= 10).ToList();
(List<string> rest, List<string> heldOut) = Corpus.Split(tweets, quick ? 0.005 : 0.02, seed);
List<string> test = heldOut.Take(quick ? heldOut.Count : 1000).ToList();
(List<string> allTrain, List<string> valid) = Corpus.Split(rest, 0.03, seed + 1);
List<string> train = allTrain.Take(quick ? 8000 : 50_000).ToList();

// Pretraining text: the shipped English besides the tweets recipes/tweets trains on, lowercased (the tweets are), every text
// equal to a validation or held-out tweet left out.
static string Flat(string s) => Regex.Replace(s, @"\s+", " ").Trim().ToLowerInvariant();
static string NoHtml(string s) => System.Net.WebUtility.HtmlDecode(Regex.Replace(s, "<[^>]+>", " "));
int perSource = quick ? 1500 : int.MaxValue;
var sources = new List<(string Name, List<string> Texts)>
{
    ("IMDb reviews (train and test)", new[] { "train", "test" }.SelectMany(split => ClassificationData.ReadImdb(Path.Combine(shared, "imdb"), split))
        .Select(r => Flat(ClassificationData.CleanReview(r.Text))).ToList()),
    ("arXiv titles and abstracts", Corpus.ReadArxiv(Path.Combine(shared, "arxiv", "arxivData.json")).Select(Flat).ToList()),
    ("AskUbuntu and Meta Stack Exchange questions (title and body)", Directory.GetFiles(Path.Combine(shared, "duplicates"), "*_noclue_val.tsv").Order(StringComparer.Ordinal)
        .SelectMany(File.ReadLines).SelectMany(l => l.Split('\t').Skip(1)).Select(q => Flat(NoHtml(q))).Distinct().ToList()),
    ("MRPC and SICK sentences", new[] { "msr_paraphrase_train.txt", "msr_paraphrase_test.txt" }.SelectMany(f => File.ReadLines(Path.Combine(shared, "paraphrase", f)))
        .SelectMany(l => l.Split('\t').Skip(3).Take(2))
        .Concat(new[] { "SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt" }.SelectMany(f => File.ReadLines(Path.Combine(shared, "paraphrase", f)))
            .SelectMany(l => l.Split('\t').Skip(1).Take(2)))
        .Select(Flat).Distinct().ToList()),
    ("Yelp review sentences", File.ReadLines(Path.Combine(shared, "yelp", "reviews.txt")).Select(Flat).ToList()),
    ("tweets recipes/tweets neither trains, validates nor tests on", allTrain.Skip(train.Count).ToList()),
};
var forbidden = new HashSet<string>(valid.Concat(heldOut), StringComparer.Ordinal);
sources = sources.Select(s => (s.Name, s.Texts.Where(t => t.Length >= 10 && !forbidden.Contains(t)).Take(perSource).ToList())).ToList();
List<string> corpus = sources.SelectMany(s => s.Texts).ToList();
(List<string> pretrainTrain, List<string> pretrainValid) = Corpus.Split(corpus, 0.01, seed);
Console.WriteLine($"pretraining text: {corpus.Count:N0} texts, {corpus.Sum(t => (long)t.Length):N0} characters: " +
                  string.Join("; ", sources.Select(s => $"{s.Name} {s.Texts.Count:N0}")));

// One byte-level BPE trained on the pretraining text serves pretraining and fine-tuning (kept, so a resumed run reads the same).
string bpePath = Path.Combine(runs, "vocab.json");
int bpeSize = quick ? 1000 : 8000;
SubwordVocabulary bpe;
if (File.Exists(bpePath)) bpe = (SubwordVocabulary)Vocabulary.Load(bpePath);
else
{
    var clock = Stopwatch.StartNew();
    bpe = SubwordVocabulary.TrainByteLevelBpe(pretrainTrain, bpeSize);
    AtomicFile.WriteAllText(bpePath, bpe.ToJson());
    Console.WriteLine($"byte-level BPE of {bpe.Size:N0} tokens trained in {clock.Elapsed.TotalSeconds:F0} s");
}
LmDataset Tokenized(List<string> trainTexts, List<string> validTexts) =>
    new(bpe, trainTexts, validTexts, trainTexts.Select(bpe.EncodeSequence).ToArray(), validTexts.Select(bpe.EncodeSequence).ToArray());
LmDataset pretrainData = Tokenized(pretrainTrain, pretrainValid);
Console.WriteLine($"pretraining tokens: {pretrainData.TrainTokens:N0} (training) + {pretrainData.Valid.Sum(s => s.Length - 1L):N0} (validation)");

// Pretraining: a Llama-architecture decoder (RMSNorm, rotary positions, grouped-query attention, SwiGLU, tied embeddings), packed
// windows of 128 positions, one pass over the text, AdamW with a warm-up and a cosine.
var config = new DecoderConfig
{
    ModelType = "llama", VocabSize = bpe.Size, Width = quick ? 64 : 256, Intermediate = quick ? 176 : 688, Layers = quick ? 2 : 6, Heads = 4, KvHeads = 2,
    HeadDim = quick ? 16 : 64, MaxPositions = 128, NormEpsilon = 1e-5, RopeTheta = 10000, TieEmbeddings = true,
    BosTokenId = bpe.SosId, EosTokenIds = [bpe.EosId], PadTokenId = bpe.PadId,
};
var pretraining = new GptTrainingOptions
{
    Epochs = 1, BatchSize = 32, Context = 128, LearningRate = 1e-3, MinLearningRate = 1e-4, WarmupSteps = quick ? 20 : 200, WeightDecay = 0.1, Patience = 0,
    Seed = seed, CheckpointEvery = 200, Rows = GptRows.Packed,
};
string pretrainDir = Path.Combine(runs, "pretrain");
void WriteTokenizerConfig(string dir) => TokenizerConfig.Write(dir, addBos: true, chatTemplate: null);
LmTrainingResult pretrainResult;
long pretrainParameters;
using (DecoderModel model = RandomGenerator.Seeded((ulong)seed, () => new DecoderModel(config)))
{
    pretrainParameters = model.ParameterCount();
    bool resume = File.Exists(Path.Combine(pretrainDir, RunFolder.CheckpointFile));
    Console.WriteLine($"pretraining: llama, {config.Layers} layers of width {config.Width}, {pretrainParameters:N0} parameters{(resume ? ", continuing" : "")}");
    pretrainResult = new GptTrainer { OnStep = LmRecipe.Progress("pretraining", 30), OnModelSaved = WriteTokenizerConfig }
        .Train(model, bpe, pretrainData.Train, pretrainData.Valid, pretrainData.ValidChars, pretraining, pretrainDir, resume);
    Console.WriteLine($"pretrained: validation perplexity {pretrainResult.BestValid.Perplexity:F2} ({pretrainResult.Seconds / 60:F0} min)");
}
string pretrainedFolder = Path.Combine(pretrainDir, RunFolder.ModelDir);

// Fine-tuning on recipes/tweets' training tweets, one tweet per row as recipes/tweets' GPT trains: every weight for one epoch (the
// pretrained model converges in it), or a LoRA adapter on all seven projections of every layer, with the pretrained weights frozen,
// for up to three epochs (an adapter learns more slowly; early stopping on the validation tweets ends it when it stops improving).
LmDataset tweetData = Tokenized(train, valid);
var fineTuning = new GptTrainingOptions
{
    Epochs = 1, BatchSize = 16, Context = 64, LearningRate = 5e-4, MinLearningRate = 5e-5, WarmupSteps = quick ? 20 : 100, WeightDecay = 0.1, Patience = 1,
    Seed = seed, CheckpointEvery = 200, Rows = GptRows.PerText,
};
var loraTuning = fineTuning with { Epochs = quick ? 2 : 3, LearningRate = 2e-3, MinLearningRate = 2e-4, WeightDecay = 0 };
string[] allProjections = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
// The fourth way tests why LoRA falls short: every weight trained but the token embeddings, which LoRA leaves frozen.
const string frozenEmbeddings = "fine-tuned: every weight but the token embeddings";
var ways = new (string Name, string Dir, LoraOptions? Lora, GptTrainingOptions Options)[]
{
    ("fine-tuned: every weight", "full", null, fineTuning),
    ("fine-tuned: LoRA r=8", "lora-r8", new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.05, Targets = allProjections }, loraTuning),
    ("fine-tuned: LoRA r=32", "lora-r32", new LoraOptions { Rank = 32, Alpha = 64, Dropout = 0.05, Targets = allProjections }, loraTuning),
    (frozenEmbeddings, "full-frozen-embeddings", null, fineTuning),
};
// How far the pretrained model is from tweets before any fine-tuning: its perplexity on the same validation tweets, laid out the same way.
LmEvaluation zeroShot;
using (DecoderModel model = DecoderModel.FromPretrained(pretrainedFolder))
    zeroShot = GptTrainer.Evaluate(model, tweetData.Valid, tweetData.ValidChars, fineTuning.Context, fineTuning.BatchSize, fineTuning.Rows);
Console.WriteLine($"pretrained, not fine-tuned: validation perplexity on the tweets {zeroShot.Perplexity:F2}");
var tuned = new List<(string Name, string Dir, LanguageModel Model, LoraAdapter? Adapter, long Trainable, long Parameters, LmTrainingResult Result)>();
foreach ((string name, string dirName, LoraOptions? lora, GptTrainingOptions options) in ways)
{
    string dir = Path.Combine(runs, dirName);
    DecoderModel model = DecoderModel.FromPretrained(pretrainedFolder);
    LoraAdapter? adapter = lora is null ? null : RandomGenerator.Seeded((ulong)seed, () => LoraAdapter.Attach(model, lora, Path.GetFullPath(pretrainedFolder)));
    if (name == frozenEmbeddings) // no gradient, so the optimizer leaves it as it is
        foreach ((string parameter, Tensor w) in model.NamedParameters().Where(p => p.Name.Contains("embed_tokens", StringComparison.Ordinal))) w.RequiresGrad = false;
    bool resume = File.Exists(Path.Combine(dir, RunFolder.CheckpointFile));
    long trainable = adapter?.ParameterCount() ?? model.ParameterCount(trainableOnly: true);
    Console.WriteLine($"{name}: {trainable:N0} trainable parameters{(resume ? ", continuing" : "")}");
    LmTrainingResult result = new GptTrainer { Adapter = adapter, OnStep = LmRecipe.Progress(name, 30), OnModelSaved = adapter is null ? WriteTokenizerConfig : null }
        .Train(model, bpe, tweetData.Train, tweetData.Valid, tweetData.ValidChars, options, dir, resume);
    Console.WriteLine($"  {name}: validation perplexity {result.BestValid.Perplexity:F2} ({result.Seconds / 60:F0} min)");
    tuned.Add((name, dir, LanguageModel.Of(model, bpe), adapter, trainable, model.ParameterCount(), result));
}

// recipes/tweets' two models, read from its run folders, complete the same test tweets here.
var baselines = new List<(string Name, LanguageModel Model)>();
foreach ((string name, string dir) in new[] { ("recipes/tweets LSTM", "lstm"), ("recipes/tweets GPT from scratch", "gpt") })
    if (Directory.Exists(Path.Combine(tweetRuns, dir))) baselines.Add((name, LanguageModel.Load(Path.Combine(tweetRuns, dir))));
    else Console.WriteLine($"{Path.Combine(tweetRuns, dir)} is missing: run recipes/tweets{(quick ? " -- --quick" : "")} first for its rows");

// Greedy and minimum-Bayes-risk completion (32 samples at temperature 0.8, the consensus kept), both healed, as recipes/tweets.
const int mbrSamples = 32;
(string Name, GenerationOptions Options, int Candidates)[] decodings =
[
    ("greedy, healed", new GenerationOptions { Greedy = true }, 1),
    ($"MBR of {mbrSamples} samples, healed", new GenerationOptions { Temperature = 0.8, Seed = seed }, mbrSamples),
];
var rouge = new Rouge();
var scores = new Dictionary<(string Model, string Decoding), (RougeSummary Summary, double[] PerTweet, IReadOnlyList<CompletionExample> Examples, double Seconds)>();
foreach ((string name, LanguageModel model) in baselines.Concat(tuned.Select(t => (t.Name, t.Model))))
    foreach ((string decoding, GenerationOptions options, int candidates) in decodings)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<CompletionExample> done = Completion.Complete(model, test, options, new CompletionOptions { Heal = true, Candidates = candidates });
        RougeSummary s = Completion.Score(done, rouge);
        scores[(name, decoding)] = (s, done.Select(e => rouge.Score(e.Reference, e.Completion).RougeL.F1).ToArray(), done, clock.Elapsed.TotalSeconds);
        Console.WriteLine($"{name}, {decoding}: ROUGE-L {s.RougeL.F1:F4} ({clock.Elapsed.TotalSeconds:F0} s)");
    }
// Per tweet, paired: mean difference ± 1.96 standard errors, as recipes/tweets reports it.
(double Mean, double Half) Paired(double[] a, double[] b)
{
    double[] d = a.Zip(b, (x, y) => x - y).ToArray();
    double mean = d.Average(), sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1));
    return (mean, 1.96 * sd / Math.Sqrt(d.Length));
}
static string Show((double Mean, double Half) p) =>
    FormattableString.Invariant($"{p.Mean:+0.0000;-0.0000;0.0000} ± {p.Half:F4}{(Math.Abs(p.Mean) <= p.Half ? " (within noise)" : "")}");

// The better fine-tuned model (MBR healed) leaves as a Hugging Face folder (a LoRA adapter folded in), as GGUF, and, for LoRA, as
// base + PEFT adapter; llama.cpp runs the GGUF and must give Slovo's greedy tokens.
string mbr = decodings[1].Name;
var bestTuned = tuned.MaxBy(t => scores[(t.Name, mbr)].Summary.RougeL.F1);
string export = Path.Combine(runs, "export");
{
    using DecoderModel merged = DecoderModel.FromPretrained(bestTuned.Adapter is null ? Path.Combine(bestTuned.Dir, RunFolder.ModelDir) : pretrainedFolder);
    if (bestTuned.Adapter is not null)
    {
        using LoraAdapter copy = LoraAdapter.Load(Path.Combine(bestTuned.Dir, RunFolder.AdapterDir), merged);
        copy.Merge();
    }
    merged.SavePretrained(export);
    AtomicFile.WriteAllText(Path.Combine(export, "tokenizer.json"), TokenizerJson.ToJson(bpe.Tokenizer));
    WriteTokenizerConfig(export);
}
string gguf = Path.Combine(runs, "export.f16.gguf");
using (LanguageModel exported = LanguageModel.Load(export)) GgufModels.Export(exported, gguf, GgmlType.F16);
int llamaPrompts = quick ? 10 : 50, llamaSame = 0, llamaTokens = 0;
using (LanguageModel torchSide = LanguageModel.Load(export))
using (LanguageModel llamaSide = LanguageModel.Load(export))
using (LlamaCppEngine.Use(llamaSide, new LlamaCppOptions { Type = GgmlType.F32, MaxRows = 1, CacheFolder = Path.Combine(runs, "llamacpp-cache") }))
{
    var greedy = new GenerationOptions { Greedy = true, MaxTokens = 24 };
    foreach (string t in test.Take(llamaPrompts))
    {
        IReadOnlyList<int> prompt = torchSide.EncodePrompt(t[..(3 * t.Length / 4)]);
        IReadOnlyList<int> a = torchSide.Generate(prompt, greedy).Tokens, b = llamaSide.Generate(prompt, greedy).Tokens;
        if (a.SequenceEqual(b)) ++llamaSame;
        llamaTokens += a.Count;
    }
}
Console.WriteLine($"llama.cpp (F32 GGUF of {export}) gives Slovo's greedy tokens on {llamaSame} of {llamaPrompts} test prompts");

// The exported model through the slovo command itself: `lm complete` on the GGUF with llama.cpp, and `slovo serve` holding the
// pretrained weights once with both adapters, each asked for the same test prompts by HTTP. Their output goes into the README.
string cliDll = Path.Combine(root, "src", "Slovo.Cli", "bin", "Release", "net10.0", "Slovo.Cli.dll");
string cliShown;
if (!File.Exists(cliDll)) cliShown = "The slovo command is not built (./scripts/setup builds it), so this run could not show it; rerun the recipe after building.";
else
{
    // `slovo ARGS` started from the repository root, its output read by the recipe.
    Process Start(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (string a in arguments.Prepend(cliDll)) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }
    string Run(params string[] arguments)
    {
        using Process p = Start(arguments);
        Task<string> error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"slovo {string.Join(' ', arguments)} failed ({p.ExitCode}): {error.Result}");
        return output.TrimEnd();
    }
    string Rel(string path) => Path.GetRelativePath(root, path);
    string cliTweets = Path.Combine(runs, "cli-tweets.txt"), cliOut = Path.Combine(runs, "cli-completions.tsv");
    AtomicFile.WriteAllText(cliTweets, string.Join('\n', test.Take(5)) + "\n");
    string[] completeArgs = ["lm", "complete", "--model", Rel(gguf), "--engine", "llamacpp", "--data", Rel(cliTweets), "--greedy", "--heal", "--out", Rel(cliOut)];
    string completeText = Run(completeArgs);
    var completed = File.ReadLines(cliOut).Skip(1).Select(l => l.Split('\t')).ToList();

    string[] serveArgs = ["serve", "--model", Rel(pretrainDir), "--adapter", $"tweets-r8={Rel(tuned[1].Dir)},tweets-r32={Rel(tuned[2].Dir)}", "--port", "0"];
    using Process server = Start(serveArgs);
    var served = new List<(string Model, string Prompt, string Text)>();
    var serverLog = new List<string>();
    var serverErrors = new System.Collections.Concurrent.ConcurrentQueue<string>(); // the models it loaded, written to stderr
    server.ErrorDataReceived += (_, e) => { if (e.Data is not null) serverErrors.Enqueue(e.Data); };
    server.BeginErrorReadLine();
    try
    {
        string? address = null;
        for (string? line; address is null && (line = server.StandardOutput.ReadLine()) is not null;)
        {
            serverLog.Add(line);
            if (Regex.Match(line, @"^serving on (http://\S+)") is { Success: true } m) address = m.Groups[1].Value;
        }
        if (address is null) throw new InvalidOperationException($"slovo serve did not start: {string.Join('\n', serverErrors.Concat(serverLog))}");
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        foreach (string prompt in test.Take(3).Select(t => t[..(3 * t.Length / 4)]))
            foreach (string id in new[] { "pretrain", "tweets-r8", "tweets-r32" })
            {
                string body = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = id, ["prompt"] = prompt, ["max_tokens"] = 16, ["temperature"] = 0 });
                using HttpResponseMessage r = http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json")).Result;
                string answer = r.Content.ReadAsStringAsync().Result;
                if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"slovo serve answered {(int)r.StatusCode}: {answer}");
                served.Add((id, prompt, System.Text.Json.Nodes.JsonNode.Parse(answer)!["choices"]![0]!["text"]!.GetValue<string>()));
            }
    }
    finally { server.Kill(entireProcessTree: true); server.WaitForExit(); }
    // The server logs the models it loaded and then each request (a time first) to stderr, its address to stdout: shown in that order.
    static bool IsRequestLog(string line) => Regex.IsMatch(line, @"^\d\d:\d\d:\d\d ");
    var shown = new StringBuilder();
    shown.AppendLine(CultureInfo.InvariantCulture, $"""
        Run by this recipe: the GGUF completing five test tweets in llama.cpp,

        ```
        $ scripts/slovo {string.Join(' ', completeArgs)}
        {completeText}
        ```

        | prompt‸ | true rest | completion | healed completion |
        |---|---|---|---|
        """);
    foreach (string[] c in completed) shown.AppendLine($"| {LmRecipe.Escape(c[0])}‸ | {LmRecipe.Escape(c[1])} | {LmRecipe.Escape(c[2])} | {LmRecipe.Escape(c[^1])} |");
    shown.AppendLine();
    shown.AppendLine(CultureInfo.InvariantCulture, $"""
        and the server holding the pretrained weights once with both adapters, asked by HTTP (`POST /v1/completions`, `"temperature": 0`,
        16 tokens) for three test prompts under each model name:

        ```
        $ scripts/slovo {string.Join(' ', serveArgs)}
        {string.Join('\n', serverErrors.Where(l => !IsRequestLog(l)).Concat(serverLog).Concat(serverErrors.Where(IsRequestLog)))}
        ```

        | prompt‸ | {string.Join(" | ", served.Select(s => $"`\"model\": \"{s.Model}\"`").Distinct())} |
        |---|---|---|---|
        """);
    foreach (var row in served.GroupBy(s => s.Prompt))
        shown.AppendLine($"| {LmRecipe.Escape(row.Key)}‸ | " + string.Join(" | ", row.Select(s => LmRecipe.Escape(s.Text))) + " |");
    cliShown = shown.ToString().TrimEnd();
}
Console.WriteLine("the slovo command completed with the GGUF and served the adapters");

// README
List<ScalarEvent> steps = TensorBoardReader.ReadScalars(Path.Combine(pretrainDir, RunFolder.TensorBoardDir)).Where(e => e.Tag == "train/loss").OrderBy(e => e.Step).ToList();
var smoothed = steps.Chunk(Math.Max(1, steps.Count / 100)).Select(c => (Step: c[^1].Step, Loss: c.Average(e => e.Value))).ToList();
string curves = RecipeCharts.Panels(Path.Combine(recipe, quick ? "curves-quick.png" : "curves.png"), "training curves",
    ("pretraining: training loss (nats per token, mean of each 1% of the steps)", "step", "loss",
        [new ChartSeries("pretraining", smoothed.Select(s => (double)s.Step).ToList(), smoothed.Select(s => s.Loss).ToList())]),
    ("fine-tuning: validation loss (nats per token)", "epoch (0: the pretrained model)", "loss",
        tuned.Select(t => new ChartSeries(t.Name.Replace("fine-tuned: ", ""), t.Result.History.Select(h => (double)h.Epoch).Prepend(0).ToList(),
            t.Result.History.Select(h => h.Valid.Loss).Prepend(zeroShot.Loss).ToList())).ToList()));

var md = new StringBuilder();
md.AppendLine("# Pretrain, then fine-tune: tweets");
md.AppendLine();
md.AppendLine("```");
md.AppendLine("dotnet run -c Release --project recipes/pretrain-finetune");
md.AppendLine("```");
md.AppendLine();
long pretrainTokens = pretrainData.TrainTokens;
md.AppendLine(CultureInfo.InvariantCulture, $"""
    The course fine-tuned a pretrained transformer (distilgpt2) on tweets and compared it with an LSTM. No pretrained GPT is
    reachable here, so this recipe makes one: a small Llama-architecture decoder pretrained on the shipped English text, then
    fine-tuned on recipes/tweets' training tweets three ways (every weight; a LoRA adapter of rank 8; of rank 32), and a fourth that
    tests why LoRA falls short (every weight but the token embeddings), and compared with
    recipes/tweets' LSTM and its GPT trained from scratch, on the same {test.Count:N0} test tweets with the same completion settings.
    Written by the command above on {Environment.ProcessorCount} cores with libtorch {LibTorch.Version}; its last invocation took
    {total.Elapsed.TotalMinutes:F0} min (a stopped run resumes where it stopped; a finished one only reloads). From scratch:
    {pretrainResult.Seconds / 60:F0} min of pretraining, {tuned.Sum(t => t.Result.Seconds) / 60:F0} min of fine-tuning,
    {scores.Values.Sum(s => s.Seconds) / 60:F0} min of completion.

    **Pretraining text** (lowercased; every text equal to a tweet recipes/tweets validates or tests on left out): {string.Join("; ", sources.Select(s => $"{s.Name}: {s.Texts.Count:N0}"))}.
    {corpus.Count:N0} texts, 99% for training: **{pretrainTokens:N0} tokens** of a byte-level BPE of {bpe.Size:N0} tokens trained on it.

    **Model**: llama, {config.Layers} layers of width {config.Width}, {config.Heads} heads ({config.KvHeads} key/value), SwiGLU of {config.Intermediate}, tied embeddings,
    {pretrainParameters:N0} parameters. Pretraining: {pretraining.Epochs} pass over the text in packed windows of {pretraining.Context}, batches of {pretraining.BatchSize},
    AdamW {pretraining.LearningRate} with {pretraining.WarmupSteps} warm-up steps and a cosine to {pretraining.MinLearningRate}: validation perplexity {pretrainResult.BestValid.Perplexity:F2}
    ({pretrainResult.BestValid.BitsPerChar:F3} bits/char) after {pretrainResult.Steps:N0} steps.

    **Fine-tuning** on the {train.Count:N0} training tweets of recipes/tweets, one tweet per row, context {fineTuning.Context}, batches of {fineTuning.BatchSize}, with early stopping on its validation tweets:
    every weight for {fineTuning.Epochs} epoch at AdamW {fineTuning.LearningRate}; LoRA (`lm train --init DIR --lora R`) on all seven projections of every layer
    ({string.Join(", ", allProjections)}), alpha = 2r, dropout 0.05, the pretrained weights frozen, for up to {loraTuning.Epochs} epochs at {loraTuning.LearningRate}.
    Before fine-tuning, the pretrained model's perplexity on the validation tweets is {zeroShot.Perplexity:F2}.
    """);
md.AppendLine();
md.AppendLine("| model | trainable parameters | validation perplexity | fine-tuning time |");
md.AppendLine("|---|---:|---:|---:|");
foreach (var t in tuned)
    md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Name} | {t.Trainable:N0} ({100.0 * t.Trainable / t.Parameters:F2}%) | {t.Result.BestValid.Perplexity:F2} | {t.Result.Seconds / 60:F0} min |");
md.AppendLine();
md.AppendLine("## Completing the test tweets");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Mean ROUGE-L F1 over the {test.Count:N0} test tweets of recipes/tweets (cut at three quarters of their characters, completed with token healing).");
md.AppendLine();
md.AppendLine("| model | " + string.Join(" | ", decodings.Select(d => d.Name)) + " |");
md.AppendLine("|---|" + string.Concat(decodings.Select(_ => "---:|")));
foreach (string name in baselines.Select(b => b.Name).Concat(tuned.Select(t => t.Name)))
    md.AppendLine($"| {name} | " + string.Join(" | ", decodings.Select(d => scores[(name, d.Name)].Summary.RougeL.F1.ToString("F4", CultureInfo.InvariantCulture))) + " |");
md.AppendLine();
string? lstm = baselines.Select(b => b.Name).FirstOrDefault(n => n.Contains("LSTM", StringComparison.Ordinal));
var full = tuned[0];
var r32 = tuned[2];
var frozen = tuned.Single(t => t.Name == frozenEmbeddings);
if (lstm is not null)
{
    md.AppendLine(CultureInfo.InvariantCulture, $"Per tweet, against the LSTM (mean ROUGE-L difference over the same {test.Count:N0} tweets, ± 1.96 standard errors of the paired differences):");
    md.AppendLine();
    foreach ((string name, _) in baselines.Where(b => b.Name != lstm).Select(b => (b.Name, 0)).Concat(tuned.Select(t => (t.Name, 0))))
        md.AppendLine($"- {name}: " + string.Join("; ", decodings.Select(d => $"{d.Name} {Show(Paired(scores[(name, d.Name)].PerTweet, scores[(lstm, d.Name)].PerTweet))}")));
    md.AppendLine();
    var bestVsLstm = Paired(scores[(bestTuned.Name, mbr)].PerTweet, scores[(lstm, mbr)].PerTweet);
    md.AppendLine(CultureInfo.InvariantCulture,
        $"Target: the better fine-tuned model ({bestTuned.Name}) beats the LSTM on MBR healed ROUGE-L by more than the paired 1.96 SE: {Show(bestVsLstm)} — {(bestVsLstm.Mean > bestVsLstm.Half ? "met" : "not met")}.");
}
else md.AppendLine("recipes/tweets' run folders were missing, so its LSTM and GPT rows are absent: run recipes/tweets first.");
var loraGap = Paired(scores[(r32.Name, mbr)].PerTweet, scores[(full.Name, mbr)].PerTweet);
double r32Share = 100.0 * r32.Trainable / r32.Parameters;
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture,
    $"Target: LoRA r=32 within 0.005 of full fine-tuning (MBR healed) while training at most 2% of the parameters: LoRA r=32 minus full {Show(loraGap)}, " +
    $"{r32Share:F2}% of the parameters — {(Math.Abs(loraGap.Mean) <= 0.005 || loraGap.Mean > 0 ? "within 0.005" : "not within 0.005")}, {(r32Share <= 2 ? "at most 2%" : "more than 2%")}.");
if (!(Math.Abs(loraGap.Mean) <= 0.005 || loraGap.Mean > 0) || r32Share > 2)
{
    md.AppendLine();
    md.AppendLine(WhyLoraFallsShort(gapMet: Math.Abs(loraGap.Mean) <= 0.005 || loraGap.Mean > 0));
}
md.AppendLine();
md.AppendLine(curves);
md.AppendLine();
md.AppendLine("## The fine-tuned model outside this recipe");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"""
    The better fine-tuned model ({bestTuned.Name}) is written as a Hugging Face llama folder, `runs/export` (a LoRA adapter folded in, as
    `slovo models merge` does), and as GGUF, `runs/export.f16.gguf`; each LoRA run is also its base plus a PEFT adapter (`runs/lora-r8/adapter`,
    `runs/lora-r32/adapter`). llama.cpp (LLamaSharp, F32 GGUF) gives Slovo's greedy tokens on **{llamaSame} of {llamaPrompts}** test prompts
    ({llamaTokens:N0} tokens).

    {cliShown}

    The runs are not committed; after running the recipe, the same by hand:

    ```sh
    scripts/slovo lm complete --model recipes/pretrain-finetune/runs/export --data recipes/tweets/runs/validation-tweets.txt --greedy --heal --limit 200
    scripts/slovo lm complete --model recipes/pretrain-finetune/runs/lora-r32 --data recipes/tweets/runs/validation-tweets.txt --greedy --heal --limit 200
    scripts/slovo serve --model recipes/pretrain-finetune/runs/pretrain --adapter tweets-r8=recipes/pretrain-finetune/runs/lora-r8,tweets-r32=recipes/pretrain-finetune/runs/lora-r32
    ```

    **Pushkin.** The course fine-tuned ruGPT3 on Pushkin; there is no Russian text here to pretrain on besides Pushkin himself, so this
    recipe has no Pushkin row.

    ## Ten test tweets

    Greedy, healed; the prompt with the cut marked by ‸.

    | prompt‸ | true rest | {string.Join(" | ", new[] { lstm ?? "" }.Where(n => n.Length > 0).Append(bestTuned.Name))} |
    |---|---|{string.Concat(Enumerable.Repeat("---|", lstm is null ? 1 : 2))}
    """);
var mine = scores[(bestTuned.Name, decodings[0].Name)].Examples;
for (int i = 0; i < Math.Min(10, mine.Count); ++i)
    md.AppendLine($"| {LmRecipe.Escape(mine[i].Prompt)}‸ | {LmRecipe.Escape(mine[i].Reference)} | " +
                  (lstm is null ? "" : LmRecipe.Escape(scores[(lstm, decodings[0].Name)].Examples[i].Completion) + " | ") + $"{LmRecipe.Escape(mine[i].Completion)} |");

// Why LoRA r=32 misses its target, by measurement: where full fine-tuning moved the weights (relative change per group), whether the
// adapter had stopped improving (its validation perplexity per epoch), the data size, and the share r=32 takes at this width and at a
// real model's (the SmolLM2-135M shape).
string WhyLoraFallsShort(bool gapMet)
{
    var groups = new (string Name, Func<string, bool> Has)[]
    {
        ("the tied token embeddings", n => n.Contains("embed_tokens", StringComparison.Ordinal)),
        ("attention (q, k, v, o)", n => n.Contains("self_attn.", StringComparison.Ordinal)),
        ("MLP (gate, up, down)", n => n.Contains(".mlp.", StringComparison.Ordinal)),
        ("norms", n => n.Contains("norm", StringComparison.Ordinal)),
    };
    var change = new List<string>();
    long embedding;
    using (DecoderModel before = DecoderModel.FromPretrained(pretrainedFolder))
    using (DecoderModel after = DecoderModel.FromPretrained(Path.Combine(full.Dir, RunFolder.ModelDir)))
    {
        var was = before.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        embedding = was.Where(p => groups[0].Has(p.Key)).Sum(p => p.Value.NumElements);
        foreach ((string group, Func<string, bool> has) in groups)
        {
            double moved = 0, size = 0;
            long count = 0;
            foreach ((string n, Tensor w) in after.NamedParameters().Where(p => has(p.Name)))
            {
                using Tensor d = w - was[n], dn = d.Norm(), wn = was[n].Norm();
                moved += Math.Pow(dn.ToDouble(), 2);
                size += Math.Pow(wn.ToDouble(), 2);
                count += w.NumElements;
            }
            change.Add(FormattableString.Invariant($"{group} ({100.0 * count / full.Parameters:F0}% of the weights) {100 * Math.Sqrt(moved / size):F1}%"));
        }
    }
    string Curve(LmTrainingResult r) => string.Join(" → ", r.History.Select(h => h.Valid.Perplexity.ToString("F2", CultureInfo.InvariantCulture)).Prepend(zeroShot.Perplexity.ToString("F2", CultureInfo.InvariantCulture)));
    var last = r32.Result.History;
    double lastGain = last.Count > 1 ? 100 * (1 - last[^1].Valid.Perplexity / last[^2].Valid.Perplexity) : double.NaN;
    string stopped = r32.Result.StoppedEarly ? "stopped early, its validation perplexity no longer improving"
        : last.Count > 1 ? FormattableString.Invariant($"its last epoch still gained {lastGain:F1}% of perplexity") : "one epoch";
    // The share rank 32 takes on a real model: the SmolLM2-135M shape, on PEFT's default targets and on all seven.
    var smolConfig = new DecoderConfig
    {
        ModelType = "llama", VocabSize = 49152, Width = 576, Intermediate = 1536, Layers = 30, Heads = 9, KvHeads = 3, HeadDim = 64, MaxPositions = 64,
        NormEpsilon = 1e-5, RopeTheta = 100000, TieEmbeddings = true,
    };
    double Share(DecoderConfig c, IReadOnlyList<string> targets)
    {
        using DecoderModel m = new(c);
        using LoraAdapter a = LoraAdapter.Attach(m, new LoraOptions { Rank = 32, Alpha = 64, Targets = targets });
        return 100.0 * a.ParameterCount() / m.ParameterCount();
    }
    double qvHere = Share(config, ["q_proj", "v_proj"]), qvSmol = Share(smolConfig, ["q_proj", "v_proj"]), allSmol = Share(smolConfig, allProjections);
    return string.Create(CultureInfo.InvariantCulture, $"""
        {(gapMet ? "**LoRA r=32 comes within 0.005 of full fine-tuning, but not at 2% of the parameters; why, and where its remaining gap comes from, by measurement.**"
                 : "**Why LoRA r=32 falls short, by measurement.**")}
        - *Where fine-tuning goes.* Full fine-tuning moved each group of weights by this much (Frobenius norm of the change over that of the
          pretrained weights): {string.Join("; ", change)}. LoRA leaves the token embeddings, {100.0 * embedding / full.Parameters:F0}% of this small model's weights
          and the input and output of every token, frozen.
        - *The embeddings, tested.* Fine-tuning every weight but the token embeddings (the rest as full fine-tuning, {frozen.Trainable:N0}
          parameters) reaches validation perplexity {frozen.Result.BestValid.Perplexity:F2} against full fine-tuning's {full.Result.BestValid.Perplexity:F2},
          and MBR healed ROUGE-L {scores[(frozen.Name, mbr)].Summary.RougeL.F1:F4} against {scores[(full.Name, mbr)].Summary.RougeL.F1:F4}: minus full {Show(Paired(scores[(frozen.Name, mbr)].PerTweet, scores[(full.Name, mbr)].PerTweet))};
          LoRA r=32 minus it {Show(Paired(scores[(r32.Name, mbr)].PerTweet, scores[(frozen.Name, mbr)].PerTweet))}.
        - *Training time.* Validation perplexity from the pretrained model through each epoch: full {Curve(full.Result)}; LoRA r=8 {Curve(tuned[1].Result)};
          LoRA r=32 {Curve(r32.Result)} ({stopped}). The fine-tuning data are {tweetData.TrainTokens:N0} tokens of tweets; the budget gave the
          adapters {r32.Result.History.Count} epochs ({r32.Result.Seconds / 60:F0} min for r=32) against full fine-tuning's {full.Result.History.Count} ({full.Result.Seconds / 60:F0} min).
        - *The 2% share.* Rank 32 is large next to this model's width of {config.Width}: on all seven projections it trains {r32Share:F2}% of the
          parameters, and even on PEFT's default targets alone (q_proj, v_proj) {qvHere:F2}%. On the SmolLM2-135M shape (width 576, 30 layers) the
          same adapter trains {qvSmol:F2}% on q_proj and v_proj and {allSmol:F2}% on all seven: the 2% share belongs to models larger than the
          {config.Layers} × {config.Width} decoder this budget pretrains.
        """);
}
string readme = Path.Combine(recipe, quick ? "README-quick.md" : "README.md");
AtomicFile.WriteAllText(readme, md.ToString());
Console.WriteLine($"wrote {readme} ({total.Elapsed.TotalMinutes:F1} min)");
foreach (var t in tuned) { t.Adapter?.Dispose(); t.Model.Dispose(); }
foreach (var b in baselines) b.Model.Dispose();

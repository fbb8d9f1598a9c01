using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Slovo.Training;
using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Recipes;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;

// recipes/tweets: tweet autocompletion (the course's project 1). An LSTM and a GPT of about the same size, trained here on
// the same byte-level BPE, complete test tweets cut at three quarters of their characters; ROUGE against the true rest.
// usage: dotnet run -c Release --project recipes/tweets [-- --quick]   (a killed run continues where it stopped)
bool quick = args.Contains("--quick"); // a small run that checks the recipe end to end in a few minutes
string root = RecipePaths.Root(), shared = RecipePaths.SharedData();
string recipe = Path.Combine(root, "recipes", "tweets"), runs = Path.Combine(recipe, quick ? "runs-quick" : "runs");
var total = Stopwatch.StartNew();
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// Data: the shipped Sentiment140 tweets, cleaned (TweetCleaner: HTML entities decoded, URLs and @mentions removed,
// lowercased, whitespace collapsed), those of at least 10 characters kept, split with seed 1.
const int seed = 1;
string[] files = ["negative.txt", "positive.txt"];
List<string> raw = files.SelectMany(f => File.ReadLines(Path.Combine(shared, "tweets", f))).ToList();
List<string> tweets = raw.Select(TweetCleaner.Clean).Where(t => t.Length >= 10).ToList();
(List<string> rest, List<string> heldOut) = Corpus.Split(tweets, quick ? 0.005 : 0.02, seed);
// The CPU budget allows completing 1,000 test tweets with every decoding: the first 1,000 of the held-out 2%.
List<string> test = heldOut.Take(quick ? heldOut.Count : 1000).ToList();
(List<string> allTrain, List<string> valid) = Corpus.Split(rest, 0.03, seed + 1);
// The CPU budget (the whole recipe in about an hour on 2 cores) allows 50,000 training tweets: the first of the seeded split.
List<string> train = allTrain.Take(quick ? 8000 : 50_000).ToList();
Console.WriteLine($"{raw.Count:N0} tweets → {tweets.Count:N0} of at least 10 characters after cleaning: {train.Count:N0} train (of {allTrain.Count:N0}) / {valid.Count:N0} validation / {test.Count:N0} test");
// Tweets no model here trained on, for `slovo lm complete` by hand: the validation split (which also chose the decoding
// settings below) and 2,000 of the training pool's unused tweets.
Directory.CreateDirectory(runs);
File.WriteAllLines(Path.Combine(runs, "validation-tweets.txt"), valid);
File.WriteAllLines(Path.Combine(runs, "unseen-tweets.txt"), allTrain.Skip(train.Count).Take(2000));

var vocabClock = Stopwatch.StartNew();
int bpeSize = quick ? 500 : 2000;
SubwordVocabulary bpe = SubwordVocabulary.TrainByteLevelBpe(train, bpeSize);
var data = new LmDataset(bpe, train, valid, train.Select(bpe.EncodeSequence).ToArray(), valid.Select(bpe.EncodeSequence).ToArray());
double tokensPerTweet = data.Train.Average(s => s.Length - 2.0), charsPerTweet = train.Average(t => t.Length);
Console.WriteLine($"byte-level BPE of {bpe.Size:N0} tokens ({vocabClock.Elapsed.TotalSeconds:F0} s): {tokensPerTweet:F1} tokens per tweet, {charsPerTweet / tokensPerTweet:F2} characters per token");

// Validation tweets completed after every epoch (greedy, healed), for the ROUGE curve.
List<string> curveTweets = valid.Take(quick ? 100 : 400).ToList();
var rouge = new Rouge();
var greedy = new GenerationOptions { Greedy = true };
double CurveRouge(LanguageModel lm) =>
    Completion.Score(Completion.Complete(lm, curveTweets, greedy, new CompletionOptions { Heal = true }), rouge).RougeL.F1;

// The LSTM: one layer, embeddings 256, hidden 512; tied to nothing; Adam 2e-3, dropout 0.2, early stopping on validation loss.
int epochs = quick ? 1 : 3;
var lstmRun = new LmRun("LSTM",
    new RnnLanguageModelOptions { VocabSize = bpe.Size, Kind = RecurrentKind.Lstm, EmbeddingSize = 256, HiddenSize = quick ? 128 : 512, Dropout = 0.2, PadId = bpe.PadId },
    new RecurrentLmTrainingOptions { Epochs = epochs, Patience = 1, BatchSize = 64, Bptt = 64, LearningRate = 2e-3, Seed = seed });
string lstmDir = Path.Combine(runs, "lstm");
var lstmCurve = new RougeCurve(Path.Combine(lstmDir, "rouge_curve.json"));
RnnLanguageModel lstm = TrainLstm();
RnnLanguageModel TrainLstm()
{
    // LmRecipe.Train with an epoch hook: the model in training is wrapped (not owned) to complete the curve tweets.
    RnnLanguageModel? live = null;
    var trainer = new RecurrentLmTrainer
    {
        OnStep = LmRecipe.Progress("LSTM", 30),
        OnEpoch = e =>
        {
            double r = CurveRouge(LanguageModel.Of(live!, bpe));
            lstmCurve.Add(e.Epoch, r);
            Console.WriteLine($"  LSTM: epoch {e.Epoch} validation perplexity {e.Valid.Perplexity:F2}, {e.Valid.BitsPerChar:F3} bits/char, ROUGE-L {r:F4} ({e.Seconds:F0} s)");
        },
    };
    bool resume = File.Exists(Path.Combine(lstmDir, RunFolder.CheckpointFile));
    if (!resume && Directory.Exists(lstmDir)) Directory.Delete(lstmDir, recursive: true);
    if (!resume) lstmCurve.Clear();
    live = RandomGenerator.Seeded((ulong)seed, () => new RnnLanguageModel(lstmRun.Model));
    lstmRun.Parameters = live.ParameterCount();
    Console.WriteLine($"LSTM: {lstmRun.Parameters:N0} parameters{(resume ? ", continuing" : "")}");
    lstmRun.Result = trainer.Train(live, bpe, data.Train, data.Valid, data.ValidChars, lstmRun.Training, lstmDir, resume);
    return live;
}

// The GPT: 4 blocks of width 256 with 4 heads, context 64 (a tweet is ~25 tokens), dropout 0.05; AdamW 2e-3 with
// 200 steps of warm-up then a cosine to 2e-4 over 8 epochs, batches of 16 tweets, weight decay 0.1 on the projection matrices.
// Chosen by one-epoch trials on the validation tweets (perplexity after one epoch with the cosine over that epoch): lr 1e-3,
// dropout 0.1, batch 32: 167.7; lr 3e-3, dropout 0, batch 32: 167.4; lr 2e-3, dropout 0, batch 32: 160.2; the same with batch
// 16: 158.1. The model underfits (after 4 epochs at the first settings its training loss was no lower than the validation
// loss), so it gets more steps and less dropout; 0.05 rather than 0 because 8 epochs go over the same 50,000 tweets.
// One tweet per row from its start (GptRows.PerText), as a completion reads it: packed windows show a tweet's start mostly
// late in a window, after other tweets, and a packed GPT completed tweets worse than the LSTM at nearly the same perplexity.
var gptConfig = new GptConfig
{
    Layers = quick ? 2 : 4, Heads = 4, Width = quick ? 128 : 256, Positions = 64, VocabSize = bpe.Size, EmbeddingDropout = 0.05, AttentionDropout = 0.05,
    ResidualDropout = 0.05, BosTokenId = bpe.SosId, EosTokenId = bpe.EosId, PadTokenId = bpe.PadId,
};
var gptTraining = new GptTrainingOptions
{
    Epochs = quick ? 1 : 8, BatchSize = 16, Context = 64, LearningRate = 2e-3, MinLearningRate = 2e-4, WarmupSteps = 200, WeightDecay = 0.1, Patience = 1, Seed = seed,
    Rows = GptRows.PerText,
};
string gptDir = Path.Combine(runs, "gpt");
var gptCurve = new RougeCurve(Path.Combine(gptDir, "rouge_curve.json"));
GptModel gpt = RandomGenerator.Seeded((ulong)seed, () => new GptModel(gptConfig));
LmTrainingResult gptResult;
{
    bool resume = File.Exists(Path.Combine(gptDir, RunFolder.CheckpointFile));
    if (!resume && Directory.Exists(gptDir)) Directory.Delete(gptDir, recursive: true);
    if (!resume) gptCurve.Clear();
    Console.WriteLine($"GPT: {gpt.ParameterCount():N0} parameters{(resume ? ", continuing" : "")}");
    var trainer = new GptTrainer
    {
        OnStep = LmRecipe.Progress("GPT", 30),
        OnEpoch = e =>
        {
            double r = CurveRouge(LanguageModel.Of(gpt, bpe));
            gptCurve.Add(e.Epoch, r);
            Console.WriteLine($"  GPT: epoch {e.Epoch} validation perplexity {e.Valid.Perplexity:F2}, {e.Valid.BitsPerChar:F3} bits/char, ROUGE-L {r:F4} ({e.Seconds:F0} s)");
        },
    };
    gptResult = trainer.Train(gpt, bpe, data.Train, data.Valid, data.ValidChars, gptTraining, gptDir, resume);
}

// Completion of every test tweet, four decodings, with and without token healing.
// The last one is minimum-Bayes-risk decoding: 32 samples per tweet, the one with the highest mean ROUGE-L against the other 31
// kept. The count was chosen on the first 1,000 validation tweets with the LSTM and healing (`slovo lm complete --candidates N
// --temperature 0.8 --heal`): 8 gave ROUGE-L 0.1131, 16 0.1188, 32 0.1251, 64 0.1294 at twice the time of 32.
const int mbrSamples = 32;
(string Name, GenerationOptions Options, int Candidates)[] decodings =
[
    ("greedy", new GenerationOptions { Greedy = true }, 1),
    ("sampling, temperature 0.8", new GenerationOptions { Temperature = 0.8, Seed = seed }, 1),
    ("nucleus top-p 0.9", new GenerationOptions { TopP = 0.9, Seed = seed }, 1),
    ("beam search, 4 beams", new GenerationOptions { Beams = 4, LengthPenalty = 1.0 }, 1),
    ($"MBR: consensus of {mbrSamples} samples at temperature 0.8", new GenerationOptions { Temperature = 0.8, Seed = seed }, mbrSamples),
];
var models = new (string Name, LanguageModel Model, long Parameters)[]
{
    ("LSTM", LanguageModel.Of(lstm, bpe), lstmRun.Parameters), ("GPT", LanguageModel.Of(gpt, bpe), gpt.ParameterCount()),
};
var table = new List<(string Model, string Decoding, bool Healed, RougeSummary Scores, double Seconds)>();
var examples = new Dictionary<(string, string, bool), IReadOnlyList<CompletionExample>>();
foreach ((string name, LanguageModel model, _) in models)
    foreach ((string decoding, GenerationOptions options, int candidates) in decodings)
        foreach (bool heal in new[] { false, true })
        {
            var clock = Stopwatch.StartNew();
            IReadOnlyList<CompletionExample> done = Completion.Complete(model, test, options, new CompletionOptions { Heal = heal, Candidates = candidates });
            RougeSummary s = Completion.Score(done, rouge);
            table.Add((name, decoding, heal, s, clock.Elapsed.TotalSeconds));
            examples[(name, decoding, heal)] = done;
            Console.WriteLine($"{name}, {decoding}{(heal ? ", healed" : "")}: ROUGE-1 {s.Rouge1.F1:F4}, ROUGE-2 {s.Rouge2.F1:F4}, ROUGE-L {s.RougeL.F1:F4} ({clock.Elapsed.TotalSeconds:F0} s)");
        }

// README
string curves = RecipeCharts.Panels(Path.Combine(recipe, quick ? "curves-quick.png" : "curves.png"), "training curves", "epoch",
    ("validation loss (nats per BPE token)", "loss",
        [new ChartSeries("LSTM", lstmRun.Result!.History.Select(h => (double)h.Epoch).ToList(), lstmRun.Result.History.Select(h => h.Valid.Loss).ToList()),
         new ChartSeries("GPT", gptResult.History.Select(h => (double)h.Epoch).ToList(), gptResult.History.Select(h => h.Valid.Loss).ToList())]),
    ($"validation ROUGE-L F1 (greedy, healed; {curveTweets.Count} tweets)", "ROUGE-L", [lstmCurve.Series("LSTM"), gptCurve.Series("GPT")]));
var course = new Dictionary<(string, string), double> { [("LSTM", "greedy")] = 0.0707, [("LSTM", "sampling, temperature 0.8")] = 0.0712 };
var readme = new StringBuilder();
readme.AppendLine("# Tweet autocompletion");
readme.AppendLine();
readme.AppendLine("```");
readme.AppendLine("dotnet run -c Release --project recipes/tweets");
readme.AppendLine("```");
readme.AppendLine();
readme.AppendLine(CultureInfo.InvariantCulture, $"""
    The course's first project: a language model trained on tweets completes a tweet cut at three quarters of its characters
    (so the prompt usually ends inside a word: "my whole body feels itc"), and the completion is scored against the true rest with
    ROUGE (Google's rouge-score definitions, `Slovo.Evaluation.Rouge`: lowercase, runs outside [a-z0-9] become spaces, no
    stemming; F1, mean over the tweets). Written by the command above on {Environment.ProcessorCount} cores with libtorch {LibTorch.Version};
    its last invocation took {total.Elapsed.TotalMinutes:F0} min (a stopped run resumes each model where it stopped, and a finished one only
    reloads). From scratch: {(lstmRun.Result.Seconds + gptResult.Seconds + table.Sum(r => r.Seconds)) / 60:F0} min of training and completion ({lstmRun.Result.Seconds / 60:F0} min LSTM,
    {gptResult.Seconds / 60:F0} min GPT, {table.Sum(r => r.Seconds) / 60:F0} min completing the test tweets).

    **Data.** The shipped Sentiment140 tweets ({raw.Count:N0}), cleaned by `TweetCleaner` (HTML entities decoded, URLs and @mentions
    removed, lowercased, whitespace collapsed) and kept when at least 10 characters long: {tweets.Count:N0}. Split with seed 1:
    {allTrain.Count:N0} for training, of which the first {train.Count:N0} are used (the CPU budget), {valid.Count:N0} for validation (early stopping, curves), and
    {heldOut.Count:N0} held out, of which the first {test.Count:N0} are the test tweets, every one of them completed with every decoding below. One byte-level BPE of {bpe.Size:N0} tokens, trained on the training tweets, serves both models
    ({tokensPerTweet:F1} tokens per tweet, {charsPerTweet / tokensPerTweet:F2} characters per token).

    **Models** (about the same size, trained here from scratch on the same tokens):
    - LSTM: embeddings 256, one layer of {lstmRun.Model.HiddenSize}, dropout 0.2, {lstmRun.Parameters:N0} parameters; Adam 2e-3, batches of 64 tweets, early
      stopping on validation loss (`RecurrentLmTrainer`). Best epoch {lstmRun.Result.BestEpoch} of {lstmRun.Result.History.Count}: perplexity {lstmRun.Result.BestValid.Perplexity:F2} per token, {lstmRun.Result.BestValid.BitsPerChar:F3} bits/char, {lstmRun.Result.Seconds / 60:F1} min.
    - GPT: {gptConfig.Layers} blocks of width {gptConfig.Width}, {gptConfig.Heads} heads, context 64, dropout {gptConfig.ResidualDropout}, {gpt.ParameterCount():N0} parameters; AdamW {gptTraining.LearningRate} with {gptTraining.WarmupSteps} warm-up steps and a
      cosine to {gptTraining.MinLearningRate} over {gptTraining.Epochs} epochs, batches of {gptTraining.BatchSize} tweets, one per row from its start and padded (`GptTrainer`, `GptRows.PerText`, `--rows texts`), so that it
      learns tweets as a completion reads them and its perplexity is per tweet like the LSTM's. Best epoch {gptResult.BestEpoch} of {gptResult.History.Count}: perplexity {gptResult.BestValid.Perplexity:F2} per token, {gptResult.BestValid.BitsPerChar:F3} bits/char, {gptResult.Seconds / 60:F1} min.

    **Completion** (`Completion.Complete`, the same as `slovo lm complete`): up to the reference's own token count plus 3 tokens, or the
    end of the tweet. With **token healing** the prompt's last token is taken back and the completion must begin with its text, so
    the model decides how the cut word goes on; without it, a subword model sees a token (say "tomorr") that in training was always
    followed by the rest of its word in the same token, and often ends the word there. **MBR** (minimum Bayes risk, `--candidates`
    of `slovo lm complete`) samples {mbrSamples} completions per tweet and keeps the one with the highest mean ROUGE-L F1 against the
    other {mbrSamples - 1}: with the samples standing in for the unknown true rest, that is the completion of highest expected ROUGE-L.
    The count was chosen on the first 1,000 validation tweets (LSTM, healed): 8 samples gave ROUGE-L 0.1131, 16 gave 0.1188, 32 gave
    0.1251, 64 gave 0.1294 at twice the time of 32 (measured when the samples of 64 tweets were drawn in one batch; now a batch holds 64 rows, 2 tweets × 32). `runs/validation-tweets.txt` and `runs/unseen-tweets.txt` (2,000 tweets of the
    training pool beyond the {train.Count:N0} used) hold tweets no model here trained on, for trying other settings by hand.
    """);
readme.AppendLine();
readme.AppendLine("## Results");
readme.AppendLine();
readme.AppendLine(CultureInfo.InvariantCulture, $"Mean F1 over the {test.Count:N0} test tweets. The course column is the course project's figure: not like for like (about 300,000 tweets, its own split and cleaning, a word-level LSTM; its transformer row was a pretrained distilgpt2, 0.0519 greedy and 0.0497 sampling).");
readme.AppendLine();
readme.AppendLine("| model | decoding | token healing | ROUGE-1 | ROUGE-2 | ROUGE-L | course ROUGE-L | time |");
readme.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
foreach (var r in table)
    readme.AppendLine(CultureInfo.InvariantCulture,
        $"| {r.Model} | {r.Decoding} | {(r.Healed ? "yes" : "no")} | {r.Scores.Rouge1.F1:F4} | {r.Scores.Rouge2.F1:F4} | {r.Scores.RougeL.F1:F4} | {(!r.Healed && course.TryGetValue((r.Model, r.Decoding), out double c) ? c.ToString("F4", CultureInfo.InvariantCulture) : "")} | {r.Seconds:F0} s |");
var best = table.MaxBy(r => r.Scores.RougeL.F1);
double bestLstm = table.Where(r => r.Model == "LSTM").Max(r => r.Scores.RougeL.F1);
double bestGptHealed = table.Where(r => r.Model == "GPT" && r.Healed).Max(r => r.Scores.RougeL.F1);
readme.AppendLine();
readme.AppendLine(CultureInfo.InvariantCulture,
    $"Best: {best.Model}, {best.Decoding}{(best.Healed ? ", healed" : "")}, ROUGE-L {best.Scores.RougeL.F1:F4} (target: 0.12 — {(best.Scores.RougeL.F1 >= 0.12 ? "met" : "not met")}). " +
    $"The best healed GPT row ({bestGptHealed:F4}) is {(bestGptHealed > bestLstm ? "above" : "not above")} every LSTM row (best {bestLstm:F4}).");
// Paired by tweet: the same 1,000 tweets under both models, so the per-tweet differences say whether a gap is more than noise.
double[] PerTweet((string, string, bool) row) => examples[row].Select(e => rouge.Score(e.Reference, e.Completion).RougeL.F1).ToArray();
string Paired((string, string, bool) gptRow, (string, string, bool) lstmRow)
{
    double[] d = PerTweet(gptRow).Zip(PerTweet(lstmRow), (g, l) => g - l).ToArray();
    double mean = d.Average(), sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1)), half = 1.96 * sd / Math.Sqrt(d.Length);
    return FormattableString.Invariant($"{mean:+0.0000;-0.0000;0.0000} ± {half:F4}{(Math.Abs(mean) <= half ? " (within noise)" : "")}");
}
var bestLstmRow = table.Where(r => r.Model == "LSTM").MaxBy(r => r.Scores.RougeL.F1);
var bestGptRow = table.Where(r => r.Model == "GPT" && r.Healed).MaxBy(r => r.Scores.RougeL.F1);
readme.AppendLine();
readme.AppendLine(
    $"Per tweet, GPT minus LSTM (mean ROUGE-L difference over the same {test.Count:N0} tweets, ± 1.96 standard errors of the paired differences): " +
    $"best healed GPT row against best LSTM row {Paired((bestGptRow.Model, bestGptRow.Decoding, true), (bestLstmRow.Model, bestLstmRow.Decoding, bestLstmRow.Healed))}; " +
    "decoding by decoding, healed: " +
    string.Join("; ", decodings.Select(d => $"{d.Name} {Paired(("GPT", d.Name, true), ("LSTM", d.Name, true))}")) + ".");
readme.AppendLine();
readme.AppendLine(curves);
readme.AppendLine();
readme.AppendLine("## Twenty test tweets");
readme.AppendLine();
readme.AppendLine("Greedy decoding with token healing; the prompt is shown with the cut marked by ‸.");
readme.AppendLine();
readme.AppendLine("| prompt‸ | true rest | LSTM | GPT |");
readme.AppendLine("|---|---|---|---|");
var lstmEx = examples[("LSTM", "greedy", true)];
var gptEx = examples[("GPT", "greedy", true)];
for (int i = 0; i < Math.Min(20, lstmEx.Count); ++i)
    readme.AppendLine(CultureInfo.InvariantCulture, $"| {LmRecipe.Escape(lstmEx[i].Prompt)}‸ | {LmRecipe.Escape(lstmEx[i].Reference)} | {LmRecipe.Escape(lstmEx[i].Completion)} | {LmRecipe.Escape(gptEx[i].Completion)} |");
readme.AppendLine();
readme.AppendLine("Any run here completes other tweets from the command line, for example `scripts/slovo lm complete --model recipes/tweets/runs/gpt " +
                  "--data FILE --clean tweets --greedy --heal` (the run folders are not committed: run the recipe first).");
File.WriteAllText(Path.Combine(recipe, quick ? "README-quick.md" : "README.md"), readme.ToString());
Console.WriteLine($"wrote {Path.Combine(recipe, quick ? "README-quick.md" : "README.md")} ({total.Elapsed.TotalMinutes:F1} min)");
foreach (var m in models) m.Model.Dispose();

/// <summary>Validation ROUGE-L per epoch, kept in the run folder so a resumed run still draws the whole curve.</summary>
internal sealed class RougeCurve(string path)
{
    private readonly SortedDictionary<int, double> _points = File.Exists(path)
        ? JsonSerializer.Deserialize<SortedDictionary<int, double>>(File.ReadAllText(path)) ?? [] : [];

    public void Clear() => _points.Clear();

    public void Add(int epoch, double rougeL)
    {
        _points[epoch] = rougeL;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(_points));
    }

    public ChartSeries Series(string name) => new(name, _points.Keys.Select(k => (double)k).ToList(), _points.Values.ToList());
}

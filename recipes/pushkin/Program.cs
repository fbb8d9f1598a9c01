using System.Diagnostics;
using System.Globalization;
using System.Text;
using Slovo.Training;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Recipes;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Text;

// recipes/pushkin: character-level vs subword (byte-level BPE) LSTM and GPT language models on Pushkin's poems, a random
// architecture search over both, and long samples by the best; writes README.md.
// usage: dotnet run -c Release --project recipes/pushkin   (a killed run continues where it stopped when started again)

// The transformer rows' budget (2 CPU cores): epochs of the GPTs, and the random search's trials per family, epochs per trial and
// largest model.
const int GptCharEpochs = 4, GptBpeEpochs = 6, SearchTrials = 4, TrialEpochs = 2, BestLstmEpochs = 8, SearchSeed = 20;
const long ParameterBudget = 2_000_000;
const int LongChars = 1000;
string root = RecipePaths.Root(), shared = RecipePaths.SharedData();
string runs = Path.Combine(root, "recipes", "pushkin", "runs");
var total = Stopwatch.StartNew();
// Texts of 8 consecutive lines (line breaks kept), so the models see verse structure; 10% held out with seed 1.
List<string> lines = Corpus.ReadLines(Path.Combine(shared, "pushkin", "pushkin.txt"));
List<string> texts = Corpus.JoinLines(lines, 8);
const int seed = 1;
(List<string> trainTexts, List<string> validTexts) = Corpus.Split(texts, 0.1, seed);
long trainChars = trainTexts.Sum(t => (long)t.Length);
Console.WriteLine($"{lines.Count:N0} lines → {texts.Count:N0} texts of 8 lines: {trainTexts.Count:N0} train / {validTexts.Count:N0} validation, {trainChars:N0} training characters");

// Frequency analysis for the subword vocabulary size: for each candidate, how many tokens a character costs and how
// often the vocabulary's tokens occur in training (a token seen rarely gets a poorly trained embedding).
int[] sizes = [400, 700, 1000, 1400, 2000, 3000, 5000];
const int rareBelow = 50;
var analysis = new List<(int Size, double TokensPerChar, double RareShare, long MedianCount)>();
var bpeBySize = new Dictionary<int, SubwordVocabulary>();
foreach (int size in sizes)
{
    SubwordVocabulary v = SubwordVocabulary.TrainByteLevelBpe(trainTexts, size);
    bpeBySize[size] = v;
    var counts = new long[v.Size];
    long tokens = 0;
    foreach (string t in trainTexts) foreach (int id in v.Encode(t)) { counts[id]++; tokens++; }
    long[] used = counts.Skip(4).Where(c => c > 0).ToArray(); // byte-level BPE reserves all 256 bytes; unused ones are left out
    double rare = used.Count(c => c < rareBelow) / (double)used.Length;
    long median = used.Order().ElementAt(used.Length / 2);
    analysis.Add((size, tokens / (double)trainChars, rare, median));
    Console.WriteLine($"  BPE {size}: {tokens / (double)trainChars:F3} tokens/char, {rare:P1} of tokens seen < {rareBelow} times, median count {median}");
}
// The rule: the largest vocabulary in which at most a fifth of the tokens in use are rare.
int chosen = analysis.Where(a => a.RareShare <= 0.20).Select(a => a.Size).DefaultIfEmpty(sizes[0]).Max();
SubwordVocabulary bpe = bpeBySize[chosen];
Console.WriteLine($"chosen subword vocabulary: {chosen}");

LmDataset charData = LmDataset.Create(texts, 0.1, seed, part => CharVocabulary.Build(part));
LmDataset bpeData = LmDataset.Create(texts, 0.1, seed, vocab: bpe);
var charRun = new LmRun("char LSTM",
    new RnnLanguageModelOptions { VocabSize = charData.Vocab.Size, Kind = RecurrentKind.Lstm, EmbeddingSize = 32, HiddenSize = 256, Dropout = 0.1, PadId = charData.Vocab.PadId },
    new RecurrentLmTrainingOptions { Epochs = 12, Patience = 1, BatchSize = 32, Bptt = 200, LearningRate = 3e-3, Seed = seed });
var bpeRun = new LmRun($"BPE-{chosen} LSTM",
    new RnnLanguageModelOptions { VocabSize = bpe.Size, Kind = RecurrentKind.Lstm, EmbeddingSize = 128, HiddenSize = 256, Dropout = 0.2, PadId = bpe.PadId },
    new RecurrentLmTrainingOptions { Epochs = 12, Patience = 1, BatchSize = 32, Bptt = 128, LearningRate = 2e-3, Seed = seed });
RnnLanguageModel charModel = LmRecipe.Train(charRun, charData, Path.Combine(runs, "char-LSTM"));
RnnLanguageModel bpeModel = LmRecipe.Train(bpeRun, bpeData, Path.Combine(runs, "bpe-LSTM"));

// Transformers on the same texts and tokens: one GPT shape on characters and on the chosen BPE, 4 blocks of width 192
// with 4 heads, dropout 0.1; AdamW 1e-3, warm-up then a cosine to 1e-4 over the epochs; batches of 16 windows.
GptRun Gpt(string name, LmDataset data, int context, int epochs) => new(name, new GptConfig
{
    Layers = 4, Heads = 4, Width = 192, Positions = context, VocabSize = data.Vocab.Size, EmbeddingDropout = 0.1, AttentionDropout = 0.1, ResidualDropout = 0.1,
    BosTokenId = data.Vocab.SosId, EosTokenId = data.Vocab.EosId, PadTokenId = data.Vocab.PadId,
}, new GptTrainingOptions { Epochs = epochs, BatchSize = 16, Context = context, LearningRate = 1e-3, MinLearningRate = 1e-4, WarmupSteps = 100, Patience = 1, Seed = seed });
GptRun charGpt = Gpt("char GPT", charData, context: 256, epochs: GptCharEpochs), bpeGpt = Gpt($"BPE-{chosen} GPT", bpeData, context: 128, epochs: GptBpeEpochs);
GptModel charGptModel = LmRecipe.TrainGpt(charGpt, charData, Path.Combine(runs, "char-GPT"));
GptModel bpeGptModel = LmRecipe.TrainGpt(bpeGpt, bpeData, Path.Combine(runs, "bpe-GPT"));

// Random architecture search, as the course project did: seeded draws of depth, width, heads (GPT), dropout and learning
// rate for each family, every model within the parameter budget and trained for the same few epochs on the chosen BPE,
// scored by validation bits per character; then the best of each family is trained for the full budget.
var draw = new Random(SearchSeed);
T Pick<T>(params T[] xs) => xs[draw.Next(xs.Length)];
double LogUniform(double lo, double hi) => Math.Exp(Math.Log(lo) + draw.NextDouble() * (Math.Log(hi) - Math.Log(lo)));
var trials = new List<(string Family, string Shape, double Dropout, double Rate, IRecipeRun Run)>();
for (int i = 1; i <= SearchTrials; ++i)
{
    RnnLanguageModelOptions shape;
    long size;
    do
    {
        shape = new RnnLanguageModelOptions
        {
            VocabSize = bpe.Size, Kind = RecurrentKind.Lstm, Layers = Pick(1, 2), EmbeddingSize = Pick(64, 128, 192, 256), HiddenSize = Pick(128, 192, 256, 384, 512),
            Dropout = Pick(0.0, 0.1, 0.2, 0.3), PadId = bpe.PadId,
        };
        using var probe = new RnnLanguageModel(shape);
        size = probe.ParameterCount();
    } while (size > ParameterBudget);
    var run = new LmRun($"LSTM trial {i}", shape, new RecurrentLmTrainingOptions { Epochs = TrialEpochs, Patience = 0, BatchSize = 32, Bptt = 128, LearningRate = LogUniform(1e-3, 6e-3), Seed = seed });
    LmRecipe.Train(run, bpeData, Path.Combine(runs, "search", $"lstm-{i}")).Dispose();
    trials.Add(("LSTM", $"{shape.Layers} × {shape.HiddenSize}, embedding {shape.EmbeddingSize}", shape.Dropout, run.Training.LearningRate, run));
}
for (int i = 1; i <= SearchTrials; ++i)
{
    GptConfig shape;
    long size;
    do
    {
        int width = Pick(128, 192, 256);
        double dropout = Pick(0.0, 0.1, 0.2);
        shape = new GptConfig
        {
            Layers = Pick(2, 3, 4, 6), Width = width, Heads = Pick(new[] { 2, 4, 8 }.Where(h => width % h == 0 && width / h >= 16).ToArray()), Positions = 128,
            VocabSize = bpe.Size, EmbeddingDropout = dropout, AttentionDropout = dropout, ResidualDropout = dropout,
            BosTokenId = bpe.SosId, EosTokenId = bpe.EosId, PadTokenId = bpe.PadId,
        };
        using var probe = new GptModel(shape);
        size = probe.ParameterCount();
    } while (size > ParameterBudget);
    double rate = LogUniform(3e-4, 3e-3);
    var run = new GptRun($"GPT trial {i}", shape, new GptTrainingOptions
    {
        Epochs = TrialEpochs, BatchSize = 16, Context = 128, LearningRate = rate, MinLearningRate = rate / 10, WarmupSteps = 50, Patience = 0, Seed = seed,
    });
    LmRecipe.TrainGpt(run, bpeData, Path.Combine(runs, "search", $"gpt-{i}")).Dispose();
    trials.Add(("GPT", $"{shape.Layers} × {shape.Width}, {shape.Heads} heads", shape.EmbeddingDropout, rate, run));
}
double Bits(IRecipeRun r) => r.Result!.BestValid.BitsPerChar;
var bestLstmTrial = (LmRun)trials.Where(t => t.Family == "LSTM").MinBy(t => Bits(t.Run)).Run;
var bestGptTrial = (GptRun)trials.Where(t => t.Family == "GPT").MinBy(t => Bits(t.Run)).Run;
// The best LSTM trial is trained on to the full budget: its rate is constant and every epoch's order and dropout come
// from the seed, so continuing the trial's run is the run a retraining from scratch would be. A GPT's cosine spans its
// epochs, so the best GPT is trained again from scratch.
var bestLstm = bestLstmTrial with { Name = $"best LSTM of the search ({bestLstmTrial.Name})", Training = bestLstmTrial.Training with { Epochs = BestLstmEpochs, Patience = 1 } };
string bestLstmDir = Path.Combine(runs, "search", "best-lstm");
if (!File.Exists(Path.Combine(bestLstmDir, RunFolder.CheckpointFile)))
{
    Directory.CreateDirectory(bestLstmDir);
    foreach (string f in Directory.GetFiles(Path.Combine(runs, "search", $"lstm-{bestLstmTrial.Name.Split(' ')[^1]}")))
        File.Copy(f, Path.Combine(bestLstmDir, Path.GetFileName(f)), overwrite: true);
}
RnnLanguageModel bestLstmModel = LmRecipe.Train(bestLstm, bpeData, bestLstmDir);
var bestGpt = bestGptTrial with
{
    Name = $"best GPT of the search ({bestGptTrial.Name})",
    Training = bestGptTrial.Training with { Epochs = GptBpeEpochs, WarmupSteps = 100, Patience = 1 },
};
GptModel bestGptModel = LmRecipe.TrainGpt(bestGpt, bpeData, Path.Combine(runs, "search", "best-gpt"));

const string prompt = "Я помню чудное мгновенье";
var samples = new StringBuilder();
(string, GenerationOptions)[] strategies =
[
    ("greedy, no-repeat 4-gram", new GenerationOptions { Greedy = true, NoRepeatNgramSize = 4 }),
    ("temperature 0.7", new GenerationOptions { Temperature = 0.7 }),
    ("nucleus top-p 0.9", new GenerationOptions { TopP = 0.9 }),
    ("beam sampling, 4 beams", new GenerationOptions { Beams = 4, BeamSampling = true }),
];
foreach ((RnnLanguageModel model, Vocabulary vocab, string name) in new[] { (charModel, (Vocabulary)charData.Vocab, charRun.Name), (bpeModel, bpe, bpeRun.Name) })
    foreach ((string strategy, GenerationOptions o) in strategies)
    {
        int[] ids = [vocab.SosId, .. vocab.Encode(prompt)];
        GenerationResult g = Generator.Generate(model, ids, o with { MaxTokens = vocab.Level == TokenLevel.Char ? 240 : 90, MinTokens = vocab.Level == TokenLevel.Char ? 150 : 60, EosToken = vocab.EosId, Seed = seed });
        samples.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {strategy} | {LmRecipe.Escape(vocab.Decode(ids.Concat(g.Tokens)))} |");
    }

// The best model of all (validation bits per character) writes three long samples, each from its own prompt and seed.
IRecipeRun[] fullRuns = [charRun, bpeRun, charGpt, bpeGpt, bestLstm, bestGpt];
IRecipeRun best = fullRuns.MinBy(Bits)!;
var sampleOptions = new GenerationOptions { Temperature = 0.8, TopP = 0.95 };
string[] longPrompts = ["Я помню чудное мгновенье", "Мой дядя самых честных правил", "Буря мглою небо кроет"];
string LongSample(string prompt, int sampleSeed) => best switch
{
    _ when ReferenceEquals(best, charRun) => LmRecipe.LongSample(charModel, charData.Vocab, prompt, LongChars, sampleOptions, sampleSeed, null),
    _ when ReferenceEquals(best, bpeRun) => LmRecipe.LongSample(bpeModel, bpe, prompt, LongChars, sampleOptions, sampleSeed, null),
    _ when ReferenceEquals(best, bestLstm) => LmRecipe.LongSample(bestLstmModel, bpe, prompt, LongChars, sampleOptions, sampleSeed, null),
    _ when ReferenceEquals(best, charGpt) => LmRecipe.LongSample(charGptModel, charData.Vocab, prompt, LongChars, sampleOptions, sampleSeed, charGpt.Config.Positions),
    _ when ReferenceEquals(best, bpeGpt) => LmRecipe.LongSample(bpeGptModel, bpe, prompt, LongChars, sampleOptions, sampleSeed, bpeGpt.Config.Positions),
    _ => LmRecipe.LongSample(bestGptModel, bpe, prompt, LongChars, sampleOptions, sampleSeed, bestGpt.Config.Positions),
};
var longSamples = longPrompts.Select((prompt, i) => LongSample(prompt, i + 1)).ToList();

var md = new StringBuilder();
md.AppendLine("# Pushkin: characters vs subwords, LSTM vs GPT");
md.AppendLine();
md.AppendLine("```");
md.AppendLine("dotnet run -c Release --project recipes/pushkin");
md.AppendLine("```");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Trains character-level and subword-level (byte-level BPE trained by Slovo) LSTM and GPT language models, and runs a random architecture search over both families, on the shipped Pushkin poems ({lines.Count:N0} lines, grouped into {texts.Count:N0} texts of 8 lines with the line breaks kept), " +
    $"{trainTexts.Count:N0} texts for training and {validTexts.Count:N0} held out (seeded split, seed {seed}). Written by the command above on {Environment.ProcessorCount} cores with libtorch {LibTorch.Version}; models already trained in runs/ are reloaded, not retrained, and each training time below is that model's total across runs (this run: {total.Elapsed.TotalMinutes:F0} min).");
md.AppendLine();
md.AppendLine("## Choosing the subword vocabulary by frequency analysis");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"A byte-level BPE was trained on the training texts for each size. A bigger vocabulary makes sequences shorter (fewer tokens per character) but leaves more tokens that occur rarely, whose embeddings and output rows get little training. Rule: the largest size in which at most 20% of the tokens in use occur fewer than {rareBelow} times in the training text (byte tokens that never occur are left out of the counts).");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"| vocabulary | tokens per character | tokens in use seen < {rareBelow} times | median count of tokens in use |");
md.AppendLine("|---:|---:|---:|---:|");
foreach (var a in analysis) md.AppendLine(CultureInfo.InvariantCulture, $"| {a.Size:N0}{(a.Size == chosen ? " (chosen)" : "")} | {a.TokensPerChar:F3} | {a.RareShare:P1} | {a.MedianCount:N0} |");
md.AppendLine();
md.AppendLine("## Validation results");
md.AppendLine();
md.Append(LmRecipe.ResultsTable(fullRuns));
md.AppendLine();
md.AppendLine(LmRecipe.Curves(Path.Combine(root, "recipes", "pushkin", "curves.png"), fullRuns));
md.AppendLine();
md.AppendLine("Perplexity is per token of each model's own vocabulary, so only bits per character (the same log-likelihood spread over the characters of the validation text, each text's end counted as one) compares the two. " +
              "Settings: char LSTM embedding 32, hidden 256, dropout 0.1, lr 0.003, windows of 200 characters, at most 12 epochs; BPE LSTM embedding 128, hidden 256, dropout 0.2, lr 0.002, windows of 128 tokens, at most 12 epochs; both Adam, batch 32 bucketed by length, gradient norm ≤ 1, early stopping with patience 1.");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"GPTs: 4 blocks of width 192 with 4 heads, dropout 0.1, AdamW 1e-3 (weight decay 0.1 on the projection matrices) with 100 steps of warm-up and a cosine to 1e-4 over at most {GptCharEpochs} epochs (characters, windows of 256) or {GptBpeEpochs} epochs (BPE, windows of 128), batches of 16 windows, early-stopping patience 1; the texts are joined into one stream and cut into windows. " +
              $"Best model by bits per character: **{best.Name}**, {Bits(best):F3}.");
md.AppendLine();
md.AppendLine("## Random architecture search");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Seeded draws (seed {SearchSeed}), {SearchTrials} per family, each model at most {ParameterBudget:N0} parameters (a draw above the budget is drawn again), trained {TrialEpochs} epochs on the BPE-{chosen} tokens with seed {seed} and scored by validation bits per character. " +
              $"LSTM: 1 or 2 layers, embedding 64–256, hidden 128–512, dropout 0–0.3, Adam with a constant rate drawn log-uniformly from [0.001, 0.006], batches of 32, windows of 128. " +
              $"GPT: 2, 3, 4 or 6 blocks, width 128, 192 or 256, 2, 4 or 8 heads (at least 16 dimensions each), dropout 0–0.2, AdamW at a peak rate drawn log-uniformly from [0.0003, 0.003] with 50 warm-up steps and a cosine to a tenth of it over the trial, batches of 16 windows of 128.");
md.AppendLine();
md.AppendLine("| trial | shape | dropout | learning rate | parameters | bits/char | training time |");
md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
foreach (var t in trials)
    md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Run.Name}{(ReferenceEquals(t.Run, bestLstmTrial) || ReferenceEquals(t.Run, bestGptTrial) ? " (best)" : "")} | {t.Shape} | {t.Dropout:0.0} | {t.Rate:0.0000} | {t.Run.Parameters:N0} | {Bits(t.Run):F3} | {t.Run.Result!.Seconds / 60:F1} min |");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"The best of each family was then trained for the full budget (the last two rows of the validation table): the LSTM by continuing its trial's run to at most {BestLstmEpochs} epochs (its rate is constant and every epoch's order and dropout come from the seed, so this is the run a retraining would be), the GPT again from scratch over at most {GptBpeEpochs} epochs with 100 warm-up steps.");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"## Long samples by the best model ({best.Name})");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Temperature 0.8 with nucleus top-p 0.95, seeds 1–3, at least {LongChars:N0} characters, generated {(best is GptRun ? "in pieces of 64 tokens, each reading the last half of the model's context (a sliding window)" : "in pieces of 64 tokens")}; the end of text is held back so the poem runs on.");
for (int i = 0; i < longSamples.Count; ++i)
{
    md.AppendLine();
    md.AppendLine(CultureInfo.InvariantCulture, $"**Sample {i + 1}** (prompt \"{longPrompts[i]}\", seed {i + 1}, {longSamples[i].Length:N0} characters):");
    md.AppendLine();
    md.AppendLine("```");
    md.AppendLine(longSamples[i]);
    md.AppendLine("```");
}
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"## Samples (prompt \"{prompt}\", seed {seed}; the end of text is held back for the first 150 characters / 60 subwords)");
md.AppendLine();
md.AppendLine("| model | strategy | text (line breaks shown as /) |");
md.AppendLine("|---|---|---|");
md.Append(samples);
File.WriteAllText(Path.Combine(root, "recipes", "pushkin", "README.md"), md.ToString());
Console.WriteLine($"wrote recipes/pushkin/README.md ({total.Elapsed.TotalMinutes:F1} min)");
return 0;

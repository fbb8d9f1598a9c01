using System.Diagnostics;
using System.Globalization;
using System.Text;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Recipes;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Text;

// recipes/pushkin: character-level vs subword (byte-level BPE) LSTM language models on Pushkin's poems; writes README.md.
// usage: dotnet run -c Release --project recipes/pushkin   (a killed run continues where it stopped when started again)

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
    new LmTrainingOptions { Epochs = 12, Patience = 1, BatchSize = 32, Bptt = 200, LearningRate = 3e-3, Seed = seed });
var bpeRun = new LmRun($"BPE-{chosen} LSTM",
    new RnnLanguageModelOptions { VocabSize = bpe.Size, Kind = RecurrentKind.Lstm, EmbeddingSize = 128, HiddenSize = 256, Dropout = 0.2, PadId = bpe.PadId },
    new LmTrainingOptions { Epochs = 12, Patience = 1, BatchSize = 32, Bptt = 128, LearningRate = 2e-3, Seed = seed });
RnnLanguageModel charModel = LmRecipe.Train(charRun, charData, Path.Combine(runs, "char-LSTM"));
RnnLanguageModel bpeModel = LmRecipe.Train(bpeRun, bpeData, Path.Combine(runs, "bpe-LSTM"));

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

var md = new StringBuilder();
md.AppendLine("# Pushkin: characters vs subwords");
md.AppendLine();
md.AppendLine("```");
md.AppendLine("dotnet run -c Release --project recipes/pushkin");
md.AppendLine("```");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Trains a character-level and a subword-level (byte-level BPE trained by Slovo) LSTM language model on the shipped Pushkin poems ({lines.Count:N0} lines, grouped into {texts.Count:N0} texts of 8 lines with the line breaks kept), " +
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
md.Append(LmRecipe.ResultsTable([charRun, bpeRun]));
md.AppendLine();
md.AppendLine(LmRecipe.Curves(Path.Combine(root, "recipes", "pushkin", "curves.png"), [charRun, bpeRun]));
md.AppendLine();
md.AppendLine("Perplexity is per token of each model's own vocabulary, so only bits per character (the same log-likelihood spread over the characters of the validation text, each text's end counted as one) compares the two. " +
              "Settings: char LSTM embedding 32, hidden 256, dropout 0.1, lr 0.003, windows of 200 characters, at most 12 epochs; BPE LSTM embedding 128, hidden 256, dropout 0.2, lr 0.002, windows of 128 tokens, at most 12 epochs; both Adam, batch 32 bucketed by length, gradient norm ≤ 1, early stopping with patience 1.");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"## Samples (prompt \"{prompt}\", seed {seed}; the end of text is held back for the first 150 characters / 60 subwords)");
md.AppendLine();
md.AppendLine("| model | strategy | text (line breaks shown as /) |");
md.AppendLine("|---|---|---|");
md.Append(samples);
File.WriteAllText(Path.Combine(root, "recipes", "pushkin", "README.md"), md.ToString());
Console.WriteLine($"wrote recipes/pushkin/README.md ({total.Elapsed.TotalMinutes:F1} min)");
return 0;

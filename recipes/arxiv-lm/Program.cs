using System.Diagnostics;
using System.Globalization;
using System.Text;
using Slovo.Training;
using Slovo.Embeddings;
using Slovo.LanguageModels;
using Slovo.Recipes;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Text;

// recipes/arxiv-lm: word- and char-level language models on the shipped arXiv abstracts; writes README.md.
// usage: dotnet run -c Release --project recipes/arxiv-lm   (a killed run continues where it stopped when started again)

string root = RecipePaths.Root(), shared = RecipePaths.SharedData();
string runs = Path.Combine(root, "recipes", "arxiv-lm", "runs");
var total = Stopwatch.StartNew();
// The course's preparation: "title ; summary", lowercased; one text per paper; 10% held out with seed 1.
List<string> texts = Corpus.ReadArxiv(Path.Combine(shared, "arxiv", "arxivData.json")).Select(t => t.ToLowerInvariant()).ToList();
const double validFraction = 0.1;
const int seed = 1;
LmDataset words = LmDataset.Create(texts, validFraction, seed, part => WordVocabulary.Build(part, lowercase: true, minCount: 3));
LmDataset chars = LmDataset.Create(texts, validFraction, seed, part => CharVocabulary.Build(part));
Console.WriteLine($"{texts.Count} abstracts: {words.TrainTexts.Count} train / {words.ValidTexts.Count} validation; " +
                  $"word vocabulary {words.Vocab.Size:N0} (min count 3), {words.TrainTokens:N0} training tokens; {chars.Vocab.Size} characters");

var wordTraining = new RecurrentLmTrainingOptions { Epochs = 6, Patience = 1, BatchSize = 32, Bptt = 128, LearningRate = 2e-3, Seed = seed };
RnnLanguageModelOptions Word(RecurrentKind kind, int emb = 128) => new()
{
    VocabSize = words.Vocab.Size, Kind = kind, EmbeddingSize = emb, HiddenSize = 128, Layers = 1, Dropout = 0.2, PadId = words.Vocab.PadId,
};
var wordRuns = new List<LmRun>
{
    new("word RNN (tanh)", Word(RecurrentKind.RnnTanh), wordTraining),
    new("word GRU", Word(RecurrentKind.Gru), wordTraining),
    new("word LSTM", Word(RecurrentKind.Lstm), wordTraining),
    new("word LSTM, GloVe-100d init", Word(RecurrentKind.Lstm, emb: 100), wordTraining),
};
var charRun = new LmRun("char LSTM",
    new RnnLanguageModelOptions { VocabSize = chars.Vocab.Size, Kind = RecurrentKind.Lstm, EmbeddingSize = 32, HiddenSize = 384, Layers = 2, Dropout = 0.15, PadId = chars.Vocab.PadId },
    new RecurrentLmTrainingOptions { Epochs = 15, Patience = 2, BatchSize = 16, Bptt = 100, LearningRate = 3e-3, Schedule = LearningRateSchedule.Cosine, MinLearningRate = 3e-4, Seed = seed });

var glove = KeyedVectors.LoadGlove(Path.Combine(shared, "glove", "glove.6B.100d.top50k.txt"));
RnnLanguageModel? wordLstm = null;
foreach (LmRun run in wordRuns)
{
    string dir = Path.Combine(runs, run.Name.Split(',')[0].Replace(' ', '-').Replace("(", "").Replace(")", "") + (run.Model.EmbeddingSize == 100 ? "-glove" : ""));
    RnnLanguageModel model = LmRecipe.Train(run, words, dir, run.Model.EmbeddingSize == 100
        ? m => run.PretrainedFound = m.InitializeEmbeddings(glove, Enumerable.Range(0, words.Vocab.Size).Select(words.Vocab.TokenOf).ToList())
        : null);
    if (run.Name == "word LSTM") wordLstm = model; else model.Dispose();
}
RnnLanguageModel charLstm = LmRecipe.Train(charRun, chars, Path.Combine(runs, $"char-LSTM-{charRun.Model.Layers}x{charRun.Model.HiddenSize}"));

// The strategy comparison on the word LSTM (prettified) and a few strategies on the char LSTM.
string[] prompts = ["deep neural networks", "in this paper we"];
string wordTable = LmRecipe.StrategyTable(wordLstm!, words.Vocab, prompts, maxTokens: 30, prettify: true);
var charSamples = new StringBuilder();
foreach (var (name, o) in LmRecipe.Strategies.Where(s => s.Name is "greedy" or "sampling, temperature 0.5" or "nucleus top-p 0.9"))
{
    int[] ids = [chars.Vocab.SosId, .. chars.Vocab.Encode("we propose")];
    var g = Slovo.Generation.Generator.Generate(charLstm, ids, o with { MaxTokens = 200, MinTokens = 150, EosToken = chars.Vocab.EosId, Seed = seed });
    charSamples.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {LmRecipe.Escape(chars.Vocab.Decode(ids.Concat(g.Tokens)))} |");
}

LmRun lstm = wordRuns.Single(r => r.Name == "word LSTM");
double ppl = lstm.Result!.BestValid.Perplexity, bpc = charRun.Result!.BestValid.BitsPerChar;
int gloveFound = Enumerable.Range(4, words.Vocab.Size - 4).Count(i => glove.Contains(words.Vocab.TokenOf(i)));
var md = new StringBuilder();
md.AppendLine("# arXiv language models");
md.AppendLine();
md.AppendLine("```");
md.AppendLine("dotnet run -c Release --project recipes/arxiv-lm");
md.AppendLine("```");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Trains word-level RNN, GRU and LSTM language models, an LSTM whose embeddings start from GloVe, and a character-level LSTM on the shipped arXiv abstracts ({texts.Count:N0} papers, \"title ; summary\", lowercased), then compares decoding strategies. " +
    $"{words.TrainTexts.Count:N0} papers train, {words.ValidTexts.Count:N0} are held out (seeded split, seed {seed}); every figure below is on that validation split. " +
    $"The word vocabulary holds the {words.Vocab.Size - 4:N0} training words seen at least 3 times plus <pad> <s> </s> <unk> (rarer words are <unk> and count as targets); {words.TrainTokens:N0} training tokens. " +
    $"This file was written by the command above on {Environment.ProcessorCount} cores with libtorch {LibTorch.Version}; models already trained in runs/ are reloaded, not retrained, and each training time below is that model's total across runs (all five together: {wordRuns.Append(charRun).Sum(r => r.Result!.Seconds) / 60:F0} min; this run: {total.Elapsed.TotalMinutes:F0} min); runs/ keeps the checkpoints, TensorBoard logs and summary.json of each model.");
md.AppendLine();
md.AppendLine("## Validation results");
md.AppendLine();
md.Append(LmRecipe.ResultsTable([.. wordRuns, charRun]));
md.AppendLine();
md.AppendLine(LmRecipe.Curves(Path.Combine(root, "recipes", "arxiv-lm", "curves.png"), [.. wordRuns, charRun]));
md.AppendLine();
md.AppendLine("Perplexity is exp of the mean negative log-likelihood over every non-pad target token of the validation split (token-weighted; the end-of-text token counts). " +
              "The course printed 2\\*\\*(natural-log loss); that column is only for comparison with its numbers. Bits/char spreads the same log-likelihood over the characters of the validation text (each text's length plus one for its end), so word and char models can be compared — with one caveat: a word model predicts <unk> for every rare word as one cheap token, so its bits/char are somewhat flattering next to a char model, which must spell such words out.");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"Settings: word models embedding 128 (GloVe run: 100), hidden 128, 1 layer, dropout 0.2, Adam lr 0.002, batch 32 bucketed by length, truncated back-propagation every 128 tokens, gradient norm ≤ 1, at most {wordTraining.Epochs} epochs with early stopping (patience {wordTraining.Patience}); " +
    $"char LSTM embedding 32, {charRun.Model.Layers} layer(s) of {charRun.Model.HiddenSize}, dropout {charRun.Model.Dropout} (on the embeddings, between the layers and before the output), batch 16, windows of 100 (small batches and short windows give it more optimizer steps per epoch at the same characters per second), Adam lr 0.003 falling by a cosine to 0.0003 over {charRun.Training.Epochs} epochs (`--schedule cosine`), early-stopping patience {charRun.Training.Patience}. The GloVe run found {gloveFound:N0} of the {words.Vocab.Size - 4:N0} vocabulary words in glove.6B.100d.top50k.txt (the rest start random; all are trained).");
md.AppendLine();
md.AppendLine("## Quality bars");
md.AppendLine();
md.AppendLine(CultureInfo.InvariantCulture, $"- word-level LSTM exp-perplexity ≤ 300: **{ppl:F1}** — {(ppl <= 300 ? "met" : "missed")}.");
var charHistory = charRun.Result!.History;
LmEpochReport lastChar = charHistory[^1];
string charWhy = (lastChar.Improved
    ? $"its validation loss was still falling at the last of its {charHistory.Count} epochs"
    : $"its validation loss stopped improving after epoch {charRun.Result.BestEpoch}") +
    (lastChar.TrainLoss >= lastChar.Valid.Loss
        ? $", and its last training loss ({lastChar.TrainLoss:F3} nats, with dropout) is no lower than the validation loss ({lastChar.Valid.Loss:F3}): the model underfits, so the next step is a larger model trained longer, which costs proportionally more CPU time"
        : $"; its last training loss ({lastChar.TrainLoss:F3} nats) is below the validation loss ({lastChar.Valid.Loss:F3}), so more regularisation is the next step");
md.AppendLine(CultureInfo.InvariantCulture, $"- char-level LSTM ≤ 1.45 bits per character: **{bpc:F4}** — {(bpc <= 1.45 ? (1.45 - bpc < 0.005 ? $"met, by {1.45 - bpc:F4}: at the bar rather than under it with room{(lastChar.Improved ? "; its validation loss was still falling at its last epoch" : "")}" : "met") : $"missed. The model is a {charRun.Model.Layers}-layer {charRun.Model.HiddenSize}-unit LSTM given at most {charRun.Training.Epochs} epochs, so that all five models train in {wordRuns.Append(charRun).Sum(r => r.Result!.Seconds) / 60:F0} min on 2 CPU cores; {charWhy}")}.");
md.AppendLine();
md.AppendLine("## Decoding strategies (word LSTM, 30 tokens, `--prettify`)");
md.AppendLine();
md.AppendLine("Seed 1 for every sampled row; the end of text is held back for the first 15 tokens. Mean log-prob is the model's own log-probability of the generated tokens (higher = more typical, not better); distinct 2-grams shows repetition.");
md.AppendLine();
md.Append(wordTable);
md.AppendLine();
md.AppendLine("## Char LSTM samples (200 characters after \"we propose\")");
md.AppendLine();
md.AppendLine("| strategy | text |");
md.AppendLine("|---|---|");
md.Append(charSamples);
File.WriteAllText(Path.Combine(root, "recipes", "arxiv-lm", "README.md"), md.ToString());
Console.WriteLine($"wrote recipes/arxiv-lm/README.md ({total.Elapsed.TotalMinutes:F1} min)");
return 0;

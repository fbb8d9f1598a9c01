using Slovo.Encoders;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

namespace Slovo.Tests;

public class TextEncoderTests
{
    private static TextEncoder Tiny(int seed)
    {
        var vocab = new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4 };
        foreach (string w in Enumerable.Range(0, 40).Select(i => $"w{i}")) vocab[w] = vocab.Count;
        Tokenizer tokenizer = BertVocab.Create(vocab);
        var config = new BertConfig { VocabSize = vocab.Count, Width = 32, Layers = 2, Heads = 4, Intermediate = 64, Positions = 32, HiddenDropout = 0, AttentionDropout = 0 };
        return new TextEncoder(RandomGenerator.Seeded((ulong)seed, () => new BertModel(config)), tokenizer, maxTokens: 32);
    }

    [Fact]
    public void EmbeddingsAreUnitMeansOverRealTokensWhateverTheBatchAndPadding()
    {
        using TextEncoder e = Tiny(1);
        string[] texts = ["w1 w2 w3", "w4", "w5 w6 w7 w8 w9 w10", "", "w1 w2 w3"];
        float[][] batched = e.Encode(texts, batchSize: 5), single = texts.Select(t => e.Encode([t])[0]).ToArray();
        for (int i = 0; i < texts.Length; ++i)
        {
            Assert.Equal(1.0, Math.Sqrt(batched[i].Sum(x => (double)x * x)), 5);
            Assert.True(batched[i].Zip(single[i]).All(p => Math.Abs(p.First - p.Second) < 1e-5)); // padding changes nothing
        }
        // The same text in two rows of one batch: equal up to rounding (a BLAS kernel may block rows 0 and 4 differently,
        // which on some CPUs changes the last bit of a sum).
        Assert.True(batched[0].Zip(batched[4]).All(p => Math.Abs(p.First - p.Second) < 1e-6));
        // The mean of the hidden states over [CLS] … [SEP], normalised.
        float[][] h = e.Hidden(["w1 w2 w3"])[0];
        Assert.Equal(5, h.Length);
        double[] mean = Enumerable.Range(0, 32).Select(c => h.Average(row => (double)row[c])).ToArray();
        double norm = Math.Sqrt(mean.Sum(x => x * x));
        Assert.True(mean.Zip(batched[0]).All(p => Math.Abs(p.First / norm - p.Second) < 1e-5));
    }

    [Fact]
    public void ContrastiveFineTuningPullsPairsTogether()
    {
        using TextEncoder e = Tiny(2);
        var pairs = Enumerable.Range(0, 16).Select(i => ($"w{i} w{i + 16}", $"w{i + 16} w{(i + 5) % 40} w{i}")).ToList();
        double Gap()
        {
            float[][] a = e.Encode(pairs.Select(p => p.Item1).ToList()), b = e.Encode(pairs.Select(p => p.Item2).ToList());
            double Cos(int i, int j) => a[i].Zip(b[j]).Sum(p => (double)p.First * p.Second);
            double diag = Enumerable.Range(0, 16).Average(i => Cos(i, i));
            double off = Enumerable.Range(0, 16).SelectMany(i => Enumerable.Range(0, 16).Where(j => j != i).Select(j => Cos(i, j))).Average();
            return diag - off;
        }
        double before = Gap();
        var losses = new List<double>();
        string run = Directory.CreateTempSubdirectory("slovo-encoder-run").FullName;
        e.FineTune(pairs, new ContrastiveOptions { Epochs = 15, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 2, Temperature = 0.1 }, p => losses.Add(p.Loss), run);
        double after = Gap();
        Assert.True(after > before + 0.2, $"pairs' cosine advantage went from {before:F3} to {after:F3}");
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average());
        Assert.False(e.Model.Training);
        // The run folder holds the fine-tuned encoder, which the registry reads back to the same embeddings, and the summary every run writes.
        using (TextEncoder reloaded = Slovo.Models.ModelRegistry.Default.LoadEncoder(Path.Combine(run, "model"), maxTokens: 32))
            Assert.Equal(e.Encode(["w1 w17"])[0], reloaded.Encode(["w1 w17"])[0]);
        Slovo.Training.RunSummary summary = new Slovo.Training.RunFolder(run).ReadSummary()!;
        Assert.Equal(("encoder", 15, 30L), (summary.Task, summary.Epochs.Count, summary.Steps));
    }
}

using Slovo.Classification;
using Slovo.LanguageModels;
using Slovo.TestSupport;
using Slovo.Torch;
using Slovo.Torch.Serialization;
using Slovo.Text;
using Slovo.Evaluation;

namespace Slovo.Tests;

public class ClassificationTests
{
    private static void AssertClose(Tensor expected, Tensor actual, double tol)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] a = expected.Contiguous().ToArray<float>(), b = actual.Contiguous().ToArray<float>();
        for (int i = 0; i < a.Length; ++i) Assert.True(Math.Abs(a[i] - b[i]) <= tol + 1e-4 * Math.Abs(a[i]), $"element {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void CnnMatchesPyTorchGolden()
    {
        using var scope = DisposeScope.Begin();
        // Written by /usr/bin/python3 tests/golden/make_golden.py (text_cnn): the same architecture in PyTorch 1.13.
        Dictionary<string, Tensor> g = SafeTensors.Load(Path.Combine(TestPaths.RepoRoot, "tests", "golden", "text_cnn.safetensors"));
        var model = new TextClassifier(new ClassifierOptions
        {
            VocabSize = 13, Encoder = EncoderKind.Cnn, EmbeddingSize = 6, Filters = 4, KernelWidths = [2, 3, 4], Dropout = 0.5,
        });
        model.LoadStateDict(g.Where(kv => kv.Key.StartsWith("param.")).ToDictionary(kv => kv.Key["param.".Length..], kv => kv.Value));
        model.Eval(); // dropout off, as in the golden run
        Tensor ids = g["in.ids"];
        Tensor logits = model.Forward(ids, Tensor.From(new long[] { 4, 6, 3 }));
        AssertClose(g["out.logits"], logits, 1e-5);
        (logits * g["gout.logits"]).Sum().Backward();
        foreach ((string name, Tensor p) in model.NamedParameters())
            AssertClose(g["grad.param." + name], p.Grad!, 1e-5);
    }

    [Theory]
    [InlineData(EncoderKind.Lstm, false, Aggregation.Final)]
    [InlineData(EncoderKind.Lstm, true, Aggregation.Final)]
    [InlineData(EncoderKind.Gru, true, Aggregation.Mean)]
    [InlineData(EncoderKind.Rnn, false, Aggregation.Max)]
    [InlineData(EncoderKind.HandLstm, true, Aggregation.Attention)]
    [InlineData(EncoderKind.HandLstm, false, Aggregation.Max)]
    public void PaddingNeverChangesAPrediction(EncoderKind encoder, bool bidirectional, Aggregation aggregation)
    {
        using var scope = DisposeScope.Begin();
        using var random = TestRandom.Use(9);
        var model = new TextClassifier(new ClassifierOptions
        {
            VocabSize = 20, Encoder = encoder, EmbeddingSize = 5, HiddenSize = 6, Layers = 2, Bidirectional = bidirectional, Aggregation = aggregation,
        });
        model.Eval();
        int[][] texts = [[4, 5, 6], [7, 8, 9, 10, 11, 12, 13], [14]];
        var set = new EncodedSet(texts, [0, 1, 0]);
        float[][] batched = ClassifierTrainer.Probabilities(model, set, batchSize: 3);
        for (int i = 0; i < texts.Length; ++i)
        {
            float[] alone = ClassifierTrainer.Probabilities(model, new EncodedSet([texts[i]], [0]))[0];
            for (int c = 0; c < 2; ++c) Assert.Equal(alone[c], batched[i][c], 4);
        }
    }

    [Fact]
    public void LearnsASeparableTaskAndPredictsOnEmptyOrUnknownText()
    {
        string[] good = ["a good film", "good acting and good music", "truly good", "good good good", "the plot was good", "good fun"];
        string[] bad = ["a bad film", "bad acting and bad music", "truly bad", "bad bad bad", "the plot was bad", "bad fun"];
        var texts = good.Concat(bad).ToList();
        var labels = good.Select(_ => 1).Concat(bad.Select(_ => 0)).ToList();
        WordVocabulary vocab = WordVocabulary.Build(texts);
        EncodedSet set = EncodedSet.Create(vocab, texts, labels);
        foreach (EncoderKind encoder in new[] { EncoderKind.Cnn, EncoderKind.Lstm })
        {
            using var random = TestRandom.Use(2);
            using var model = new TextClassifier(new ClassifierOptions
            {
                VocabSize = vocab.Size, Encoder = encoder, EmbeddingSize = 8, HiddenSize = 8, Filters = 4, KernelWidths = [1, 2], Dropout = 0,
            });
            ClassifierTrainingResult r = ClassifierTrainer.Train(model, set, set, new ClassifierTrainingOptions { Epochs = 60, Patience = 0, BatchSize = 4, LearningRate = 0.02 });
            Assert.Equal(1.0, r.BestValidAccuracy);
            EncodedSet odd = EncodedSet.Create(vocab, ["", "zebra quokka", "good", "bad"]);
            int[] p = ClassifierTrainer.Predict(model, odd);
            Assert.Equal(4, p.Length);
            Assert.All(p, x => Assert.InRange(x, 0, 1));
            Assert.Equal(1, p[2]);
            Assert.Equal(0, p[3]);
        }
    }

    [Fact]
    public void ReadersUnquoteCleanAndExplainBadLines()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-cls").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "train"));
        File.WriteAllLines(Path.Combine(dir, "train", "positive"), ["\"A \"\"great\"\" film.<br /><br />Loved it\"", "Fine, plain line"]);
        File.WriteAllLines(Path.Combine(dir, "train", "negative"), ["Dull.<br />Very dull."]);
        List<LabeledText> imdb = ClassificationData.ReadImdb(dir, "train");
        Assert.Equal([new LabeledText("Dull. Very dull.", 0), new LabeledText("A \"great\" film.  Loved it", 1), new LabeledText("Fine, plain line", 1)], imdb);
        Assert.Contains("expected test/positive", Assert.Throws<DirectoryNotFoundException>(() => ClassificationData.ReadImdb(dir, "test")).Message);
        string tsv = Path.Combine(dir, "data.tsv");
        File.WriteAllLines(tsv, ["good text\t1", "bad\ttext\t0", "", "no label here"]);
        Assert.Contains("data.tsv:4", Assert.Throws<InvalidDataException>(() => ClassificationData.ReadTsv(tsv)).Message);
        File.WriteAllLines(tsv, ["good text\t1", "bad\ttext\t0"]);
        Assert.Equal([new LabeledText("good text", 1), new LabeledText("bad\ttext", 0)], ClassificationData.ReadTsv(tsv));
        string key = Path.Combine(dir, "labels.tsv");
        File.WriteAllLines(key, ["0\t1", "2\t0", "2\t1"]);
        Assert.Contains("index 2 appears twice", Assert.Throws<InvalidDataException>(() => ClassificationData.ReadLabels(key)).Message);
    }

    [Fact]
    public void MetricsMatchAHandComputedCase()
    {
        // gold 1 1 1 0 0, predicted 1 0 1 0 1: TP 2, FN 1, FP 1, TN 1.
        ClassificationMetrics m = ClassificationMetrics.Compute([1, 1, 1, 0, 0], [1, 0, 1, 0, 1]);
        Assert.Equal(0.6, m.Accuracy, 10);
        Assert.Equal(2 * 2 / (2.0 * 2 + 1 + 1), m.PositiveF1, 10);
        Assert.Equal((2 * 2 / 6.0 + 2 * 1 / 4.0) / 2, m.MacroF1, 10);
        Assert.Equal(new long[,] { { 1, 1 }, { 1, 2 } }, m.Confusion);
        Assert.Equal((2.0, 1.0), Statistics.MeanStd([1, 2, 3]));
    }
}

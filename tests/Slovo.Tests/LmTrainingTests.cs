using Slovo.Evaluation;
using Slovo.Training;
using Slovo.TestSupport;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Tests;

/// <summary>Vocabularies, batching, training (resume, early stopping), evaluation and batched generation of language models.</summary>
// The models here are two-layer fused LSTMs/GRUs with dropout, whose inter-layer masks libtorch draws from its
// process-wide generator: these tests run alone (see RunGeneratorResumeTests for the parallel-safe path).
[Collection(GlobalRandom.Name)]
public class LmTrainingTests
{
    private static readonly string[] Texts =
    [
        "We propose a new method for training deep networks.",
        "Deep networks learn representations; we study them.",
        "A simple model, trained well, beats a complex one!",
        "In this paper we propose a method (and a proof).",
        "Language models predict the next word of a text.",
        "We show that the method converges.",
        "Recurrent networks carry a state from word to word.",
        "Short.",
        "The proof is simple: it follows from the lemma.",
        "Training is fast on two cores.",
        "Networks and models, models and networks.",
        "A longer text that needs more than one window of truncated back-propagation through time to be read whole by the model.",
    ];

    internal static LmDataset Words() => LmDataset.Create(Texts, 0.25, seed: 3, part => WordVocabulary.Build(part, lowercase: true));

    [Fact]
    public void WordVocabularySplitsLikeWordPunctAndRoundTripsThroughJson()
    {
        WordVocabulary v = WordVocabulary.Build(["Deep nets, deep NETS!", "nets (again)"], lowercase: true, minCount: 2);
        Assert.Equal([Vocabulary.Pad, Vocabulary.Sos, Vocabulary.Eos, Vocabulary.Unk, "nets", "deep"], v.Tokens);
        Assert.Equal(["deep", "nets", ",", "(", "again", ")"], WordVocabulary.Split("Deep nets, (again)", lowercase: true));
        Assert.Equal(new[] { 5, 4, v.UnkId, v.UnkId }, v.Encode("DEEP nets ?! zebra"));
        Assert.Equal([v.SosId, 5, v.EosId], v.EncodeSequence("deep"));
        Assert.Equal("deep nets <unk>", v.Decode([v.SosId, 5, 4, v.UnkId, v.EosId, v.PadId]));
        Vocabulary back = Vocabulary.FromJson(v.ToJson());
        Assert.Equal(v.ToJson(), back.ToJson());
        Assert.Equal(v.Encode("deep zebra nets"), back.Encode("deep zebra nets"));
    }

    [Fact]
    public void CharAndSubwordVocabulariesAreLossless()
    {
        string[] texts = ["Я помню чудное мгновенье:", "Передо мной явилась ты,", "Как мимолетное виденье,\nКак гений чистой красоты."];
        CharVocabulary c = CharVocabulary.Build(texts);
        foreach (string t in texts) Assert.Equal(t, c.Decode(c.EncodeSequence(t)));
        Assert.Equal("\uFFFD", c.Decode(c.Encode("Z")));
        Assert.Equal(c.ToJson(), Vocabulary.FromJson(c.ToJson()).ToJson());

        SubwordVocabulary s = SubwordVocabulary.TrainByteLevelBpe(texts, 300);
        Assert.Equal((0, 1, 2, 3), (s.PadId, s.SosId, s.EosId, s.UnkId));
        Assert.True(s.Size <= 300);
        foreach (string t in texts.Append("unseen text, ünïcödé ✓"))
        {
            int[] ids = s.EncodeSequence(t);
            Assert.True(ids.Length < 2 + System.Text.Encoding.UTF8.GetByteCount(t) || t.Contains('✓'));
            Assert.Equal(t, s.Decode(ids));
        }
        Vocabulary back = Vocabulary.FromJson(s.ToJson());
        Assert.Equal(s.Encode(texts[2]), back.Encode(texts[2]));
        var plain = new Slovo.Tokenizers.Tokenizer(new Slovo.Tokenizers.Models.WordLevel(new Dictionary<string, int> { ["a"] = 0 }, "a"));
        var e = Assert.Throws<InvalidDataException>(() => new SubwordVocabulary(plain));
        Assert.Contains("<pad>", e.Message);
    }

    [Fact]
    public void SplitIsSeededAndBucketsCoverEverySequenceOnceWithPadding()
    {
        var items = Enumerable.Range(0, 50).ToList();
        (List<int> a, List<int> b) = Corpus.Split(items, 0.2, seed: 7);
        Assert.Equal(Corpus.Split(items, 0.2, seed: 7).Valid, b);
        Assert.Equal(10, b.Count);
        Assert.Empty(a.Intersect(b));
        Assert.Equal(items, a.Concat(b).Order());

        var rng = new Random(1);
        var seqs = Enumerable.Range(0, 37).Select(i => Enumerable.Range(1, 1 + rng.Next(20)).Select(x => x + 4).ToArray()).ToList();
        List<LmBatch> batches = LmBatching.Bucketed(seqs, 8, padId: 0, new Random(5));
        Assert.Equal(5, batches.Count);
        var seen = new List<string>();
        long padding = 0;
        foreach (LmBatch batch in batches)
        {
            for (int r = 0; r < batch.Rows; ++r)
            {
                long[] row = batch.Ids.AsSpan(r * batch.Length, batch.Length).ToArray();
                int len = Array.IndexOf(row, 0L) is var p && p >= 0 ? p : row.Length;
                Assert.All(row[len..], x => Assert.Equal(0L, x));          // pads only at the end
                seen.Add(string.Join(',', row[..len]));
                padding += batch.Length - len;
            }
        }
        Assert.Equal(seqs.Select(s => string.Join(',', s)).Order(), seen.Order());
        // Bucketing keeps padding far below what random batches of the same size would need.
        long randomPadding = seqs.Chunk(8).Sum(g => g.Sum(s => g.Max(x => x.Length) - s.Length));
        Assert.True(padding * 3 < randomPadding, $"bucketed padding {padding}, random {randomPadding}");
        Assert.Equal(batches.Select(x => x.Ids), LmBatching.Bucketed(seqs, 8, 0, new Random(5)).Select(x => x.Ids));
    }

    internal static RnnLanguageModel NewModel(LmDataset d, RecurrentKind kind = RecurrentKind.Lstm, int seed = 11, int layers = 2)
    {
        using var random = TestRandom.Use((ulong)seed);
        return new RnnLanguageModel(new RnnLanguageModelOptions
        {
            VocabSize = d.Vocab.Size, Kind = kind, EmbeddingSize = 8, HiddenSize = 12, Layers = layers, Dropout = 0.3, PadId = d.Vocab.PadId,
        });
    }

    private static float[] Weights(Module m) =>
        m.StateDict().OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();

    [Fact]
    public void EvaluationIsTheTokenWeightedNllWhateverTheWindow()
    {
        LmDataset d = Words();
        using RnnLanguageModel model = NewModel(d, RecurrentKind.Gru);
        LmEvaluation whole = RecurrentLmTrainer.Evaluate(model, d.Train, 100, d.Vocab.PadId, batchSize: 4, bptt: 1000);
        LmEvaluation windows = RecurrentLmTrainer.Evaluate(model, d.Train, 100, d.Vocab.PadId, batchSize: 3, bptt: 3);
        // By hand: each sequence alone, summed over its targets.
        double nll = 0;
        long tokens = 0;
        using (LibTorch.NoGrad())
            foreach (int[] s in d.Train)
            {
                using var scope = DisposeScope.Begin();
                (Tensor logits, _) = model.Forward(Tensor.From(s[..^1].Select(x => (long)x).ToArray(), 1, s.Length - 1));
                float[] l = logits.ToArray<float>();
                int v = d.Vocab.Size;
                for (int t = 0; t < s.Length - 1; ++t)
                    nll -= LogitProcessor.LogSoftmax(l.AsSpan(t * v, v).ToArray())[s[t + 1]];
                tokens += s.Length - 1;
            }
        Assert.Equal(tokens, whole.Tokens);
        Assert.Equal(tokens, windows.Tokens);
        Assert.Equal(nll, whole.NllSum, 1e-3);
        Assert.Equal(nll, windows.NllSum, 1e-3);
        Assert.Equal(Math.Exp(nll / tokens), whole.Perplexity, 1e-3);
        Assert.Equal(nll / Math.Log(2) / 100, whole.BitsPerChar, 1e-4);
    }

    [Theory]
    [InlineData(2, false)]   // killed mid-epoch, right after a batch checkpoint
    [InlineData(100, false)] // killed at an epoch boundary
    [InlineData(2, true)]    // the same with a cosine schedule: the rate must pick up where it was
    [InlineData(100, true)]
    public void AKilledRunResumesToTheSameWeightsAsAnUninterruptedOne(int checkpointEvery, bool cosine) =>
        ResumeIsExact(checkpointEvery, cosine, layers: 2);

    /// <summary>Trains uninterrupted, then killed at the second checkpoint and resumed: both must end with the same weights.</summary>
    internal static void ResumeIsExact(int checkpointEvery, bool cosine, int layers)
    {
        LmDataset d = Words();
        RnnLanguageModel NewModel(LmDataset d, int seed = 11) => LmTrainingTests.NewModel(d, seed: seed, layers: layers);
        var o = new RecurrentLmTrainingOptions { Epochs = 3, BatchSize = 3, Bptt = 5, LearningRate = 0.01, Patience = 0, Seed = 5, CheckpointEvery = checkpointEvery };
        if (cosine) o = o with { Schedule = LearningRateSchedule.Cosine, MinLearningRate = 0.001 };
        string full = Path.Combine(Path.GetTempPath(), "slovo-lm-" + Guid.NewGuid().ToString("N"));
        string killed = full + "-killed";
        try
        {
            float[] expected;
            LmTrainingResult r1;
            using (RnnLanguageModel m = NewModel(d))
            {
                r1 = new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, full);
                expected = Weights(m);
            }
            int checkpoints = 0;
            using (RnnLanguageModel m = NewModel(d))
            {
                var dying = new RecurrentLmTrainer { OnCheckpoint = _ => { if (++checkpoints == 2) throw new OperationCanceledException("killed"); } };
                Assert.Throws<OperationCanceledException>(() => dying.Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed));
            }
            using (RnnLanguageModel m = NewModel(d, seed: 99)) // different initial weights: everything must come from the checkpoint
            {
                LmTrainingResult r2 = new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, killed, resume: true);
                Assert.Equal(expected, Weights(m));
                Assert.False(m.Training);
                Assert.Equal(r1.Steps, r2.Steps);
                Assert.Equal(r1.History.Select(h => h.Valid.NllSum), r2.History.Select(h => h.Valid.NllSum));
            }
            // Resuming with other settings is refused with a message that says so.
            using (RnnLanguageModel m = NewModel(d))
            {
                var e = Assert.Throws<InvalidDataException>(() => new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { LearningRate = 0.02 }, killed, resume: true));
                Assert.Contains("same options", e.Message);
            }
            // More epochs may be asked for when continuing a constant rate; a cosine schedule is shaped by the epoch count, so not there.
            using (RnnLanguageModel m = NewModel(d))
            {
                var longer = o with { Epochs = 4 };
                if (cosine)
                    Assert.Contains("same options", Assert.Throws<InvalidDataException>(() => new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, longer, killed, resume: true)).Message);
                else
                    Assert.Equal(4, new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, longer, killed, resume: true).History.Count);
            }
            // Continuing a finished run only reloads the best weights; the model must still come back in evaluation mode
            // (dropout off), or greedy generation from it would vary from call to call.
            using (RnnLanguageModel m = NewModel(d))
            {
                Assert.True(m.Training);
                new RecurrentLmTrainer().Train(m, d.Vocab, d.Train, d.Valid, d.ValidChars, o, full, resume: true);
                Assert.False(m.Training);
                Assert.Equal(expected, Weights(m));
            }
            (RnnLanguageModel loaded, Vocabulary vocab) = RnnLanguageModel.Load(full);
            using (loaded) Assert.Equal(d.Vocab.ToJson(), vocab.ToJson());
            Assert.True(File.Exists(Path.Combine(full, RunFolder.SummaryFile)));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(full, "tensorboard")));
        }
        finally
        {
            foreach (string dir in new[] { full, killed }) if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void EarlyStoppingKeepsTheBestEpoch()
    {
        LmDataset d = Words();
        using RnnLanguageModel model = NewModel(d);
        float[] before = Weights(model);
        // Learning rate 0: validation never improves after the first epoch, so patience 2 stops after epoch 3.
        LmTrainingResult r = new RecurrentLmTrainer().Train(model, d.Vocab, d.Train, d.Valid, d.ValidChars,
            new RecurrentLmTrainingOptions { Epochs = 10, Patience = 2, LearningRate = 0, BatchSize = 4 });
        Assert.True(r.StoppedEarly);
        Assert.Equal(3, r.History.Count);
        Assert.Equal(1, r.BestEpoch);
        Assert.Equal(before, Weights(model));
        // A real learning rate improves on the untrained model.
        using RnnLanguageModel trained = NewModel(d);
        LmTrainingResult t = new RecurrentLmTrainer().Train(trained, d.Vocab, d.Train, d.Train, d.TrainTexts.Sum(x => x.Length + 1L),
            new RecurrentLmTrainingOptions { Epochs = 15, Patience = 0, LearningRate = 0.02, BatchSize = 4 });
        Assert.True(t.BestValid.Loss < r.BestValid.Loss - 1, $"{t.BestValid.Loss} vs {r.BestValid.Loss}");
    }

    [Fact]
    public void ACosineScheduleFallsFromTheRateToTheMinimumBatchByBatch()
    {
        LmDataset d = Words();
        using RnnLanguageModel model = NewModel(d);
        var seen = new List<(int Epoch, int Batch, int Batches, double Rate)>();
        var o = new RecurrentLmTrainingOptions { Epochs = 3, BatchSize = 2, LearningRate = 0.01, Schedule = LearningRateSchedule.Cosine, MinLearningRate = 0.002, Patience = 0 };
        new RecurrentLmTrainer { OnStep = s => seen.Add((s.Epoch, s.Batch, s.Batches, s.LearningRate)) }.Train(model, d.Vocab, d.Train, d.Valid, d.ValidChars, o);
        int n = seen[0].Batches;
        Assert.Equal(3 * n, seen.Count);
        for (int i = 0; i < seen.Count; ++i)
        {
            // Batch k of epoch e (both from 1) runs at step (e-1)*n + k-1 of a cosine over 3n steps.
            long t = (seen[i].Epoch - 1L) * n + seen[i].Batch - 1;
            Assert.Equal(0.002 + (0.01 - 0.002) * (1 + Math.Cos(Math.PI * t / (3.0 * n))) / 2, seen[i].Rate, 12);
            if (i > 0) Assert.True(seen[i].Rate < seen[i - 1].Rate);
        }
        Assert.Equal(0.01, seen[0].Rate, 12);
        // A constant schedule keeps the rate; a minimum above the rate is refused.
        seen.Clear();
        new RecurrentLmTrainer { OnStep = s => seen.Add((s.Epoch, s.Batch, s.Batches, s.LearningRate)) }
            .Train(model, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { Schedule = LearningRateSchedule.Constant, MinLearningRate = null, Epochs = 1 });
        Assert.All(seen, s => Assert.Equal(0.01, s.Rate));
        Assert.Throws<ArgumentException>(() => new RecurrentLmTrainer().Train(model, d.Vocab, d.Train, d.Valid, d.ValidChars, o with { MinLearningRate = 0.02 }));
    }

    [Fact]
    public void TrainingScoresExactlyTheNonPadTargets()
    {
        // Without dropout and with learning rate 0, the training loss of an epoch (computed on the real positions only,
        // in windows of 4) must equal the evaluation of the same texts (cross-entropy over all non-pad targets).
        LmDataset d = Words();
        using var random = TestRandom.Use(3);
        using var model = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = d.Vocab.Size, EmbeddingSize = 8, HiddenSize = 8, PadId = d.Vocab.PadId });
        LmTrainingResult r = new RecurrentLmTrainer().Train(model, d.Vocab, d.Train, d.Valid, d.ValidChars,
            new RecurrentLmTrainingOptions { Epochs = 1, LearningRate = 0, BatchSize = 3, Bptt = 4, Patience = 0 });
        LmEvaluation all = RecurrentLmTrainer.Evaluate(model, d.Train, 1, d.Vocab.PadId);
        Assert.Equal(all.Loss, r.History[0].TrainLoss, 5);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchedGenerationEqualsOneByOne(bool greedy)
    {
        LmDataset d = Words();
        using RnnLanguageModel model = NewModel(d);
        model.Eval();
        IReadOnlyList<int>[] prompts = [[d.Vocab.SosId], [.. d.Vocab.EncodeSequence("we propose")[..^1]], [.. d.Vocab.EncodeSequence("deep networks learn a")[..^1]]];
        var o = new GenerationOptions { Greedy = greedy, TopK = 5, MaxTokens = 12, EosToken = d.Vocab.EosId, Seed = 4, NoRepeatNgramSize = 2 };
        var streamed = new List<(int, int)>();
        IReadOnlyList<GenerationResult> batch = Generator.GenerateBatch(model, prompts, o, onToken: (row, t) => streamed.Add((row, t)));
        for (int i = 0; i < prompts.Length; ++i)
        {
            GenerationResult one = Generator.Generate(model, prompts[i], o with { Seed = o.Seed + i });
            Assert.Equal(one.Tokens, batch[i].Tokens);
            Assert.Equal(one.Reason, batch[i].Reason);
            Assert.Equal(one.LogProbability, batch[i].LogProbability, 3);
            Assert.Equal(one.Tokens, streamed.Where(s => s.Item1 == i).Select(s => s.Item2));
        }
    }

    [Theory]
    [InlineData("deep neural networks , which are widely used . we propose a method ( see below ) .",
                "Deep neural networks, which are widely used. We propose a method (see below).")]
    [InlineData("state - of - the - art results ! is it true ? yes", "State-of-the-art results! Is it true? Yes")]
    [InlineData("it ' s 95 % accurate ; really : yes", "It's 95% accurate; really: yes")]
    [InlineData("", "")]
    public void PrettifyDetokenizesAndCapitalizes(string input, string expected) => Assert.Equal(expected, Prettifier.Prettify(input));

    [Fact]
    public void CorpusReadersExplainBadInput()
    {
        string dir = Path.Combine(Path.GetTempPath(), "slovo-corpus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "a.json");
            File.WriteAllText(json, """[{"title": "A\n  title", "summary": "Line one\nline two."}]""");
            Assert.Equal(["A title ; Line one line two."], Corpus.ReadArxiv(json));
            File.WriteAllText(json, """[{"title": "A"}]""");
            Assert.Contains("entry 0", Assert.Throws<InvalidDataException>(() => Corpus.ReadArxiv(json)).Message);
            File.WriteAllText(json, "{not json");
            Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => Corpus.ReadArxiv(json)).Message);
            string text = Path.Combine(dir, "p.txt");
            File.WriteAllText(text, "one\ntwo\n\n\nthree\r\n");
            Assert.Equal(["one\ntwo", "three"], Corpus.ReadParagraphs(text));
            Assert.Equal(["one", "two", "three"], Corpus.ReadLines(text));
            File.WriteAllBytes(text, [0x61, 0xff, 0x0a]);
            Assert.Contains("UTF-8", Assert.Throws<InvalidDataException>(() => Corpus.ReadLines(text)).Message);
            Assert.Contains("not found", Assert.Throws<FileNotFoundException>(() => Corpus.ReadLines(Path.Combine(dir, "missing"))).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

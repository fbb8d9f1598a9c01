using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Encoders;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.Classification;

/// <summary>Settings of fine-tuning a <see cref="BertClassifier"/> (<see cref="ClassifierTrainer"/>): the shared ones with the usual schedule for fine-tuning a
/// pretrained encoder, and the warm-up as a share of the steps.</summary>
public sealed record BertFineTuneOptions : TrainingOptions
{
    /// <summary>Fine-tuning defaults: 2 epochs of 16 texts, AdamW at 3e-5 with weight decay 0.01 (not on biases and LayerNorms),
    /// a tenth of the steps of warm-up then a cosine to a tenth of the peak, clipping at 1.</summary>
    public BertFineTuneOptions()
    {
        (Epochs, BatchSize, LearningRate, Schedule, WeightDecay, Clip) = (2, 16, 3e-5, LearningRateSchedule.Cosine, 0.01, 1.0);
    }

    /// <summary>Share of the steps spent warming the learning rate up from 0.</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Batches of texts of similar length (less padding), or, by default (as
    /// Hugging Face's Trainer), batches drawn from a plain shuffle.</summary>
    public bool GroupByLength { get; init; }

    /// <inheritdoc />
    public override long WarmupFor(long totalSteps) => Math.Max(WarmupSteps, (long)(WarmupFraction * totalSteps));
}

/// <summary>What a saved <see cref="BertClassifier"/> folder says about its head.</summary>
public sealed record BertClassifierInfo
{
    /// <summary>Format tag.</summary>
    [JsonPropertyName("format")] public string Format { get; init; } = BertClassifier.FormatTag;

    /// <summary>Number of classes.</summary>
    [JsonPropertyName("classes")] public int Classes { get; init; }

    /// <summary>Tokens per text at most ([CLS] and [SEP] included).</summary>
    [JsonPropertyName("max_tokens")] public int MaxTokens { get; init; }

    /// <summary>Dropout before the head while training.</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }

    /// <summary>How token states become one vector.</summary>
    [JsonPropertyName("pooling")] public string Pooling { get; init; } = "mean";
}

/// <summary>
/// A pretrained BERT-shaped encoder with a classification head: the mean of the last hidden states over the real tokens
/// (the sentence embedding of <see cref="TextEncoder"/>, before normalisation), dropout, and a linear layer to the classes.
/// Fine-tuned end to end by <see cref="ClassifierTrainer"/>, as the other classifiers are. Saved as the encoder's Hugging Face
/// folder (config.json, model.safetensors, tokenizer.json) plus <c>head.safetensors</c> and <c>classifier.json</c>.
/// </summary>
public sealed class BertClassifier : Module
{
    /// <summary>The format tag of classifier.json.</summary>
    public const string FormatTag = "slovo-bert-classifier";

    private readonly Linear _head;

    /// <summary>A classifier over <paramref name="encoder"/> (which it then owns) with a fresh head.</summary>
    public BertClassifier(TextEncoder encoder, int classes, double dropout = 0.1)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "a classifier needs at least 2 classes");
        (Encoder, Classes, Dropout) = (encoder, classes, dropout);
        RegisterModule("bert", encoder.Model);
        _head = RegisterModule("classifier", new Linear(encoder.Dimension, classes));
    }

    /// <summary>The encoder and its tokenizer.</summary>
    public TextEncoder Encoder { get; }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Dropout before the head while training.</summary>
    public double Dropout { get; }

    /// <summary>Logits (B, classes) of a batch of texts (with gradients when training).</summary>
    public Tensor Logits(IReadOnlyList<string> texts) =>
        _head.Forward(Slovo.Torch.NN.Dropout.Functional(Encoder.MeanPooled(texts), Dropout, Training));

    /// <summary>Class probabilities of every text, in order, in batches of texts of similar length.</summary>
    public float[][] Probabilities(IReadOnlyList<string> texts, int batchSize = 32)
    {
        Eval();
        using var noGrad = LibTorch.NoGrad();
        var lengths = new int[texts.Count];
        Parallel.For(0, texts.Count, i => lengths[i] = Encoder.Ids(texts[i]).Length);
        var result = new float[texts.Count][];
        foreach (int[] rows in Enumerable.Range(0, texts.Count).OrderBy(i => lengths[i]).ThenBy(i => i).Chunk(batchSize))
        {
            using var scope = DisposeScope.Begin();
            float[] p = Logits(rows.Select(r => texts[r]).ToList()).Softmax(1).ToArray<float>();
            for (int b = 0; b < rows.Length; ++b) result[rows[b]] = p.AsSpan(b * Classes, Classes).ToArray();
        }
        return result;
    }

    /// <summary>The most likely class of every text.</summary>
    public int[] Predict(IReadOnlyList<string> texts, int batchSize = 32) =>
        Probabilities(texts, batchSize).Select(p => Array.IndexOf(p, p.Max())).ToArray();

    /// <summary>The parameters AdamW should not decay: biases and LayerNorms (the encoder's, and the head's bias).</summary>
    public IEnumerable<Tensor> NoWeightDecayParameters() => Encoder.Model.NoWeightDecayParameters().Append(_head.Bias!);

    /// <summary>Writes the folder (see the class summary); files are replaced atomically.</summary>
    public void Save(string dir)
    {
        Encoder.Save(dir);
        SafeTensors.Save(Path.Combine(dir, "head.safetensors"), _head.StateDict());
        var info = new BertClassifierInfo { Classes = Classes, MaxTokens = Encoder.MaxTokens, Dropout = Dropout };
        AtomicFile.WriteAllText(Path.Combine(dir, "classifier.json"), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether <paramref name="dir"/> holds a saved <see cref="BertClassifier"/>.</summary>
    public static bool IsFolder(string dir) => File.Exists(Path.Combine(dir, "classifier.json")) && File.Exists(Path.Combine(dir, "head.safetensors"));

    /// <summary>Reads a folder written by <see cref="Save"/>.</summary>
    public static BertClassifier Load(string dir)
    {
        string infoPath = Path.Combine(dir, "classifier.json");
        BertClassifierInfo info;
        try { info = JsonSerializer.Deserialize<BertClassifierInfo>(File.ReadAllText(infoPath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{infoPath} is not a BERT classifier description ({e.Message}); save the model with 'slovo classify train --model bert'", e); }
        if (info.Format != FormatTag) throw new InvalidDataException($"{infoPath} has format '{info.Format}', not '{FormatTag}'");
        TextEncoder encoder = TextEncoder.Load(dir, info.MaxTokens);
        var model = new BertClassifier(encoder, info.Classes, info.Dropout);
        try
        {
            Dictionary<string, Tensor> head = SafeTensors.Load(Path.Combine(dir, "head.safetensors"));
            try { model._head.LoadStateDict(head); }
            finally { foreach (Tensor t in head.Values) t.Dispose(); }
        }
        catch { model.Dispose(); throw; }
        model.Eval();
        return model;
    }
}

using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Training;

namespace Slovo.Encoders;

/// <summary>
/// Sentence embeddings from a BERT-shaped encoder, as sentence-transformers computes them for all-MiniLM-L6-v2: the
/// tokenizer's ids ([CLS] … [SEP], cut to <see cref="MaxTokens"/>), the last hidden states, their mean over the real
/// tokens (attention mask), L2-normalised. Texts are batched by length so little of a batch is padding.
/// </summary>
public sealed class TextEncoder : IDisposable
{
    /// <summary>An encoder over a model and its tokenizer (disposing the encoder disposes the model).</summary>
    public TextEncoder(BertModel model, Tokenizer tokenizer, int maxTokens = 256)
    {
        if (maxTokens < 2 || maxTokens > model.Config.Positions)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, $"must lie in [2, {model.Config.Positions}] (max_position_embeddings)");
        (Model, Tokenizer, MaxTokens) = (model, tokenizer, maxTokens);
    }

    /// <summary>The encoder.</summary>
    public BertModel Model { get; }

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Tokens per text at most, [CLS] and [SEP] included (sentence-transformers' max_seq_length; 256 for all-MiniLM-L6-v2).</summary>
    public int MaxTokens { get; }

    /// <summary>The embedding size.</summary>
    public int Dimension => Model.Config.Width;

    /// <summary>The folder the encoder was read from (<see cref="Load"/>), or null for one made in memory.</summary>
    public string? Source { get; init; }

    /// <summary>What computes the last hidden states at inference: null for the torch model itself, or an engine set by
    /// <see cref="UseBackend"/> (e.g. Slovo.OnnxRuntime). Training and <see cref="MeanPooled"/> always use the torch model.</summary>
    public IEncoderBackend? Backend { get; private set; }

    /// <summary>Makes <see cref="Encode"/> and <see cref="Hidden"/> run on <paramref name="backend"/> (null: back to the torch model).</summary>
    public void UseBackend(IEncoderBackend? backend)
    {
        if (backend is not null && backend.Width != Dimension)
            throw new ArgumentException($"the engine gives vectors of {backend.Width}, the encoder {Dimension}", nameof(backend));
        Backend = backend;
    }

    /// <summary>Reads a folder written by <c>slovo models import</c> or Hugging Face (config.json, model.safetensors, tokenizer.json or vocab.txt).</summary>
    public static TextEncoder Load(string dir, int maxTokens = 256)
    {
        string tokenizerJson = Path.Combine(dir, "tokenizer.json"), vocab = Path.Combine(dir, "vocab.txt");
        Tokenizer tokenizer = File.Exists(tokenizerJson) ? TokenizerJson.Load(tokenizerJson)
            : File.Exists(vocab) ? BertVocab.Load(vocab)
            : throw new FileNotFoundException($"no tokenizer.json or vocab.txt in {Path.GetFullPath(dir)}; import the model with 'slovo models import'", tokenizerJson);
        BertModel model = BertModel.FromPretrained(dir);
        return new TextEncoder(model, tokenizer, Math.Min(maxTokens, model.Config.Positions)) { Source = dir };
    }

    /// <summary>The ids of <paramref name="text"/>, cut to <see cref="MaxTokens"/> with the final [SEP] kept.</summary>
    public int[] Ids(string text)
    {
        IReadOnlyList<int> ids = Tokenizer.Encode(text).Ids;
        if (ids.Count <= MaxTokens) return ids.ToArray();
        return [.. ids.Take(MaxTokens - 1), ids[^1]];
    }

    /// <summary>Unit-length sentence embeddings, one per text, in order.</summary>
    public float[][] Encode(IReadOnlyList<string> texts, int batchSize = 32) => EncodeIds(Tokenize(texts), batchSize);

    /// <summary>Unit-length sentence embeddings of texts already turned into ids (<see cref="Ids"/>), one per text, in order.</summary>
    public float[][] EncodeIds(IReadOnlyList<int[]> ids, int batchSize = 32)
    {
        var result = new float[ids.Count][];
        if (Backend is { } engine)
        {
            // The engine's hidden states are pooled here in plain C#: no torch operator (and no second thread pool) runs beside the engine.
            ForEachBatch(ids, batchSize, (rows, batch, flat, mask, t) =>
            {
                float[] h = engine.LastHidden(flat, mask, rows.Length, t);
                int c = Dimension;
                for (int r = 0; r < rows.Length; ++r)
                {
                    var v = new float[c];
                    for (int p = 0; p < batch[r].Length; ++p)
                    {
                        ReadOnlySpan<float> row = h.AsSpan((r * t + p) * c, c);
                        for (int k = 0; k < c; ++k) v[k] += row[k];
                    }
                    float n = Math.Max(batch[r].Length, 1), norm = 0;
                    for (int k = 0; k < c; ++k) norm += (v[k] /= n) * v[k];
                    norm = Math.Max(MathF.Sqrt(norm), 1e-12f);
                    for (int k = 0; k < c; ++k) v[k] /= norm;
                    result[rows[r]] = v;
                }
            });
            return result;
        }
        RunBatches(ids, batchSize, (rows, _, hidden, mask) =>
        {
            // Mean over the real tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize).
            using var scope = DisposeScope.Begin();
            Tensor m = mask.To(ScalarType.Float32).Unsqueeze(2);                                         // (B, T, 1)
            Tensor mean = hidden.Mul(m).Sum([1]).Div(m.Sum([1]).Clamp(min: 1e-9));                       // (B, C)
            Tensor unit = mean.Div(mean.Norm(2, [1], keepDim: true).Clamp(min: 1e-12));
            float[] pooled = unit.ToArray<float>();
            for (int r = 0; r < rows.Length; ++r) result[rows[r]] = pooled.AsSpan(r * Dimension, Dimension).ToArray();
        });
        return result;
    }

    /// <summary>The last hidden states of every text, (tokens, C) each, [CLS] and [SEP] included.</summary>
    public float[][][] Hidden(IReadOnlyList<string> texts, int batchSize = 32)
    {
        var result = new float[texts.Count][][];
        void Keep(int[] rows, int[][] ids, float[] h, int t)
        {
            for (int r = 0; r < rows.Length; ++r)
                result[rows[r]] = Enumerable.Range(0, ids[r].Length).Select(p => h.AsSpan((r * t + p) * Dimension, Dimension).ToArray()).ToArray();
        }
        if (Backend is { } engine)
            ForEachBatch(Tokenize(texts), batchSize, (rows, batch, flat, mask, t) => Keep(rows, batch, engine.LastHidden(flat, mask, rows.Length, t), t));
        else
            RunBatches(Tokenize(texts), batchSize, (rows, ids, hidden, mask) => Keep(rows, ids, hidden.To(ScalarType.Float32).Contiguous().ToArray<float>(), (int)hidden.Size(1)));
        return result;
    }

    private int[][] Tokenize(IReadOnlyList<string> texts)
    {
        int[][] all = new int[texts.Count][];
        Parallel.For(0, texts.Count, i => all[i] = Ids(texts[i]));
        return all;
    }

    // Batches of texts of about the same length (sorted by length): the rows' indices, their ids, and the padded ids and mask (rows × t).
    private static void ForEachBatch(IReadOnlyList<int[]> all, int batchSize, Action<int[], int[][], long[], long[], int> use)
    {
        ArgumentNullException.ThrowIfNull(all);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int[] order = Enumerable.Range(0, all.Count).OrderBy(i => all[i].Length).ThenBy(i => i).ToArray();
        foreach (int[] rows in order.Chunk(batchSize))
        {
            int t = rows.Max(r => all[r].Length);
            var ids = new long[rows.Length * t];
            var mask = new long[rows.Length * t];
            int[][] batch = rows.Select(r => all[r]).ToArray();
            for (int r = 0; r < rows.Length; ++r)
                for (int p = 0; p < batch[r].Length; ++p) (ids[r * t + p], mask[r * t + p]) = (batch[r][p], 1);
            use(rows, batch, ids, mask, t);
        }
    }

    // The torch model's last hidden states (B, T, C) and mask (B, T), batch by batch.
    private void RunBatches(IReadOnlyList<int[]> all, int batchSize, Action<int[], int[][], Tensor, Tensor> use)
    {
        Model.Eval();
        using var noGrad = LibTorch.NoGrad();
        ForEachBatch(all, batchSize, (rows, batch, ids, mask, t) =>
        {
            using var scope = DisposeScope.Begin();
            Tensor maskT = Model.ToDevice(Tensor.From(mask, rows.Length, t));
            (Tensor hidden, _) = Model.Forward(Model.ToDevice(Tensor.From(ids, rows.Length, t)), maskT);
            use(rows, batch, hidden, maskT);
        });
    }

    /// <summary>
    /// Contrastive fine-tuning on pairs of texts that mean the same (duplicates, paraphrases): the mean-pooled embeddings of a
    /// batch's pairs are scored with NT-Xent, every other pair in the batch serving as a negative (sentence-transformers'
    /// in-batch negatives), on the shared training loop with AdamW (no decay on biases and LayerNorms), linear warm-up then a
    /// cosine, and clipping. The model ends in evaluation mode. With <paramref name="runDir"/>, the run folder gets the
    /// fine-tuned encoder (<c>model/</c>: a Hugging Face folder with its tokenizer) and the <c>summary.json</c> every run writes.
    /// </summary>
    public void FineTune(IReadOnlyList<(string A, string B)> pairs, ContrastiveOptions o, Action<TrainingProgress>? onStep = null, string? runDir = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(o);
        if (pairs.Count < 2) throw new ArgumentException("contrastive training needs at least two pairs", nameof(pairs));
        using var opt = new AdamW(Model.Parameters(), lr: o.LearningRate, weightDecay: o.WeightDecay, noWeightDecay: Model.NoWeightDecayParameters());
        using var loop = new TrainingLoop(Model, opt, o) { OnProgress = onStep };
        TrainingState<double> state = new ShuffledLossTask(pairs.Count, o.BatchSize, o.Seed, batch =>
            Losses.NtXent(MeanPooled(batch.Select(i => pairs[i].A).ToList()), MeanPooled(batch.Select(i => pairs[i].B).ToList()), o.Temperature), minLastBatch: 2).Run(loop);
        Model.Eval();
        if (runDir is null) return;
        RunFolder run = new RunFolder(runDir).Create();
        run.Save(RunFolder.ModelDir, Save);
        run.WriteSummary(new RunSummary
        {
            Task = "encoder", Model = Model.Config.ModelType, Config = Model.Config, Parameters = Model.ParameterCount(trainableOnly: true),
            Vocabulary = new RunVocabulary("subword", Tokenizer.VocabSize), Training = o,
            Epochs = state.History.Select((loss, i) => (object)new { epoch = i + 1, train_loss = loss }).ToList(),
            Steps = state.Step, Seconds = state.Seconds,
        });
    }

    /// <summary>Writes the encoder as a Hugging Face folder (config.json, model.safetensors, tokenizer.json) that <see cref="Load"/> reads.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        Model.SavePretrained(dir);
        TokenizerJson.Save(Tokenizer, Path.Combine(dir, "tokenizer.json"));
    }

    /// <summary>Mean-pooled embeddings (B, C) of a batch of texts, with gradients (not normalised: the loss normalises).</summary>
    public Tensor MeanPooled(IReadOnlyList<string> texts)
    {
        int[][] ids = texts.Select(Ids).ToArray();
        int t = ids.Max(x => x.Length);
        var flat = new long[texts.Count * t];
        var mask = new long[texts.Count * t];
        for (int r = 0; r < ids.Length; ++r)
            for (int p = 0; p < ids[r].Length; ++p) (flat[r * t + p], mask[r * t + p]) = (ids[r][p], 1);
        Tensor maskT = Model.ToDevice(Tensor.From(mask, texts.Count, t));
        (Tensor hidden, _) = Model.Forward(Model.ToDevice(Tensor.From(flat, texts.Count, t)), maskT);
        Tensor m = maskT.To(ScalarType.Float32).Unsqueeze(2);                                       // (B, T, 1)
        return hidden.Mul(m).Sum([1]).Div(m.Sum([1]).Clamp(min: 1e-9));                           // (B, C)
    }

    /// <summary>Writes the encoder as ONNX (<see cref="BertOnnx"/>): inputs input_ids, attention_mask and token_type_ids,
    /// output last_hidden_state, as Hugging Face's BERT exports; pooling stays with the caller, as here.</summary>
    public void ExportOnnx(string path) => BertOnnx.Export(Model, path);

    /// <inheritdoc />
    public void Dispose()
    {
        (Backend as IDisposable)?.Dispose();
        Model.Dispose();
    }
}

/// <summary>
/// An engine that computes an encoder's last hidden states for <see cref="TextEncoder"/> at inference (tokenizing, batching
/// by length and pooling stay with the encoder).
/// </summary>
public interface IEncoderBackend
{
    /// <summary>The width of the hidden states.</summary>
    int Width { get; }

    /// <summary>The last hidden states, rows × tokens × <see cref="Width"/> in row-major order, of <paramref name="ids"/> and
    /// <paramref name="mask"/> (rows × tokens; mask 1 for real tokens, 0 for padding).</summary>
    float[] LastHidden(long[] ids, long[] mask, int rows, int tokens);
}

/// <summary>Settings of <see cref="TextEncoder.FineTune"/>: the shared ones with contrastive fine-tuning's defaults, and the temperature.</summary>
public sealed record ContrastiveOptions : TrainingOptions
{
    /// <summary>Contrastive fine-tuning defaults: 1 epoch of 32 pairs, AdamW at 2e-5 with weight decay 0.01, 10 steps of warm-up
    /// then a cosine to a tenth, clipping at 1.</summary>
    public ContrastiveOptions()
    {
        (Epochs, BatchSize, LearningRate, Schedule, WarmupSteps, WeightDecay, Clip) = (1, 32, 2e-5, LearningRateSchedule.Cosine, 10, 0.01, 1.0);
    }

    /// <summary>NT-Xent temperature (sentence-transformers' scale 20 is 0.05).</summary>
    public double Temperature { get; init; } = 0.05;
}

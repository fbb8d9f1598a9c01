using System.Security.Cryptography;
using LLama;
using LLama.Common;
using LLama.Native;
using Slovo.Generation;
using Slovo.Import;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.LlamaCpp;

/// <summary>Settings of the llama.cpp engine.</summary>
public sealed record LlamaCppOptions
{
    /// <summary>How the weights are stored for llama.cpp when the model is exported (a GGUF model is run as it is stored).</summary>
    public GgmlType Type { get; init; } = GgmlType.F32;

    /// <summary>Positions one row may hold (default: the model's context, at most 2,048). The key/value cache holds
    /// <see cref="Context"/> × <see cref="MaxRows"/> positions.</summary>
    public int? Context { get; init; }

    /// <summary>Rows decoded together at most (llama.cpp's sequences: a batch of prompts, beams and a server's batch need one each).</summary>
    public int MaxRows { get; init; } = 4;

    /// <summary>CPU threads (default: the machine's cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Where exported files are kept (default: beside the model, in .slovo-engines/; a model in memory: the temp folder).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Layers offloaded to a GPU when a CUDA backend of LLamaSharp is referenced (0: all on the CPU).</summary>
    public int GpuLayers { get; init; }
}

/// <summary>
/// Runs Slovo's language models on llama.cpp: <see cref="Use"/> exports the model to GGUF (once; the file is cached beside the
/// model, named by a hash of its weights and the storage type), loads it through LLamaSharp and makes the model decode with it.
/// Slovo keeps everything above the logits: sampling, beams, stop strings, token healing, MBR and continuous batching.
/// </summary>
public static class LlamaCppEngine
{
    private static readonly object s_gate = new();
    private static bool s_quiet;

    /// <summary>llama.cpp's own log lines (loading, buffers) are dropped unless this is set before the first load.</summary>
    public static Action<string>? Log { get; set; }

    /// <summary>Makes <paramref name="model"/> decode with llama.cpp from now on; returns the engine (dispose it after the model's last use).</summary>
    public static LlamaCppBackend Use(LanguageModel model, LlamaCppOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        LlamaCppBackend backend = Open(model, options ?? new LlamaCppOptions());
        model.UseBackend(backend);
        return backend;
    }

    /// <summary>The GGUF file llama.cpp runs for <paramref name="model"/>: the model's own file when it is a GGUF, else an export (cached).</summary>
    public static string GgufFor(LanguageModel model, LlamaCppOptions options)
    {
        if (File.Exists(model.Source) && GgufFile.IsGguf(model.Source)) return model.Source;
        string folder = options.CacheFolder ?? (Directory.Exists(model.Source) ? Path.Combine(model.Source, ".slovo-engines")
            : File.Exists(model.Source) ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model.Source))!, ".slovo-engines")
            : Path.Combine(Path.GetTempPath(), "slovo-engines"));
        string path = Path.Combine(folder, $"{Fingerprint(model)}.{options.Type.ToString().ToLowerInvariant()}.gguf");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            GgufModels.Export(model, path, options.Type);   // atomic: a killed export leaves no half file
        }
        return path;
    }

    // The weights' names, shapes, types and bytes, hashed: a changed model never reads a stale export.
    private static string Fingerprint(LanguageModel model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, Tensor t) in model.Module.StateDict().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{t.DType}:{string.Join(',', t.Shape)};"));
            using Tensor host = t.Device.Type == DeviceType.CPU ? t.Contiguous() : t.To(Device.CPU).Contiguous();
            hash.AppendData(host.ToBytes());
        }
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(model.Vocabulary.ToJson()));
        return Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
    }

    private static LlamaCppBackend Open(LanguageModel model, LlamaCppOptions options)
    {
        lock (s_gate)
            if (!s_quiet)
            {
                NativeLogConfig.LLamaLogCallback callback = (level, message) =>
                {
                    if (Log is { } log && level is LLamaLogLevel.Error or LLamaLogLevel.Warning) log(message.TrimEnd());
                };
                // Before llama.cpp is loaded the callback is part of its configuration; once another part of the process
                // has loaded it, the callback is set on the loaded library instead.
                try { NativeLibraryConfig.All.WithLogCallback(callback); }
                catch (InvalidOperationException) { NativeLogConfig.llama_log_set(callback); }
                s_quiet = true;
            }
        string gguf = GgufFor(model, options);
        int context = options.Context ?? Math.Min(model.Context ?? 2048, 2048);
        var parameters = new ModelParams(gguf)
        {
            ContextSize = (uint)(context * Math.Max(1, options.MaxRows)), SeqMax = (uint)options.MaxRows, BatchSize = (uint)context, UBatchSize = (uint)Math.Min(context, 512),
            Threads = options.Threads, BatchThreads = options.Threads, GpuLayerCount = options.GpuLayers,
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
        };
        LLamaWeights weights;
        try { weights = LLamaWeights.LoadFromFile(parameters); }
        catch (LLama.Exceptions.LoadWeightsFailedException e)
        {
            throw new InvalidDataException($"llama.cpp could not load {gguf} ({e.Message})", e);
        }
        return new LlamaCppBackend(weights, parameters, gguf, context, options.MaxRows);
    }
}

/// <summary>
/// llama.cpp behind Slovo's <see cref="IDecodingBackend"/>: each batch is one llama.cpp context whose rows are its sequences
/// (their own positions and key/value cells), stepped together in one llama.cpp batch per token.
/// </summary>
public sealed class LlamaCppBackend : IDecodingBackend, IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;

    internal LlamaCppBackend(LLamaWeights weights, ModelParams parameters, string gguf, int context, int maxRows)
    {
        (_weights, _parameters, File, Context, MaxRows) = (weights, parameters, gguf, context, maxRows);
        VocabSize = weights.Vocab.Count;
    }

    /// <summary>The GGUF file llama.cpp runs.</summary>
    public string File { get; }

    /// <summary>Positions one row may hold.</summary>
    public int Context { get; }

    /// <summary>Rows one batch may hold.</summary>
    public int MaxRows { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public bool ScoresAreLogProbabilities => false;

    /// <inheritdoc />
    public IDecodingBatch OpenBatch() => new LlamaCppBatch(_weights.CreateContext(_parameters), Context, MaxRows);

    /// <inheritdoc />
    public void Dispose() => _weights.Dispose();
}

/// <summary>Rows of one llama.cpp context: row i is sequence <c>_rows[i].Seq</c> at position <c>_rows[i].Position</c>.</summary>
internal sealed class LlamaCppBatch(LLamaContext context, int positions, int maxRows) : IDecodingBatch
{
    private List<(int Seq, int Position)> _rows = [];
    private readonly Stack<int> _free = new(Enumerable.Range(0, maxRows).Reverse());
    private readonly LLamaBatch _batch = new();
    // One score buffer per sequence, reused every step (the scores are read before the batch's next call).
    private readonly float[]?[] _scores = new float[maxRows][];

    public int Count => _rows.Count;

    private float[] Scores(int seq, int index)
    {
        ReadOnlySpan<float> logits = context.NativeHandle.GetLogitsIth(index);
        float[] buffer = _scores[seq] ??= new float[logits.Length];
        logits.CopyTo(buffer);
        return buffer;
    }

    private int TakeSequence() => _free.Count > 0 ? _free.Pop()
        : throw new InvalidOperationException($"llama.cpp holds {maxRows} rows at most in one batch (LlamaCppOptions.MaxRows)");

    private void Decode()
    {
        DecodeResult r = context.Decode(_batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp could not decode the batch ({r}); the context may be full");
    }

    public IReadOnlyList<float[]> Add(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var scores = new List<float[]>(prompts.Count);
        foreach (IReadOnlyList<int> prompt in prompts)
        {
            if (prompt.Count == 0) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
            if (prompt.Count >= positions) throw new ArgumentException($"a prompt of {prompt.Count} tokens fills the engine's {positions} positions", nameof(prompts));
            int seq = TakeSequence();
            for (int start = 0; start < prompt.Count; start += positions)
            {
                _batch.Clear();
                int end = Math.Min(prompt.Count, start + positions);
                for (int i = start; i < end; ++i) _batch.Add(prompt[i], i, (LLamaSeqId)seq, i == prompt.Count - 1);
                Decode();
            }
            scores.Add(Scores(seq, _batch.TokenCount - 1));
            _rows.Add((seq, prompt.Count));
        }
        return scores;
    }

    public IReadOnlyList<float[]> Step(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count != Count) throw new ArgumentException($"{tokens.Count} tokens for {Count} rows", nameof(tokens));
        if (Count == 0) return [];
        _batch.Clear();
        for (int i = 0; i < tokens.Count; ++i)
        {
            (int seq, int position) = _rows[i];
            if (position >= positions) throw new InvalidOperationException($"a row reached the engine's {positions} positions");
            _batch.Add(tokens[i], position, (LLamaSeqId)seq, true);
            _rows[i] = (seq, position + 1);
        }
        Decode();
        var scores = new float[tokens.Count][];
        for (int i = 0; i < tokens.Count; ++i) scores[i] = Scores(_rows[i].Seq, i);
        return scores;
    }

    public void Retain(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Any(r => r < 0 || r >= Count)) throw new ArgumentOutOfRangeException(nameof(rows), $"rows must be in [0, {Count})");
        // Rows no longer wanted give their sequences back first, so that copies can reuse them.
        var wanted = rows.ToHashSet();
        for (int r = 0; r < _rows.Count; ++r)
            if (!wanted.Contains(r))
            {
                context.NativeHandle.MemorySequenceRemove((LLamaSeqId)_rows[r].Seq, -1, -1);
                _free.Push(_rows[r].Seq);
            }
        var kept = new List<(int, int)>(rows.Count);
        var owned = new HashSet<int>();
        foreach (int r in rows)
        {
            (int seq, int position) = _rows[r];
            if (owned.Add(r)) kept.Add((seq, position));
            else
            {
                // A row taken twice (a beam that branches): its cells are copied into a sequence of its own.
                int copy = TakeSequence();
                context.NativeHandle.MemorySequenceCopy((LLamaSeqId)seq, (LLamaSeqId)copy, -1, -1);
                kept.Add((copy, position));
            }
        }
        _rows = kept;
    }

    public void Dispose()
    {
        context.Dispose();
        _rows.Clear();
    }
}

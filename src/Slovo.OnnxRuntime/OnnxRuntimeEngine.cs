using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Slovo.Encoders;
using Slovo.Torch;
using TorchTensor = Slovo.Torch.Tensor;

namespace Slovo.OnnxRuntime;

/// <summary>Settings of the ONNX Runtime engine.</summary>
public sealed record OnnxRuntimeOptions
{
    /// <summary>Intra-op threads (default: the machine's cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Where exported graphs are kept (default: beside the encoder, in .slovo-engines/; one made in memory: the temp folder).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Run the folder's own model.onnx when it has one that is not older than its weights (the graph it was imported
    /// from). False: always run Slovo's export of the weights.</summary>
    public bool PreferFolderGraph { get; init; } = true;
}

/// <summary>
/// Runs Slovo's sentence encoders on ONNX Runtime: <see cref="Use"/> finds the encoder's ONNX graph (the model.onnx an imported
/// folder keeps, or Slovo's export of the weights, cached beside the encoder and named by a hash of them) and makes the
/// encoder compute its last hidden states there. Tokenizing, batching by length and pooling stay the encoder's.
/// </summary>
public static class OnnxRuntimeEngine
{
    /// <summary>Makes <paramref name="encoder"/> run on ONNX Runtime from now on; returns the engine (the encoder disposes it with itself).</summary>
    public static OnnxRuntimeEncoder Use(TextEncoder encoder, OnnxRuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        options ??= new OnnxRuntimeOptions();
        string path = OnnxFor(encoder, options);
        var engine = new OnnxRuntimeEncoder(path, encoder.Dimension, options.Threads);
        encoder.UseBackend(engine);
        return engine;
    }

    /// <summary>The ONNX file ONNX Runtime runs for <paramref name="encoder"/>: the folder's own model.onnx, else an export (cached).</summary>
    public static string OnnxFor(TextEncoder encoder, OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PreferFolderGraph && encoder.Source is { } dir && Directory.Exists(dir))
        {
            var graph = new FileInfo(Path.Combine(dir, "model.onnx"));
            var weights = new FileInfo(Path.Combine(dir, "model.safetensors"));
            if (graph.Exists && (!weights.Exists || graph.LastWriteTimeUtc >= weights.LastWriteTimeUtc)) return graph.FullName;
        }
        string folder = options.CacheFolder ?? (encoder.Source is { } s && Directory.Exists(s) ? Path.Combine(s, ".slovo-engines")
            : Path.Combine(Path.GetTempPath(), "slovo-engines"));
        string path = Path.Combine(folder, $"{Fingerprint(encoder)}.onnx");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            encoder.ExportOnnx(path);   // atomic: a killed export leaves no half file
        }
        return path;
    }

    // The weights' names, shapes and bytes and the config, hashed: a changed encoder never reads a stale export.
    private static string Fingerprint(TextEncoder encoder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(encoder.Model.Config)));
        foreach ((string name, TorchTensor t) in encoder.Model.StateDict().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{t.DType}:{string.Join(',', t.Shape)};"));
            using TorchTensor host = t.Device.Type == DeviceType.CPU ? t.Contiguous() : t.To(Device.CPU).Contiguous();
            hash.AppendData(host.ToBytes());
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
    }
}

/// <summary>An ONNX Runtime session of a BERT-shaped graph behind <see cref="IEncoderBackend"/>.</summary>
public sealed class OnnxRuntimeEncoder : IEncoderBackend, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _output;
    private readonly bool _types;
    private bool _disposed;

    internal OnnxRuntimeEncoder(string path, int width, int threads)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try { _session = new InferenceSession(path, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"ONNX Runtime could not load {path} ({e.Message.ReplaceLineEndings(" ")})", e); }
        (File, Width) = (path, width);
        IReadOnlyDictionary<string, NodeMetadata> inputs = _session.InputMetadata;
        if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
            throw new InvalidDataException($"{path}: an encoder graph needs inputs input_ids and attention_mask; it has {string.Join(", ", inputs.Keys)}");
        _types = inputs.ContainsKey("token_type_ids");
        _output = _session.OutputMetadata.FirstOrDefault(o => o.Key == "last_hidden_state").Key
            ?? _session.OutputMetadata.FirstOrDefault(o => o.Value.Dimensions.Length == 3).Key
            ?? throw new InvalidDataException($"{path}: no output of hidden states (batch × sequence × width) among {string.Join(", ", _session.OutputMetadata.Keys)}");
    }

    /// <summary>The ONNX file the session runs.</summary>
    public string File { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public float[] LastHidden(long[] ids, long[] mask, int rows, int tokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(mask);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int[] shape = [rows, tokens];
        var inputs = new List<NamedOnnxValue>(3)
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
        };
        if (_types) inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(shape)));
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> outputs = _session.Run(inputs, [_output]);
        Tensor<float> hidden = outputs[0].AsTensor<float>();
        if (hidden.Length != (long)rows * tokens * Width)
            throw new InvalidDataException($"{File} gave {hidden.Length} values for {rows} × {tokens} × {Width}");
        return hidden is DenseTensor<float> dense ? dense.Buffer.ToArray() : hidden.ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }
}

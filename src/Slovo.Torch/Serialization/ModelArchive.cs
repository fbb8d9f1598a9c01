using System.Text.Json;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

namespace Slovo.Torch.Serialization;

/// <summary>What kind of model an archive holds: its format tag, a name for messages and the command that makes one.</summary>
/// <param name="Format">The tag stored under <c>format</c>, e.g. <c>slovo-rnn-lm</c>.</param>
/// <param name="Description">What it is, for messages: "language model".</param>
/// <param name="Remedy">What a user does to get one, said at the end of an error (e.g. how to train one).</param>
/// <param name="FileName">The file name inside a run folder.</param>
public sealed record ModelArchiveKind(string Format, string Description, string Remedy, string FileName = "model.safetensors");

/// <summary>An archive's content while it is being read: typed options, the other metadata fields, and the tensors.</summary>
public sealed class ModelArchiveContent<TOptions>
{
    internal ModelArchiveContent(string path, TOptions options, IReadOnlyDictionary<string, string> fields, Dictionary<string, Tensor> tensors) =>
        (Path, Options, Fields, Tensors) = (path, options, fields, tensors);

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The model's options, deserialized from the <c>options</c> field.</summary>
    public TOptions Options { get; }

    /// <summary>Every metadata field (format and options included).</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    /// <summary>The tensors by name (disposed when the read ends: load them into a module).</summary>
    public Dictionary<string, Tensor> Tensors { get; }

    /// <summary>A metadata field that must be there.</summary>
    public string Field(string name) =>
        Fields.TryGetValue(name, out string? v) ? v : throw new InvalidDataException($"the archive lacks its \"{name}\" field");
}

/// <summary>
/// The one model file of Slovo: tensors, a format tag, the model's options as JSON and any further text fields (a
/// vocabulary, a maximum length) in one safetensors file, written atomically. Reading checks the tag and turns every
/// way a file can be wrong (missing, truncated, another kind of model, a missing or malformed field, tensors that do
/// not fit) into one <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> naming the file and the fix.
/// </summary>
public static class ModelArchive
{
    /// <summary>The metadata keys every archive has.</summary>
    public const string FormatField = "format", OptionsField = "options";

    /// <summary>Writes <paramref name="tensors"/>, the tag of <paramref name="kind"/>, <paramref name="options"/> and <paramref name="fields"/> to <paramref name="path"/>.</summary>
    public static void Save<TOptions>(string path, ModelArchiveKind kind, TOptions options, IReadOnlyDictionary<string, Tensor> tensors,
                                      IReadOnlyDictionary<string, string>? fields = null, JsonSerializerOptions? json = null)
    {
        var meta = new Dictionary<string, string>(fields ?? new Dictionary<string, string>())
        {
            [FormatField] = kind.Format,
            [OptionsField] = JsonSerializer.Serialize(options, json),
        };
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Reads an archive of <paramref name="kind"/> at <paramref name="path"/> (a file, or a run folder holding
    /// <see cref="ModelArchiveKind.FileName"/>) and builds the model from it with <paramref name="build"/>.
    /// </summary>
    public static T Load<TOptions, T>(string path, ModelArchiveKind kind, Func<ModelArchiveContent<TOptions>, T> build, JsonSerializerOptions? json = null)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, kind.FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"no {kind.Description} at {Path.GetFullPath(path)}; {kind.Remedy}", path);
        string fix = kind.Remedy;
        return Read(path, "model file", fix, (tensors, meta) =>
        {
            string? format = meta.GetValueOrDefault(FormatField);
            if (format != kind.Format)
                throw new InvalidDataException($"{path} is not a Slovo {kind.Description} (format '{format ?? "none"}'); {fix}");
            TOptions options = Field<TOptions>(path, meta, OptionsField, fix, json);
            return build(new ModelArchiveContent<TOptions>(path, options, meta, tensors));
        });
    }

    /// <summary>
    /// Reads the safetensors file at <paramref name="path"/> and runs <paramref name="body"/> on it; every way the file
    /// can be wrong becomes one <see cref="InvalidDataException"/> that names the file and ends with <paramref name="fix"/>.
    /// The tensors are disposed when <paramref name="body"/> returns.
    /// </summary>
    private static T Read<T>(string path, string what, string fix, Func<Dictionary<string, Tensor>, Dictionary<string, string>, T> body)
    {
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> meta;
        try { (tensors, meta) = SafeTensors.LoadWithMetadata(path); }
        catch (SafeTensorsFormatException e) { throw new InvalidDataException($"{path} is not a readable {what} ({e.Message}); {fix}", e); }
        try
        {
            return body(tensors, meta);
        }
        catch (Exception e) when (e is TorchException or KeyNotFoundException or FormatException or JsonException or ArgumentException
                                  || (e is InvalidDataException && !e.Message.StartsWith(path, StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{path}: {e.Message.ReplaceLineEndings(" ")}; {fix}", e);
        }
        finally
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>A JSON metadata field read as <typeparamref name="T"/>; a missing or malformed one names the field and the fix.</summary>
    private static T Field<T>(string path, Dictionary<string, string> meta, string name, string fix, JsonSerializerOptions? json)
    {
        try { return JsonSerializer.Deserialize<T>(meta.GetValueOrDefault(name) ?? "null", json) ?? throw new JsonException($"no {name}"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed \"{name}\" field ({e.Message}); {fix}", e); }
    }

    /// <summary>The metadata keys of a checkpoint besides the format tag.</summary>
    public const string SettingsField = "settings", StateField = "state";

    private const string ModelPrefix = "model.", OptimizerPrefix = "optim.";

    /// <summary>
    /// Writes a training checkpoint of <paramref name="kind"/> atomically: the model's and the optimizer's tensors, the
    /// <paramref name="settings"/> a resumed run must match, the typed run <paramref name="state"/> (read back by
    /// <see cref="LoadCheckpoint{TState}"/> as the same type) and further <paramref name="fields"/> (a vocabulary).
    /// </summary>
    public static void SaveCheckpoint<TState>(string path, ModelArchiveKind kind, string settings, Module model, Optimizer optimizer, TState state,
                                              IReadOnlyDictionary<string, string>? fields = null, JsonSerializerOptions? json = null)
    {
        (Dictionary<string, Tensor> optTensors, Dictionary<string, string> optMeta) = optimizer.StateDict();
        var tensors = new Dictionary<string, Tensor>();
        foreach ((string k, Tensor t) in model.StateDict()) tensors[ModelPrefix + k] = t;
        foreach ((string k, Tensor t) in optTensors) tensors[OptimizerPrefix + k] = t;
        var meta = new Dictionary<string, string>(fields ?? new Dictionary<string, string>());
        foreach ((string k, string v) in optMeta) meta[OptimizerPrefix + k] = v;
        meta[FormatField] = kind.Format;
        meta[SettingsField] = settings;
        meta[StateField] = JsonSerializer.Serialize(state, json);
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Reads a checkpoint written by <see cref="SaveCheckpoint{TState}"/> into <paramref name="model"/> and
    /// <paramref name="optimizer"/> and returns its run state. Refuses, naming the file and the fix, a file of another
    /// kind, other <paramref name="settings"/>, or one that <paramref name="check"/> rejects (it returns the reason).
    /// </summary>
    public static TState LoadCheckpoint<TState>(string path, ModelArchiveKind kind, string settings, Module model, Optimizer optimizer,
                                                Func<IReadOnlyDictionary<string, string>, string?>? check = null, JsonSerializerOptions? json = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--resume: no checkpoint at {Path.GetFullPath(path)}; start without --resume", path);
        const string Fix = "start the run again without --resume, or in a new folder";
        return Read(path, "checkpoint", Fix, (tensors, meta) =>
        {
            string? format = meta.GetValueOrDefault(FormatField);
            if (format != kind.Format)
                throw new InvalidDataException($"{path} is not a checkpoint of a Slovo {kind.Description} (format '{format ?? "none"}'); {Fix}");
            if (meta.GetValueOrDefault(SettingsField) != settings)
                throw new InvalidDataException($"{path} was written with other model or training settings ({meta.GetValueOrDefault(SettingsField)}); resume with the same options");
            if (check?.Invoke(meta) is string reason) throw new InvalidDataException($"{path} {reason}");
            TState state = Field<TState>(path, meta, StateField, Fix, json);
            model.LoadStateDict(TensorDictionary.Prefixed(tensors, ModelPrefix));
            optimizer.LoadStateDict(TensorDictionary.Prefixed(tensors, OptimizerPrefix), meta.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value));
            return state;
        });
    }

}

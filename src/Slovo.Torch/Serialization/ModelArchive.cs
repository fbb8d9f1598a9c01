using System.Text.Json;

namespace Slovo.Torch.Serialization;

/// <summary>What kind of model an archive holds: its format tag, a name for messages and the command that makes one.</summary>
/// <param name="Format">The tag stored under <c>format</c>, e.g. <c>slovo-rnn-lm</c>.</param>
/// <param name="Description">What it is, for messages: "language model".</param>
/// <param name="TrainCommand">How a user makes one: "slovo lm train".</param>
/// <param name="FileName">The file name inside a run folder.</param>
public sealed record ModelArchiveKind(string Format, string Description, string TrainCommand, string FileName = "model.safetensors");

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
        if (!File.Exists(path)) throw new FileNotFoundException($"no {kind.Description} at {Path.GetFullPath(path)}; train one with '{kind.TrainCommand}'", path);
        string Fix() => $"give a file written by '{kind.TrainCommand}'";
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> meta;
        try { (tensors, meta) = SafeTensors.LoadWithMetadata(path); }
        catch (SafeTensorsFormatException e) { throw new InvalidDataException($"{path} is not a readable model file ({e.Message}); {Fix()}", e); }
        try
        {
            string? format = meta.GetValueOrDefault(FormatField);
            if (format != kind.Format)
                throw new InvalidDataException($"{path} is not a Slovo {kind.Description} (format '{format ?? "none"}'); {Fix()}");
            TOptions options;
            try { options = JsonSerializer.Deserialize<TOptions>(meta.GetValueOrDefault(OptionsField) ?? "null", json) ?? throw new JsonException("no options"); }
            catch (JsonException e) { throw new InvalidDataException($"{path}: malformed \"{OptionsField}\" field ({e.Message}); {Fix()}", e); }
            return build(new ModelArchiveContent<TOptions>(path, options, meta, tensors));
        }
        catch (Exception e) when (e is TorchException or KeyNotFoundException or FormatException or JsonException or ArgumentException
                                  || (e is InvalidDataException && !e.Message.StartsWith(path, StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{path}: {e.Message.ReplaceLineEndings(" ")}; {Fix()}", e);
        }
        finally
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
        }
    }
}

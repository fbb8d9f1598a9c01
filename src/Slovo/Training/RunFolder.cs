using System.Text.Json;
using System.Text.Json.Serialization;
using Slovo.Torch.Distributed;
using Slovo.Torch.Serialization;

namespace Slovo.Training;

/// <summary>
/// The folder one training run writes: the one place that knows its file names, writes them atomically, and decides
/// who writes (a process training alone, or rank 0 of a data-parallel group; the other ranks read it, e.g. to resume).
/// Trainers and commands ask it for paths and writers; models save themselves into the paths it gives.
/// </summary>
/// <remarks>
/// The files: <see cref="ModelFile"/> (the best weights of a Slovo model, one archive) or <see cref="ModelDir"/> (the best
/// weights as a Hugging Face folder), <see cref="CheckpointFile"/> (everything to continue exactly),
/// <see cref="VocabularyFile"/> (the run's vocabulary), <see cref="TrainingFile"/> (the training options, as the run
/// recorded them), <see cref="SummaryFile"/> (a <see cref="RunSummary"/>) and <see cref="TensorBoardDir"/>.
/// </remarks>
public sealed class RunFolder
{
    /// <summary>File and folder names inside a run folder.</summary>
    public const string ModelFile = "model.safetensors", ModelDir = "model", AdapterDir = "adapter", CheckpointFile = "checkpoint.safetensors", VocabularyFile = "vocab.json",
        TrainingFile = "training.json", SummaryFile = "summary.json", TensorBoardDir = "tensorboard";

    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN test figures of a run without a test set
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>A run folder at <paramref name="path"/>; with a data-parallel <paramref name="group"/>, only its rank 0 writes.</summary>
    public RunFolder(string path, ProcessGroup? group = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        Writes = group is null || group.Rank == 0;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Whether this process writes the folder: always when training alone, on rank 0 only when data-parallel. The
    /// writers below do nothing in a process that does not write.</summary>
    public bool Writes { get; }

    /// <summary>The path of <paramref name="name"/> inside the folder.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <summary>Whether the folder holds a file or folder <paramref name="name"/>.</summary>
    public bool Has(string name) => File.Exists(this[name]) || Directory.Exists(this[name]);

    /// <summary>Creates the folder (when this process writes).</summary>
    public RunFolder Create()
    {
        if (Writes) Directory.CreateDirectory(Path);
        return this;
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> atomically (when this process writes).</summary>
    public void WriteText(string name, string text)
    {
        if (Writes) AtomicFile.WriteAllText(this[name], text);
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON to <paramref name="name"/> atomically (when this process writes).</summary>
    public void WriteJson<T>(string name, T value, JsonSerializerOptions? json = null) =>
        WriteText(name, JsonSerializer.Serialize(value, json is null ? Indented : new JsonSerializerOptions(json) { WriteIndented = true }));

    /// <summary>Runs <paramref name="save"/> with the path of <paramref name="name"/> (when this process writes): a model saving
    /// itself (atomically) where the run keeps it.</summary>
    public void Save(string name, Action<string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        if (Writes) save(this[name]);
    }

    /// <summary>Runs <paramref name="save"/> with the folder's own path (when this process writes): a model whose files lie in the
    /// run folder itself, e.g. a fine-tuned encoder's Hugging Face files beside its head.</summary>
    public void SaveInPlace(Action<string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        if (Writes) save(Path);
    }

    /// <summary>Reads <paramref name="name"/> as JSON, or null when the folder has no such file; a malformed file is an error
    /// naming it as the run's <paramref name="what"/> ("training options").</summary>
    public T? ReadJson<T>(string name, string what, JsonSerializerOptions? json = null) where T : class
    {
        string path = this[name];
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), json ?? Indented); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a run's {what} ({e.Message}); delete it, or train the run again", e); }
    }

    /// <summary>Writes the run's <see cref="SummaryFile"/> (when this process writes).</summary>
    public void WriteSummary(RunSummary summary) => WriteJson(SummaryFile, summary);

    /// <summary>Reads the run's <see cref="SummaryFile"/>, or null when it has none.</summary>
    public RunSummary? ReadSummary() => ReadJson<RunSummary>(SummaryFile, "summary");

    /// <summary>A new TensorBoard event file in <see cref="TensorBoardDir"/>, or null when this process does not write.</summary>
    public TensorBoardWriter? OpenTensorBoard() => Writes ? new TensorBoardWriter(this[TensorBoardDir]) : null;
}

/// <summary>
/// The one shape of a run's <c>summary.json</c>, whatever trained: a recurrent or GPT language model, a recurrent, CNN or
/// BERT classifier, an encoder. Figures are named maps, so each task reports its own (loss and perplexity; accuracy and F1).
/// </summary>
public sealed record RunSummary
{
    /// <summary>What the run trained: "language-model", "classifier" or "encoder".</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "";

    /// <summary>The architecture: "lstm", "gpt", "cnn", "bert", ...</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "";

    /// <summary>The model's configuration (its options or config record).</summary>
    [JsonPropertyName("config")] public object? Config { get; init; }

    /// <summary>Trainable parameters.</summary>
    [JsonPropertyName("parameters")] public long Parameters { get; init; }

    /// <summary>The tokens the model reads: level (word, char, subword, ...) and size.</summary>
    [JsonPropertyName("vocabulary")] public RunVocabulary? Vocabulary { get; init; }

    /// <summary>The training options.</summary>
    [JsonPropertyName("training")] public object? Training { get; init; }

    /// <summary>Every epoch's report, in order.</summary>
    [JsonPropertyName("epochs")] public IReadOnlyList<object> Epochs { get; init; } = [];

    /// <summary>The epoch whose weights were kept (from 1; 0 when none was scored).</summary>
    [JsonPropertyName("best_epoch")] public int BestEpoch { get; init; }

    /// <summary>Validation figures of the kept weights, by name.</summary>
    [JsonPropertyName("best")] public IReadOnlyDictionary<string, double> Best { get; init; } = new Dictionary<string, double>();

    /// <summary>Test figures, by name (empty without a test set).</summary>
    [JsonPropertyName("test")] public IReadOnlyDictionary<string, double> Test { get; init; } = new Dictionary<string, double>();

    /// <summary>One entry per seed when the run trained several (classifiers report mean ± std over seeds).</summary>
    [JsonPropertyName("seeds")] public IReadOnlyList<object> Seeds { get; init; } = [];

    /// <summary>Whether early stopping ended the run.</summary>
    [JsonPropertyName("stopped_early")] public bool StoppedEarly { get; init; }

    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; }

    /// <summary>Training seconds over every session of the run.</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

/// <summary>The vocabulary part of a <see cref="RunSummary"/>.</summary>
/// <param name="Level">word, char, subword, ...</param>
/// <param name="Size">Tokens.</param>
public sealed record RunVocabulary([property: JsonPropertyName("level")] string Level, [property: JsonPropertyName("size")] int Size);

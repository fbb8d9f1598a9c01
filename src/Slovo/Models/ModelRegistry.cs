using System.Text.Json;
using Slovo.Classification;
using Slovo.Encoders;
using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.Models;

/// <summary>
/// The one entry point that loads a model, in the manner of Hugging Face's AutoModel: a Hugging Face folder by its
/// config.json's <c>model_type</c>, a Slovo run folder or model file by its format tag. Each family registers here once
/// (<see cref="Default"/>); <see cref="LanguageModel.Load"/>, the commands and the server all load through it.
/// </summary>
/// <remarks>
/// A path is read as, in this order: a Slovo model file (a .safetensors with a format tag); a folder holding one
/// (<see cref="RunFolder.ModelFile"/>); a folder holding <c>classifier.json</c> (a fine-tuned encoder with a head); a run
/// folder whose best weights are a Hugging Face folder (<see cref="RunFolder.ModelDir"/>); a Hugging Face folder (config.json).
/// </remarks>
public sealed class ModelRegistry
{
    private readonly List<ModelFamily> _families = [];

    /// <summary>Every family Slovo reads.</summary>
    public static ModelRegistry Default { get; } = new ModelRegistry()
        .Register(Gpt2Family.Family)
        .Register(RecurrentLmFamily.Family)
        .Register(BertFamily.Family)
        .Register(TextClassifierFamily.Family)
        .Register(BertClassifierFamily.Family)
        .Register(DecoderFamily.Family)
        .Register(GgufFamily.Family);

    /// <summary>The registered families, in registration order.</summary>
    public IReadOnlyList<ModelFamily> Families => _families;

    /// <summary>Adds a family; its model types and format tag must not be claimed by another.</summary>
    public ModelRegistry Register(ModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        foreach (ModelFamily f in _families)
        {
            if (f.Name == family.Name) throw new ArgumentException($"a family named '{family.Name}' is registered already", nameof(family));
            if (family.Format is { } tag && f.Format == tag) throw new ArgumentException($"format '{tag}' is read by '{f.Name}' already", nameof(family));
            if (f.ModelTypes.Intersect(family.ModelTypes).FirstOrDefault() is { } type)
                throw new ArgumentException($"model_type '{type}' is read by '{f.Name}' already", nameof(family));
        }
        _families.Add(family);
        return this;
    }

    /// <summary>The family that reads the model at <paramref name="path"/>, and where its files are; an error names what was looked for.</summary>
    public (ModelFamily Family, ModelLocation Location) Resolve(string path) => Resolve(path, null);

    private (ModelFamily Family, ModelLocation Location) Resolve(string path, ModelTask? task)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
            return (ByFormat(path, GgufFile.IsGguf(path) ? GgufFamily.Format : FormatOfModelFile(path)), new ModelLocation(path, path, null));
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{Path.GetFullPath(path)} does not exist; give a model folder or file{Hint(task)}", path);
        var run = new RunFolder(path);
        string modelFile = run[RunFolder.ModelFile];
        if (File.Exists(modelFile) && FormatOfModelFile(modelFile, quiet: true) is { } tag) return (ByFormat(modelFile, tag), new ModelLocation(path, modelFile, run));
        string classifier = Path.Combine(path, "classifier.json");
        if (File.Exists(classifier)) return (ByFormat(classifier, StringField(classifier, "format", "save the model again")), new ModelLocation(path, path, run));
        string runModel = run[RunFolder.ModelDir];
        if (File.Exists(Path.Combine(runModel, "config.json"))) return (ByModelType(runModel), new ModelLocation(path, runModel, run));
        if (File.Exists(Path.Combine(path, "config.json"))) return (ByModelType(path), new ModelLocation(path, path, null));
        throw new InvalidDataException($"{Path.GetFullPath(path)} holds no model Slovo reads: looked for {RunFolder.ModelFile} (a Slovo model), classifier.json, " +
                                       $"{RunFolder.ModelDir}/config.json (a GPT run) and config.json (a Hugging Face folder of model_type {string.Join(", ", ModelTypes)}); a GGUF file is given as the file itself{Hint(task)}");
    }

    // How a user makes a model of the task asked for, for the end of a message.
    private static string Hint(ModelTask? task) => task switch
    {
        ModelTask.LanguageModel => ", or train one with 'slovo lm train'",
        ModelTask.Classifier => ", or train one with 'slovo classify train'",
        ModelTask.Encoder => ", or import one with 'slovo models import'",
        _ => "",
    };

    /// <summary>Loads whatever model <paramref name="path"/> holds (see the class remarks).</summary>
    public IDisposable Load(string path, ModelLoadOptions? options = null)
    {
        (ModelFamily family, ModelLocation location) = Resolve(path);
        return family.Load(location, options ?? new ModelLoadOptions());
    }

    /// <summary>Loads a language model (a recurrent or GPT run, a model file, a Hugging Face decoder folder).</summary>
    public LanguageModel LoadLanguageModel(string path, Device? device = null) =>
        LoadLanguageModel(path, new ModelLoadOptions { Device = device ?? Device.CPU });

    /// <summary>Loads a language model with <paramref name="options"/> (e.g. other dropout rates, to fine-tune it).</summary>
    public LanguageModel LoadLanguageModel(string path, ModelLoadOptions options) => Load<LanguageModel>(path, ModelTask.LanguageModel, options);

    /// <summary>Loads a sentence encoder (a Hugging Face BERT-family folder, e.g. one of <c>slovo models import</c>).</summary>
    public TextEncoder LoadEncoder(string path, Device? device = null, int maxTokens = 256) =>
        Load<TextEncoder>(path, ModelTask.Encoder, new ModelLoadOptions { Device = device ?? Device.CPU, MaxTokens = maxTokens });

    /// <summary>Loads a text classifier of any architecture (a run folder or model file of <c>slovo classify train</c>).</summary>
    public TrainedClassifier LoadClassifier(string path, Device? device = null) =>
        Load<TrainedClassifier>(path, ModelTask.Classifier, new ModelLoadOptions { Device = device ?? Device.CPU });

    private T Load<T>(string path, ModelTask task, ModelLoadOptions options) where T : class, IDisposable
    {
        // A LoRA adapter folder (or a run that trained one) stands for its base model with the adapter attached.
        if (task == ModelTask.LanguageModel && AdapterIn(path) is { } adapterDir)
        {
            if (options.Adapter is not null) throw new ArgumentException($"{Path.GetFullPath(path)} is a LoRA adapter; give its base model as the model and the adapter with --adapter", nameof(path));
            (_, string? baseModel) = LoraAdapter.ReadConfig(adapterDir);
            if (baseModel is null || !(Directory.Exists(baseModel) || File.Exists(baseModel)))
                throw new FileNotFoundException($"{Path.GetFullPath(adapterDir)} is a LoRA adapter whose base model ({baseModel ?? "not named"}) is not here; " +
                                                "give the base model as the model and this folder with --adapter");
            return Load<T>(baseModel, task, options with { Adapter = adapterDir });
        }
        (ModelFamily family, ModelLocation location) = Resolve(path, task);
        if (family.Task != task)
            throw new InvalidDataException($"{Path.GetFullPath(path)} holds a {Describe(family.Task)} ({family.Name}), not a {Describe(task)}; give it where a {Describe(family.Task)} is asked for");
        IDisposable loaded = family.Load(location, options);
        if (options.Adapter is { } adapter)
        {
            try
            {
                if (loaded is not LanguageModel lm) throw new ArgumentException($"--adapter fits language models; {Path.GetFullPath(path)} holds a {Describe(family.Task)}");
                if (lm.Module is not CachedDecoder) throw new ArgumentException($"LoRA adapters fit transformer decoders (GPT-2, the open families); {Path.GetFullPath(path)} holds a {lm.Kind} model");
                lm.AttachAdapter(adapter);
            }
            catch { loaded.Dispose(); throw; }
        }
        return loaded as T ?? throw new InvalidOperationException($"family '{family.Name}' loaded a {loaded.GetType().Name}, not a {typeof(T).Name}");
    }

    /// <summary>The PEFT adapter folder <paramref name="path"/> is (adapter_config.json inside), or holds as a LoRA run
    /// (<c>adapter/</c> and no <c>model/</c>); else null.</summary>
    public static string? AdapterIn(string path)
    {
        if (!Directory.Exists(path)) return null;
        if (File.Exists(Path.Combine(path, LoraAdapter.ConfigFile))) return path;
        string run = Path.Combine(path, RunFolder.AdapterDir);
        return File.Exists(Path.Combine(run, LoraAdapter.ConfigFile)) && !Directory.Exists(Path.Combine(path, RunFolder.ModelDir)) ? run : null;
    }

    private static string Describe(ModelTask task) => task switch
    {
        ModelTask.LanguageModel => "language model", ModelTask.Encoder => "sentence encoder", _ => "text classifier",
    };

    private IEnumerable<string> ModelTypes => _families.SelectMany(f => f.ModelTypes);

    private ModelFamily ByFormat(string file, string? tag) =>
        _families.FirstOrDefault(f => tag is not null && f.Format == tag)
        ?? throw new InvalidDataException($"{file} has format '{tag ?? "none"}', which no Slovo model family reads (it reads {string.Join(", ", _families.Where(f => f.Format is not null).Select(f => f.Format))})");

    private ModelFamily ByModelType(string dir)
    {
        string config = Path.Combine(dir, "config.json");
        string? type = StringField(config, "model_type", "give a Hugging Face model folder");
        if (type is null) throw new InvalidDataException($"{config} has no model_type; give a Hugging Face model folder (model_type {string.Join(", ", ModelTypes)})");
        return _families.FirstOrDefault(f => f.ModelTypes.Contains(type))
               ?? throw new InvalidDataException($"{config}: model_type '{type}' is not one Slovo reads (it reads {string.Join(", ", ModelTypes)})");
    }

    // The format tag of a Slovo model file; quiet: null for a safetensors without one (a Hugging Face weights file).
    private static string? FormatOfModelFile(string file, bool quiet = false)
    {
        IReadOnlyDictionary<string, string> meta;
        try { meta = SafeTensors.ReadMetadata(file); }
        catch (SafeTensorsFormatException e) { throw new InvalidDataException($"{file} is not a readable model file ({e.Message}); give a file written by Slovo", e); }
        string? tag = meta.GetValueOrDefault(ModelArchive.FormatField);
        return quiet && (tag is null || !tag.StartsWith("slovo-", StringComparison.Ordinal)) ? null : tag;
    }

    // A top-level string field of a JSON file (null when absent); a file that is not JSON is an error ending with fix.
    private static string? StringField(string file, string name, string fix)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String
                ? v.GetString() : null;
        }
        catch (JsonException e) { throw new InvalidDataException($"{file} is not valid JSON ({e.Message}); {fix}", e); }
    }
}

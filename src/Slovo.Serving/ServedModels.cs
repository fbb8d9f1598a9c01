using Slovo.Classification;
using Slovo.Encoders;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.Torch;

namespace Slovo.Serving;

/// <summary>
/// The models one server answers with: a language model (completions, chat, tokenize), a sentence encoder (embeddings) and a
/// classifier (classify), each optional but at least one present. Each has an id, the name of the folder or file it came from.
/// Disposing this disposes them.
/// </summary>
public sealed class ServedModels : IDisposable
{
    /// <summary>The language model, or null.</summary>
    public LanguageModel? Generator { get; init; }

    /// <summary>Its id in requests and <c>/v1/models</c>.</summary>
    public string GeneratorId { get; init; } = "";

    /// <summary>The sentence encoder, or null.</summary>
    public TextEncoder? Embedder { get; init; }

    /// <summary>Its id.</summary>
    public string EmbedderId { get; init; } = "";

    /// <summary>The classifier, or null.</summary>
    public TrainedClassifier? Classifier { get; init; }

    /// <summary>Its id.</summary>
    public string ClassifierId { get; init; } = "";

    /// <summary>LoRA adapters on <see cref="Generator"/>, each served under its id as a model of its own (the generator owns them).</summary>
    public IReadOnlyList<(string Id, LoraAdapter Adapter)> Adapters { get; init; } = [];

    /// <summary>
    /// Reads the models from their folders (any of <see cref="LanguageModel.Load"/>'s kinds, a folder of <c>slovo models import</c>,
    /// a run or model file of <c>slovo classify train</c>) onto <paramref name="device"/>. Fails with one line naming a missing path.
    /// </summary>
    public static ServedModels Load(string? model, string? embedder, string? classifier, Device device) => Load(model, embedder, classifier, device, Array.Empty<string>());

    /// <summary>
    /// Reads the models as <see cref="Load(string?, string?, string?, Device)"/> does, and LoRA adapters for the language model, each
    /// served under its own id beside the model: "NAME=DIR", or DIR (its folder's name, a run's for a run's adapter).
    /// </summary>
    public static ServedModels Load(string? model, string? embedder, string? classifier, Device device, IReadOnlyList<string> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        if (adapters.Count > 0 && model is null) throw new ArgumentException("LoRA adapters are served on a language model: give --model BASE");
        var named = new List<(string Id, string Dir)>();
        foreach (string a in adapters)
        {
            int eq = a.IndexOf('=');
            string dir = eq > 0 ? a[(eq + 1)..] : a;
            string id = eq > 0 ? a[..eq] : IdOf(dir);
            if (ModelRegistry.AdapterIn(dir) is not { } found)
                throw new FileNotFoundException($"{Path.GetFullPath(dir)} holds no LoRA adapter (adapter_config.json); give NAME=DIR with a PEFT adapter folder or a run of 'lm train --lora'", dir);
            if (named.Any(n => n.Id == id) || (model is not null && id == IdOf(model)))
                throw new ArgumentException($"two served models are named '{id}'; name the adapters with NAME=DIR");
            named.Add((id, found));
        }
        return LoadNamed(model, embedder, classifier, device, named);
    }

    private static ServedModels LoadNamed(string? model, string? embedder, string? classifier, Device device, List<(string Id, string Dir)> adapters)
    {
        if (model is null && embedder is null && classifier is null) throw new ArgumentException("give at least one of --model, --embedder, --classifier");
        foreach (string? p in new[] { model, embedder, classifier })
            if (p is not null && !Directory.Exists(p) && !File.Exists(p)) throw new FileNotFoundException($"{Path.GetFullPath(p)} does not exist; give a model folder", p);
        LanguageModel? generator = null;
        TextEncoder? encoder = null;
        TrainedClassifier? served = null;
        var loadedAdapters = new List<(string, LoraAdapter)>();
        try
        {
            if (model is not null) generator = ModelRegistry.Default.LoadLanguageModel(model, device);
            foreach ((string id, string dir) in adapters) loadedAdapters.Add((id, generator!.LoadAdapter(dir)));
            if (embedder is not null) encoder = ModelRegistry.Default.LoadEncoder(embedder, device);
            if (classifier is not null) served = ModelRegistry.Default.LoadClassifier(classifier, device);
        }
        catch
        {
            generator?.Dispose();
            encoder?.Dispose();
            served?.Dispose();
            throw;
        }
        return new ServedModels
        {
            Generator = generator, GeneratorId = model is null ? "" : IdOf(model), Adapters = loadedAdapters,
            Embedder = encoder, EmbedderId = embedder is null ? "" : IdOf(embedder),
            Classifier = served, ClassifierId = classifier is null ? "" : IdOf(classifier),
        };
    }

    /// <summary>The id of a model read from <paramref name="path"/>: its folder's name (a run's folder for its model file).</summary>
    public static string IdOf(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full) && Path.GetFileName(full) == "model.safetensors") full = Path.GetDirectoryName(full)!;
        return Path.GetFileName(full);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Generator?.Dispose();
        Embedder?.Dispose();
        Classifier?.Dispose();
    }
}

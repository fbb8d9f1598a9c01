using Slovo.Torch;
using Slovo.Training;

namespace Slovo.Models;

/// <summary>What a loaded model is for.</summary>
public enum ModelTask
{
    /// <summary>Next-token prediction and generation: a <see cref="LanguageModels.LanguageModel"/>.</summary>
    LanguageModel,

    /// <summary>Sentence embeddings: an <see cref="Encoders.TextEncoder"/>.</summary>
    Encoder,

    /// <summary>Text classification: a <see cref="Classification.TrainedClassifier"/>.</summary>
    Classifier,
}

/// <summary>Where the registry found a model's files.</summary>
/// <param name="Path">The path as given.</param>
/// <param name="Weights">The model file, or the folder holding config.json and the weights.</param>
/// <param name="Run">The run folder when the model is a Slovo run's (its vocabulary and training record are read from it).</param>
public sealed record ModelLocation(string Path, string Weights, RunFolder? Run);

/// <summary>How to load: onto which device, and any task-specific limit.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>The device the model runs on.</summary>
    public Device Device { get; init; } = Device.CPU;

    /// <summary>Encoders: tokens per text at most (default 256, at most the model's positions).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>For fine-tuning: every dropout rate of the model set to this (null: the rates its config gives).</summary>
    public double? Dropout { get; init; }

    /// <summary>Decoders: the type the weights are loaded into (float32, bfloat16 or float16), whatever they are stored as.</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Transformer decoders: a PEFT LoRA adapter folder to attach to the model (null: none).</summary>
    public string? Adapter { get; init; }
}

/// <summary>
/// One model family, registered once in <see cref="ModelRegistry"/>: its config record, its module, how its files are
/// recognised (a Hugging Face config.json's <c>model_type</c>, or a Slovo file's format tag), what tokenizer it expects, and
/// how it is loaded (the checkpoint's keys mapped onto the module, in <paramref name="Loader"/>). A new family is one file
/// beside its module that makes one of these, plus one registration line.
/// </summary>
/// <param name="Name">The family's name: "gpt2", "bert", "rnn-lm", ...</param>
/// <param name="Task">What its models are for.</param>
/// <param name="Config">The config record (config.json, or the options inside a Slovo model file).</param>
/// <param name="Module">The module the weights load into.</param>
/// <param name="Tokenizer">The tokenizer it expects, in words (for docs and messages).</param>
/// <param name="Loader">Loads the model at a location; the result's type is the one <paramref name="Task"/> names.</param>
public sealed record ModelFamily(string Name, ModelTask Task, Type Config, Type Module, string Tokenizer, Func<ModelLocation, ModelLoadOptions, IDisposable> Loader)
{
    /// <summary>The config.json <c>model_type</c> values it reads (empty for a family of Slovo files only).</summary>
    public IReadOnlyList<string> ModelTypes { get; init; } = [];

    /// <summary>The format tag of the Slovo file it reads (model.safetensors' or classifier.json's <c>format</c>), or null.</summary>
    public string? Format { get; init; }

    /// <summary>Loads the model at <paramref name="location"/>.</summary>
    public IDisposable Load(ModelLocation location, ModelLoadOptions options) => Loader(location, options);
}

using System.Text.Json;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

/// <summary>GPT-2 as a Hugging Face folder: config.json and model.safetensors read and written key for key.</summary>
public sealed partial class GptModel
{
    /// <summary>Parameters whose Hugging Face (Conv1D) weight is stored transposed relative to <see cref="Linear"/>'s (out, in).</summary>
    private static bool IsConv1D(string key) =>
        key.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal) || key.EndsWith(".attn.c_proj.weight", StringComparison.Ordinal)
        || key.EndsWith(".mlp.c_fc.weight", StringComparison.Ordinal) || key.EndsWith(".mlp.c_proj.weight", StringComparison.Ordinal);

    /// <summary>
    /// Reads a Hugging Face GPT-2 folder (config.json and model.safetensors): keys with or without the "transformer."
    /// prefix, Conv1D weights transposed, the attention-mask buffers of older files skipped, lm_head tied to wte.
    /// </summary>
    public static GptModel FromPretrained(string dir) => FromPretrained(dir, null);

    /// <summary>Reads a Hugging Face GPT-2 folder as <see cref="FromPretrained(string)"/>, with its config first changed by
    /// <paramref name="adjust"/> (e.g. other dropout rates for fine-tuning; the shape must stay).</summary>
    public static GptModel FromPretrained(string dir, Func<GptConfig, GptConfig>? adjust)
    {
        string configPath = Path.Combine(dir, "config.json"), weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"no config.json in {Path.GetFullPath(dir)}; give a Hugging Face GPT-2 folder", configPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"no model.safetensors in {Path.GetFullPath(dir)}; save the model with safe_serialization (the default)", weights);
        GptConfig config;
        try { config = JsonSerializer.Deserialize<GptConfig>(File.ReadAllText(configPath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: not a GPT-2 config ({e.Message})", e); }
        if (config.ModelType != "gpt2") throw new InvalidDataException($"{configPath}: model_type is '{config.ModelType}', not gpt2");
        if (adjust is not null) config = adjust(config);
        // One tensor at a time, straight into the model's own memory (Conv1D weights through one transposed temporary):
        // the load holds the model and one tensor, not a second copy of every weight.
        var model = new GptModel(config);
        try
        {
            Dictionary<string, Tensor> own = model.StateDict();
            var read = new HashSet<string>(StringComparer.Ordinal);
            using (LibTorch.NoGrad())
                SafeTensors.ForEach(weights, entry =>
                {
                    string key = entry.Name, name = key.StartsWith("transformer.", StringComparison.Ordinal) ? key["transformer.".Length..] : key;
                    if (name.EndsWith(".attn.bias", StringComparison.Ordinal) && entry.Shape.Length == 4 || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)) return;
                    if (name == "lm_head.weight" && config.TieWordEmbeddings) return;
                    if (!own.TryGetValue(name, out Tensor? target)) throw new ArgumentException($"unexpected key '{key}'");
                    if (IsConv1D(name))
                    {
                        using Tensor stored = entry.Read();
                        using Tensor transposed = stored.T();
                        if (!transposed.Shape.SequenceEqual(target.Shape))
                            throw new ArgumentException($"'{key}' is [{string.Join(", ", stored.Shape)}] in the file, the model needs [{string.Join(", ", target.Shape.Reverse())}]");
                        target.Copy_(transposed);
                    }
                    else entry.ReadInto(target);
                    read.Add(name);
                });
            List<string> missing = own.Keys.Where(k => !read.Contains(k)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"missing keys: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
            model.Eval();
            return model;
        }
        catch (Exception e) when (e is TorchException or ArgumentException or KeyNotFoundException)
        {
            model.Dispose();
            throw new InvalidDataException($"{weights}: the weights do not fit the config ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>
    /// Writes a folder that Hugging Face transformers loads key for key: config.json and model.safetensors ("transformer."
    /// prefix, Conv1D layout), atomically; <paramref name="tokenizerJson"/>, when given, is copied beside them.
    /// </summary>
    public void SavePretrained(string dir, string? tokenizerJson = null)
    {
        Directory.CreateDirectory(dir);
        using var scope = DisposeScope.Begin();
        var tensors = new Dictionary<string, Tensor>();
        foreach ((string name, Tensor t) in StateDict())
            tensors[name.StartsWith("lm_head.", StringComparison.Ordinal) ? name : "transformer." + name] = IsConv1D(name) ? t.T().Contiguous() : t;
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(Config, Json));
        if (tokenizerJson is not null) File.Copy(tokenizerJson, Path.Combine(dir, "tokenizer.json"), overwrite: true);
    }
}

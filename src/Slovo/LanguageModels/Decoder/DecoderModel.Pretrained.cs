using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

/// <summary>An open decoder as a Hugging Face folder: config.json, generation_config.json, and model.safetensors or shards.</summary>
public sealed partial class DecoderModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Reads config.json and, when present, generation_config.json (its eos ids join the config's).</summary>
    public static DecoderConfig ReadConfig(string dir)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"no config.json in {Path.GetFullPath(dir)}; give a Hugging Face model folder", path);
        JsonObject Read(string file)
        {
            try { return JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new InvalidDataException($"{file}: not a JSON object"); }
            catch (JsonException e) { throw new InvalidDataException($"{file}: not valid JSON ({e.Message})", e); }
        }
        string generation = Path.Combine(dir, "generation_config.json");
        return DecoderConfig.FromHuggingFace(Read(path), File.Exists(generation) ? Read(generation) : null, path);
    }

    /// <summary>The weight files of a folder: model.safetensors, or the shards model.safetensors.index.json names.</summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        string single = Path.Combine(dir, "model.safetensors"), index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(single)) return [single];
        if (!File.Exists(index))
            throw new FileNotFoundException($"neither model.safetensors nor model.safetensors.index.json in {Path.GetFullPath(dir)}; save the model with safe_serialization (the default)", single);
        JsonObject map = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject
                         ?? throw new InvalidDataException($"{index}: no weight_map");
        var files = map.Select(kv => kv.Value?.GetValue<string>() ?? throw new InvalidDataException($"{index}: '{kv.Key}' maps to nothing")).Distinct().ToList();
        foreach (string f in files)
        {
            if (f.Contains('/') || f.Contains('\\') || f.Contains("..", StringComparison.Ordinal)) throw new InvalidDataException($"{index}: shard name '{f}' leaves the folder");
            if (!File.Exists(Path.Combine(dir, f))) throw new FileNotFoundException($"{index} names the shard {f}, which is not in {Path.GetFullPath(dir)}", Path.Combine(dir, f));
        }
        return files.Select(f => Path.Combine(dir, f)).ToList();
    }

    /// <summary>
    /// Reads a Hugging Face folder of one of <see cref="DecoderConfig.ModelTypes"/> into <paramref name="dtype"/>. Tensors are
    /// read one at a time and copied into the model's own (converted on the way), so the peak memory is the model plus its
    /// largest tensor. <paramref name="adjust"/> may change the config first (not its shape).
    /// </summary>
    public static DecoderModel FromPretrained(string dir, ScalarType dtype = ScalarType.Float32, Func<DecoderConfig, DecoderConfig>? adjust = null)
    {
        DecoderConfig config = ReadConfig(dir);
        if (adjust is not null) config = adjust(config);
        IReadOnlyList<string> files = WeightFiles(dir);
        DecoderModel model = ForLoading(config, dtype);
        try
        {
            var loader = model.BeginLoad();
            foreach (string file in files)
                SafeTensors.ForEach(file, entry =>
                {
                    try { loader.Load(entry); }
                    catch (ArgumentException e) { throw new InvalidDataException($"{file}: {e.Message}", e); }
                });
            loader.Finish(dir);
            model.Eval();
            return model;
        }
        catch { model.Dispose(); throw; }
    }

    /// <summary>Fills the parameters from Hugging Face-named tensors one at a time (fused Phi-3 projections split, rotary
    /// buffers and a tied output layer skipped), then checks that every parameter was given.</summary>
    internal Loader BeginLoad() => new(this);

    internal sealed class Loader(DecoderModel model)
    {
        private readonly Dictionary<string, Tensor> _own = model.StateDict();
        private readonly HashSet<string> _seen = [];

        /// <summary>A file's tensor: read straight into the parameter of the same name when it needs no reshaping.</summary>
        public void Load(SafeTensorsEntry entry)
        {
            if (_own.TryGetValue(entry.Name, out Tensor? target) && !(entry.Name == "lm_head.weight" && model.Config.TieEmbeddings))
            {
                entry.ReadInto(target);
                _seen.Add(entry.Name);
                return;
            }
            using Tensor t = entry.Read();
            Load(entry.Name, t);
        }

        public void Load(string key, Tensor t)
        {
            if (key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) return;
            if (key == "lm_head.weight" && model.Config.TieEmbeddings) return;
            DecoderConfig c = model.Config;
            if (key.EndsWith(".self_attn.qkv_proj.weight", StringComparison.Ordinal) || key.EndsWith(".self_attn.qkv_proj.bias", StringComparison.Ordinal))
            {
                string stem = key[..key.IndexOf("qkv_proj", StringComparison.Ordinal)], leaf = key.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
                Tensor[] parts = t.Split([c.Heads * c.HeadDim, c.KvHeads * c.HeadDim, c.KvHeads * c.HeadDim], 0);
                Set(stem + "q_proj." + leaf, parts[0]); Set(stem + "k_proj." + leaf, parts[1]); Set(stem + "v_proj." + leaf, parts[2]);
                foreach (Tensor p in parts) p.Dispose();
                return;
            }
            if (key.EndsWith(".mlp.gate_up_proj.weight", StringComparison.Ordinal) || key.EndsWith(".mlp.gate_up_proj.bias", StringComparison.Ordinal))
            {
                string stem = key[..key.IndexOf("gate_up_proj", StringComparison.Ordinal)], leaf = key.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
                Tensor[] parts = t.Chunk(2, 0);
                Set(stem + "gate_proj." + leaf, parts[0]); Set(stem + "up_proj." + leaf, parts[1]);
                foreach (Tensor p in parts) p.Dispose();
                return;
            }
            Set(key, t);
        }

        public void Set(string name, Tensor source)
        {
            if (!_own.TryGetValue(name, out Tensor? target)) throw new ArgumentException($"unexpected tensor '{name}' for a {model.Config.ModelType} model of this config");
            if (!target.Shape.SequenceEqual(source.Shape))
                throw new ArgumentException($"'{name}' is [{string.Join(", ", source.Shape)}] in the file but [{string.Join(", ", target.Shape)}] in the config");
            using (LibTorch.NoGrad()) target.Copy_(source);
            _seen.Add(name);
        }

        public void Finish(string where)
        {
            var missing = _own.Keys.Where(k => !_seen.Contains(k)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{where}: the weights lack {missing.Count} tensors of the config ({string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")})");
        }
    }

    /// <summary>The tensors under Hugging Face's names for this family (Phi-3's projections fused), for saving.</summary>
    internal Dictionary<string, Tensor> HuggingFaceTensors()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Dictionary<string, Tensor> state = StateDict();
        foreach ((string name, Tensor t) in state)
        {
            if (Config.FusedProjections && (name.Contains(".self_attn.k_proj.", StringComparison.Ordinal) || name.Contains(".self_attn.v_proj.", StringComparison.Ordinal)
                                            || name.Contains(".mlp.up_proj.", StringComparison.Ordinal))) continue;
            if (Config.FusedProjections && name.Contains(".self_attn.q_proj.", StringComparison.Ordinal))
            {
                tensors[name.Replace("q_proj", "qkv_proj", StringComparison.Ordinal)] =
                    Tensor.Cat([t, state[name.Replace("q_proj", "k_proj", StringComparison.Ordinal)], state[name.Replace("q_proj", "v_proj", StringComparison.Ordinal)]], 0);
                continue;
            }
            if (Config.FusedProjections && name.Contains(".mlp.gate_proj.", StringComparison.Ordinal))
            {
                tensors[name.Replace("gate_proj", "gate_up_proj", StringComparison.Ordinal)] = Tensor.Cat([t, state[name.Replace("gate_proj", "up_proj", StringComparison.Ordinal)]], 0);
                continue;
            }
            tensors[name] = t;
        }
        return tensors;
    }

    /// <summary>
    /// Writes a folder that Hugging Face transformers loads: config.json, generation_config.json and model.safetensors, each
    /// atomically. Tokenizer files, when given, are copied beside them.
    /// </summary>
    public void SavePretrained(string dir, params string[] tokenizerFiles)
    {
        Directory.CreateDirectory(dir);
        using (var scope = DisposeScope.Begin())
            SafeTensors.Save(Path.Combine(dir, "model.safetensors"), HuggingFaceTensors(), new Dictionary<string, string> { ["format"] = "pt" });
        JsonObject config = Config.ToHuggingFace();
        config["torch_dtype"] = DType switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(Indented));
        var generation = new JsonObject();
        if (Config.BosTokenId is { } bos) generation["bos_token_id"] = bos;
        if (Config.EosTokenIds.Count > 0) generation["eos_token_id"] = new JsonArray(Config.EosTokenIds.Select(i => (JsonNode)i).ToArray());
        AtomicFile.WriteAllText(Path.Combine(dir, "generation_config.json"), generation.ToJsonString(Indented));
        foreach (string file in tokenizerFiles)
            if (Path.GetFullPath(Path.GetDirectoryName(file)!) != Path.GetFullPath(dir)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

/// <summary>The settings of a <see cref="LoraAdapter"/> (PEFT's LoraConfig fields of the same meaning).</summary>
public sealed record LoraOptions
{
    /// <summary>The rank r of every adapted layer (PEFT: <c>r</c>).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α (PEFT: <c>lora_alpha</c>): the low-rank product is scaled by α / r.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout on each adapted layer's input to the adapter, in training (PEFT: <c>lora_dropout</c>).</summary>
    public double Dropout { get; init; } = 0.05;

    /// <summary>The module names to adapt (PEFT: <c>target_modules</c>): a layer is adapted when its dotted name is one of them or
    /// ends with "." and one of them. Null: <see cref="LoraAdapter.DefaultTargets"/>.</summary>
    public IReadOnlyList<string>? Targets { get; init; }

    /// <summary>Rank-stabilised scaling, α / √r (PEFT: <c>use_rslora</c>).</summary>
    public bool RankStabilized { get; init; }

    /// <summary>The factor on the low-rank product.</summary>
    public double Scale(int rank) => RankStabilized ? Alpha / Math.Sqrt(rank) : Alpha / rank;

    /// <summary>Checks the ranges; returns this.</summary>
    public LoraOptions Validate()
    {
        if (Rank < 1) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "the LoRA rank must be at least 1");
        if (Alpha <= 0 || double.IsNaN(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "lora_alpha must be positive");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "LoRA dropout must be in [0, 1)");
        if (Targets is { Count: 0 }) throw new ArgumentException("give at least one target module", nameof(Targets));
        return this;
    }
}

/// <summary>
/// A LoRA adapter on a transformer decoder (GPT-2 or an open family): a <see cref="LoraLayer"/> on each targeted
/// <see cref="Linear"/>, attached to the model's layers, which keep their own weights. As a module it holds only the adapter's
/// weights, named as the model names its layers (<c>model.layers.0.self_attn.q_proj.lora_A.weight</c>), so an optimizer and a
/// checkpoint over it see nothing of the base model. <see cref="Save"/> writes PEFT's format (adapter_config.json and
/// adapter_model.safetensors with PEFT's key names), which <see cref="Load"/> reads back, as it reads PEFT's own files.
/// </summary>
public sealed class LoraAdapter : Module
{
    /// <summary>PEFT's prefix before a layer's Hugging Face name in adapter_model.safetensors.</summary>
    public const string PeftPrefix = "base_model.model.";

    /// <summary>The adapter's settings file.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The adapter's weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    private readonly List<(string Name, Linear Layer, LoraLayer Adapter)> _layers = new();
    private readonly Dictionary<string, Node> _top = new(StringComparer.Ordinal);
    private bool _attached = true;

    private LoraAdapter(CachedDecoder model, LoraOptions options, string? baseModel)
    {
        Model = model;
        Options = options;
        BaseModel = baseModel;
    }

    /// <summary>The model the adapter is attached to.</summary>
    public CachedDecoder Model { get; }

    /// <summary>The settings.</summary>
    public LoraOptions Options { get; }

    /// <summary>Where the base model was read from (PEFT: <c>base_model_name_or_path</c>), when known.</summary>
    public string? BaseModel { get; }

    /// <summary>The adapted layers by their dotted names in the model.</summary>
    public IReadOnlyList<string> LayerNames => _layers.Select(l => l.Name).ToList();

    /// <summary>PEFT's default targets for the model's family: the fused query-key-value layer of GPT-2 (<c>c_attn</c>), the query
    /// and value projections of the open families (<c>q_proj</c>, <c>v_proj</c>).</summary>
    public static IReadOnlyList<string> DefaultTargets(CachedDecoder model) => model is GptModel ? ["c_attn"] : ["q_proj", "v_proj"];

    /// <summary>The target that stands for every linear layer but the output head (PEFT's <c>"all-linear"</c>), expanded when attached.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The names of the layers an adapter can target in <paramref name="model"/> (each <see cref="Linear"/>'s last name part).</summary>
    public static IReadOnlyList<string> TargetableNames(CachedDecoder model) =>
        Linears(model).Select(l => l.Name[(l.Name.LastIndexOf('.') + 1)..]).Distinct().ToList();

    /// <summary>
    /// Attaches a fresh adapter (A as <see cref="Linear"/> initialises it, B zero: the model's outputs are unchanged) to every
    /// layer of <paramref name="model"/> that <paramref name="options"/> targets, on the model's device, in float32. The random
    /// draws come from the thread's <see cref="RandomGenerator.Current"/>.
    /// </summary>
    public static LoraAdapter Attach(CachedDecoder model, LoraOptions options, string? baseModel = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        IReadOnlyList<string> targets = options.Targets ?? DefaultTargets(model);
        if (targets.Contains(AllLinear))
            targets = targets.Where(t => t != AllLinear).Concat(TargetableNames(model).Where(t => t != "lm_head")).Distinct().ToList();
        var adapter = new LoraAdapter(model, options with { Targets = targets }, baseModel);
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, Linear layer) in Linears(model))
        {
            string? target = targets.FirstOrDefault(t => name == t || name.EndsWith("." + t, StringComparison.Ordinal));
            if (target is null) continue;
            matched.Add(target);
            adapter.Add(name, layer, options.Rank, options.Scale(options.Rank));
        }
        var unknown = targets.Where(t => !matched.Contains(t)).ToList();
        if (unknown.Count > 0)
        {
            adapter.Detach();
            throw new ArgumentException($"no layer of this {model.Kind} model is named {string.Join(", ", unknown)}; " +
                                        $"its layers are {string.Join(", ", TargetableNames(model))}", nameof(options));
        }
        adapter.To(model.Device);
        return adapter;
    }

    /// <summary>
    /// Reads a PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors) and attaches it to
    /// <paramref name="model"/>. Each adapted layer's rank is read from its weights (PEFT's rank_pattern); features this
    /// reader does not apply (DoRA, adapted biases, modules_to_save, alpha_pattern) are refused by name.
    /// </summary>
    public static LoraAdapter Load(string dir, CachedDecoder model)
    {
        ArgumentNullException.ThrowIfNull(model);
        (LoraOptions options, string? baseModel) = ReadConfig(dir);
        string weights = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weights))
            throw new FileNotFoundException($"no {WeightsFile} in {Path.GetFullPath(dir)}; a PEFT adapter folder holds {ConfigFile} and {WeightsFile}", weights);
        var byHfName = Linears(model).ToDictionary(l => model.HuggingFaceName(l.Name), StringComparer.Ordinal);
        var tensors = new Dictionary<string, (Tensor? A, Tensor? B)>(StringComparer.Ordinal);
        try
        {
            SafeTensors.ForEach(weights, entry =>
            {
                string key = entry.Name.StartsWith(PeftPrefix, StringComparison.Ordinal) ? entry.Name[PeftPrefix.Length..] : entry.Name;
                key = key.Replace(".lora_A.default.", ".lora_A.", StringComparison.Ordinal).Replace(".lora_B.default.", ".lora_B.", StringComparison.Ordinal);
                bool isA = key.EndsWith(".lora_A.weight", StringComparison.Ordinal), isB = key.EndsWith(".lora_B.weight", StringComparison.Ordinal);
                if (!isA && !isB)
                    throw new InvalidDataException($"{weights}: '{entry.Name}' is not a LoRA weight (lora_A or lora_B); adapters with other trained tensors are not supported");
                string layer = key[..^".lora_A.weight".Length];
                if (!byHfName.ContainsKey(layer))
                    throw new InvalidDataException($"{weights}: '{entry.Name}' names no linear layer of this {model.Kind} model; was the adapter trained on another base?");
                (Tensor? a, Tensor? b) = tensors.GetValueOrDefault(layer);
                Tensor t = entry.Read().DetachFromScope();
                tensors[layer] = isA ? (t, b) : (a, t);
            });
            if (tensors.Count == 0) throw new InvalidDataException($"{weights} holds no LoRA weights");
            var adapter = new LoraAdapter(model, options, baseModel);
            foreach ((string hf, (Tensor? a, Tensor? b)) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (a is null || b is null) throw new InvalidDataException($"{weights}: '{hf}' has only lora_{(a is null ? "B" : "A")}");
                (string name, Linear linear) = byHfName[hf];
                int rank = checked((int)a.Size(0));
                if (a.Dim != 2 || b.Dim != 2 || b.Size(1) != rank || a.Size(1) != linear.Weight.Size(1) || b.Size(0) != linear.Weight.Size(0))
                {
                    adapter.Detach();
                    throw new InvalidDataException($"{weights}: '{hf}' has lora_A [{string.Join(", ", a.Shape)}] and lora_B [{string.Join(", ", b.Shape)}], " +
                                                   $"which do not fit the layer's [{linear.Weight.Size(0)}, {linear.Weight.Size(1)}]; was the adapter trained on another base?");
                }
                LoraLayer layer = adapter.Add(name, linear, rank, options.Scale(rank));
                using (LibTorch.NoGrad())
                {
                    layer.A.Copy_(a);
                    layer.B.Copy_(b);
                }
            }
            adapter.To(model.Device);
            return adapter;
        }
        finally
        {
            foreach ((Tensor? a, Tensor? b) in tensors.Values) { a?.Dispose(); b?.Dispose(); }
        }
    }

    /// <summary>Reads adapter_config.json: the settings and the base model's path, refusing what is not a LoRA adapter this reader applies.</summary>
    public static (LoraOptions Options, string? BaseModel) ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"no {ConfigFile} in {Path.GetFullPath(dir)}; give a PEFT adapter folder (written by 'slovo lm train --lora' or PEFT's save_pretrained)", path);
        JsonObject c;
        try { c = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not JSON ({e.Message})", e); }
        string? type = c["peft_type"]?.GetValue<string>();
        if (type is not null && type != "LORA") throw new InvalidDataException($"{path}: peft_type is {type}; only LORA adapters are supported");
        if (c["use_dora"]?.GetValue<bool>() == true) throw new InvalidDataException($"{path}: use_dora is true; DoRA adapters are not supported");
        if (c["bias"]?.GetValue<string>() is { } bias && bias != "none") throw new InvalidDataException($"{path}: bias is '{bias}'; only adapters that train no biases (\"none\") are supported");
        if (c["modules_to_save"] is JsonArray { Count: > 0 }) throw new InvalidDataException($"{path}: modules_to_save is set; adapters that also train whole modules are not supported");
        if (c["alpha_pattern"] is JsonObject { Count: > 0 }) throw new InvalidDataException($"{path}: alpha_pattern is set; per-layer alphas are not supported");
        IReadOnlyList<string>? targets = c["target_modules"] switch
        {
            JsonArray a => a.Select(n => n!.GetValue<string>()).ToList(),
            JsonValue v => [v.GetValue<string>()],
            _ => null,
        };
        var options = new LoraOptions
        {
            Rank = c["r"]?.GetValue<int>() ?? 8,
            Alpha = c["lora_alpha"]?.GetValue<double>() ?? 8,
            Dropout = c["lora_dropout"]?.GetValue<double>() ?? 0,
            Targets = targets,
            RankStabilized = c["use_rslora"]?.GetValue<bool>() ?? false,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
        return (options, c["base_model_name_or_path"]?.GetValue<string>());
    }

    /// <summary>
    /// Writes the adapter as PEFT does (save_pretrained): adapter_config.json and adapter_model.safetensors, the weights as float32
    /// under <c>base_model.model.</c> + the layer's Hugging Face name, each file atomically.
    /// </summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        using var scope = DisposeScope.Begin();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string name, _, LoraLayer layer) in _layers)
        {
            string key = PeftPrefix + Model.HuggingFaceName(name);
            tensors[key + ".lora_A.weight"] = layer.A.To(ScalarType.Float32).Contiguous();
            tensors[key + ".lora_B.weight"] = layer.B.To(ScalarType.Float32).Contiguous();
        }
        SafeTensors.Save(Path.Combine(dir, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = BaseModel,
            ["r"] = Options.Rank,
            ["lora_alpha"] = Options.Alpha,
            ["lora_dropout"] = Options.Dropout,
            ["target_modules"] = new JsonArray((Options.Targets ?? DefaultTargets(Model)).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = Model is GptModel, // GPT-2's Conv1D layers store their weights transposed; the adapter's shapes are the same
            ["use_rslora"] = Options.RankStabilized,
            ["use_dora"] = false,
            ["modules_to_save"] = null,
            ["init_lora_weights"] = true,
            ["inference_mode"] = true,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Copies the adapter's weights from <paramref name="dir"/> (a folder this adapter's <see cref="Save"/> wrote) into this adapter.</summary>
    public void LoadWeights(string dir)
    {
        using LoraAdapter saved = Load(dir, Model);
        try
        {
            var theirs = saved._layers.ToDictionary(l => l.Name, l => l.Adapter, StringComparer.Ordinal);
            using var noGrad = LibTorch.NoGrad();
            foreach ((string name, _, LoraLayer mine) in _layers)
            {
                if (!theirs.TryGetValue(name, out LoraLayer? other)) throw new InvalidDataException($"{dir} has no adapter for '{name}'");
                mine.A.Copy_(other.A);
                mine.B.Copy_(other.B);
            }
        }
        finally { saved.Detach(); }
    }

    /// <summary>Folds the adapter into the model's weights (W += s · B A on each layer) and detaches it: the model alone then computes
    /// what it computed with the adapter.</summary>
    public void Merge()
    {
        ObjectDisposedException.ThrowIf(!_attached, this);
        foreach ((_, Linear linear, LoraLayer layer) in _layers) linear.Merge(layer);
        _attached = false;
    }

    /// <summary>Detaches the adapter from the model's layers (the model computes as it did without it).</summary>
    public void Detach()
    {
        if (!_attached) return;
        foreach ((_, Linear linear, LoraLayer layer) in _layers) linear.Detach(layer);
        _attached = false;
    }

    /// <summary>Applies this adapter (and no other) to the model on this thread until the scope ends; see <see cref="LoraLayer.Select"/>.</summary>
    public LoraLayer.SelectionScope Use() => LoraLayer.Select(this);

    /// <inheritdoc />
    /// <remarks>The model it is attached to changes mode with it (its dropout and the adapter's act together).</remarks>
    public override Module Train(bool on = true)
    {
        base.Train(on);
        Model.Train(on);
        return this;
    }

    /// <inheritdoc />
    public override bool DrawsFromGlobalGenerator => Model.DrawsFromGlobalGenerator;

    /// <summary>Freezes every weight of the model (they get no gradients): only adapters train.</summary>
    public static void FreezeBase(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (Tensor p in model.Parameters()) p.RequiresGrad = false;
    }

    private LoraLayer Add(string name, Linear linear, int rank, double scale)
    {
        var layer = new LoraLayer(linear.Weight.Size(1), linear.Weight.Size(0), rank, scale, Options.Dropout, this);
        string[] parts = name.Split('.');
        if (parts.Length == 1) RegisterModule(name, layer);
        else
        {
            if (!_top.TryGetValue(parts[0], out Node? node)) _top[parts[0]] = node = RegisterModule(parts[0], new Node());
            for (int i = 1; i < parts.Length - 1; ++i) node = node.Child(parts[i]);
            node.Put(parts[^1], layer);
        }
        linear.Attach(layer);
        _layers.Add((name, linear, layer));
        return layer;
    }

    /// <summary>The adapter's weights named as PEFT names them (without the <c>base_model.model.</c> prefix): the Hugging Face name
    /// of each layer, then <c>.lora_A.weight</c> or <c>.lora_B.weight</c>.</summary>
    public Dictionary<string, Tensor> PeftStateDict() =>
        _layers.SelectMany(l => new[] { (Model.HuggingFaceName(l.Name) + ".lora_A.weight", l.Adapter.A), (Model.HuggingFaceName(l.Name) + ".lora_B.weight", l.Adapter.B) })
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);

    private static IEnumerable<(string Name, Linear Layer)> Linears(Module module, string prefix = "")
    {
        foreach ((string name, Module child) in module.NamedChildren())
        {
            string full = prefix.Length == 0 ? name : prefix + "." + name;
            if (child is Linear linear) yield return (full, linear);
            else foreach (var inner in Linears(child, full)) yield return inner;
        }
    }

    /// <summary>A description for logs: rank, α, targets and the trainable count.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"LoRA r={Options.Rank}, alpha={Options.Alpha}, dropout={Options.Dropout}, targets {string.Join(",", Options.Targets ?? [])}, " +
                                                    $"{_layers.Count} layers, {ParameterCount():N0} parameters");

    // The adapter's modules laid out as the model's are, so that their names are the model's layer names.
    private sealed class Node : Module
    {
        private readonly Dictionary<string, Node> _children = new(StringComparer.Ordinal);

        public Node Child(string name)
        {
            if (!_children.TryGetValue(name, out Node? child)) _children[name] = child = RegisterModule(name, new Node());
            return child;
        }

        public void Put(string name, Module module) => RegisterModule(name, module);
    }
}

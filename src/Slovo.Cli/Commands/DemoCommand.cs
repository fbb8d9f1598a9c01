using System.CommandLine;
using System.Text;
using Slovo.Cli.CommandLine;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;

namespace Slovo.Cli.Commands;

/// <summary>
/// `slovo demo`: a preset of `slovo lm train` + `slovo lm generate`: a character-level LSTM language model on the shipped
/// Pushkin poems (texts of 8 lines), trained by <see cref="LmTrainer"/> (validation, atomic checkpoints, exact --resume,
/// TensorBoard, summary.json), then a sample from <see cref="Generator"/>. The run folder is an ordinary LM run: `slovo lm
/// generate --model runs/demo` and `slovo plot --run runs/demo` read it.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var data = Opt.Path("--data", "a UTF-8 text, one line per verse", () => SharedData.Data("pushkin", "pushkin.txt"), "FILE");
        var linesPerText = Opt.Int("--lines-per-text", "consecutive lines joined into one training text", 8, min: 1);
        var output = Opt.Text("--out", "run folder (the files of 'slovo lm train')", "runs/demo", "DIR");
        var set = new LmCommand.TrainingOptionSet(new LmCommand.TrainingDefaults(Emb: 32, Hidden: 256, Layers: 1, Dropout: 0.1, Epochs: 3, Batch: 32, Bptt: 200,
                                                                                Lr: 0.003, CheckpointEvery: 20));
        var seed = Opt.Int("--seed", "seed of the split, initialisation, batches, dropout and sampling", 1, min: 0);
        var prompt = Opt.Text("--prompt", "start of the sample", "Я помню ");
        var sampleLength = Opt.Int("--sample-len", "characters to sample (0: none)", 300, min: 0);
        var temperature = Opt.Double("--temperature", "sampling temperature", 0.8, min: 1e-6);
        var resume = Opt.Flag("--resume", "continue the run in --out exactly where it stopped");
        var command = new Command("demo", "Train a character-level LSTM language model on a text (default: the shipped Pushkin poems) and sample a poem from it.")
            .With([data, linesPerText, output, .. set.All, seed, prompt, sampleLength, temperature, resume]);
        command.SetAction(p =>
        {
            Slovo.Torch.Device device = Opt.ResolveDevice(p.GetValue(set.Device));
            string outDir = p.GetValue(output)!;
            List<string> texts = Corpus.JoinLines(Corpus.ReadLines(p.GetValue(data)!), p.GetValue(linesPerText));
            if (texts.Count < 2) throw new InvalidDataException($"{p.GetValue(data)} holds too few lines for a training and a validation text; give a longer --data");
            LmTrainingOptions training = set.Training(p, p.GetValue(seed), patience: 0);
            var choices = new LmCommand.TrainChoices("char", MinCount: 1, MaxVocab: int.MaxValue, Tokenizer: null, BpeSize: 0, "lstm", p.GetValue(set.Emb),
                p.GetValue(set.Hidden), p.GetValue(set.Layers), p.GetValue(set.Dropout), Tie: false, Glove: null, Freeze: false, p.GetValue(set.Threads), outDir,
                p.GetValue(resume), device);
            int code = LmCommand.Train(texts, lowercase: false, validFraction: 0.05, training, choices);
            if (code != 0 || p.GetValue(sampleLength) == 0) return code;
            Console.WriteLine($"\nsample (temperature {p.GetValue(temperature)}):");
            var sampling = new GenerationOptions { MaxTokens = p.GetValue(sampleLength), MinTokens = p.GetValue(sampleLength), Temperature = p.GetValue(temperature), Seed = p.GetValue(seed) };
            return LmCommand.Generate(outDir, [p.GetValue(prompt)!], sampling, samples: 1, prettify: false, stream: false, choices.On);
        });
        return command;
    }
}

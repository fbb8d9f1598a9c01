using System.CommandLine;
using Slovo.Cli.CommandLine;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;

namespace Slovo.Cli.Commands;

/// <summary>
/// `slovo demo`: a preset of `slovo lm train` + `slovo lm generate`: a character-level LSTM language model on the shipped
/// Pushkin poems (texts of 8 lines), trained by <see cref="RecurrentLmTrainer"/> (validation, atomic checkpoints, exact --resume,
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
        var shape = new LmCommand.ShapeOptions(new LmCommand.ShapeDefaults(Emb: 32, Hidden: 256, Layers: 1, Dropout: 0.1, Bptt: 200));
        var preset = new RecurrentLmTrainingOptions { Epochs = 3, LearningRate = 0.003, CheckpointEvery = 20, Patience = 0 };
        var set = new TrainingOptionSet([("demo", preset)], "--epochs", "--batch", "--lr", "--min-lr", "--schedule", "--warmup", "--clip", "--patience",
                                        "--checkpoint-every", "--precision", "--threads", "--device");
        var seed = Opt.Int("--seed", "seed of the split, initialisation, batches, dropout and sampling", 1, min: 0);
        var prompt = Opt.Text("--prompt", "start of the sample", "Я помню ");
        var sampleLength = Opt.Int("--sample-len", "characters to sample (0: none)", 300, min: 0);
        var temperature = Opt.Double("--temperature", "sampling temperature", 0.8, min: 1e-6);
        var resume = Opt.Flag("--resume", "continue the run in --out exactly where it stopped");
        var command = new Command("demo", "Train a character-level LSTM language model on a text (default: the shipped Pushkin poems) and sample a poem from it.")
            .With([data, linesPerText, output, .. shape.All, .. set.All, seed, prompt, sampleLength, temperature, resume]);
        command.SetAction(p =>
        {
            string outDir = p.GetValue(output)!;
            List<string> texts = Corpus.JoinLines(Corpus.ReadLines(p.GetValue(data)!), p.GetValue(linesPerText));
            if (texts.Count < 2) throw new InvalidDataException($"{p.GetValue(data)} holds too few lines for a training and a validation text; give a longer --data");
            RecurrentLmTrainingOptions training = set.Bind(p, preset with { Seed = p.GetValue(seed), Bptt = p.GetValue(shape.Bptt) });
            var choices = new LmCommand.TrainChoices
            {
                Level = "char", Kind = "lstm", Emb = p.GetValue(shape.Emb), Hidden = p.GetValue(shape.Hidden), Layers = p.GetValue(shape.Layers),
                Dropout = p.GetValue(shape.Dropout), Out = outDir, Resume = p.GetValue(resume),
            };
            int code = LmCommand.Train(texts, lowercase: false, validFraction: 0.05, training, choices);
            if (code != 0 || p.GetValue(sampleLength) == 0) return code;
            Console.WriteLine($"\nsample (temperature {p.GetValue(temperature)}):");
            var sampling = new GenerationOptions { MaxTokens = p.GetValue(sampleLength), MinTokens = p.GetValue(sampleLength), Temperature = p.GetValue(temperature), Seed = p.GetValue(seed) };
            return LmCommand.Generate(outDir, [p.GetValue(prompt)!], sampling, samples: 1, prettify: false, stream: false, training.Device ?? Slovo.Torch.Device.CPU);
        });
        return command;
    }
}

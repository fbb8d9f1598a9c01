using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Torch;

// The `slovo` command line.
const string Usage = """
    usage: slovo <command> [options]

    commands:
      info       show the libtorch version, threads and devices
      tokenizer  train, encode with, decode with, and measure subword tokenizers (tokenizer.json)
      vectors    query and convert word vectors (word2vec, GloVe)
      lm         train, evaluate and sample from word-, char- or subword-level RNN/LSTM/GRU language models
      classify   train, evaluate and apply text classifiers (CNN, RNN, LSTM variants; IMDb by default)
      demo       train a character-level LSTM language model on a text file (default: the shipped
                 Pushkin poems), with validation, atomic checkpoints and --resume, then sample from it

    run 'slovo <command> --help' for a command's options
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 1 : 0;
}

string command = args[0];
string[] rest = args[1..];
try
{
    return command switch
    {
        "info" => InfoCommand.Run(rest),
        "demo" => DemoCommand.Run(rest),
        "tokenizer" => TokenizerCommand.Run(rest),
        "vectors" => VectorsCommand.Run(rest),
        "lm" => LmCommand.Run(rest),
        "classify" => ClassifyCommand.Run(rest),
        _ => throw new UsageException($"unknown command '{command}'"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"slovo {command}: {e.Message}");
    Console.Error.WriteLine(command switch { "demo" => DemoCommand.Usage, "tokenizer" => TokenizerCommand.Usage, "vectors" => VectorsCommand.Usage, "lm" => LmCommand.Usage, "classify" => ClassifyCommand.Usage, _ => Usage });
    return 2;
}
catch (TorchNotFoundException e)
{
    Console.Error.WriteLine($"slovo: {e.Message}");
    return 3;
}
catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException or TorchException
                              or Slovo.Torch.Serialization.SafeTensorsFormatException or ArgumentException)
{
    Console.Error.WriteLine($"slovo {command}: {e.Message}");
    return 1;
}

using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.Json;
using Slovo.Cli.Commands;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli;

/// <summary>
/// The <c>slovo</c> command tree and its one error contract. Exit codes: 0 done, 1 the work failed (a bad file, a
/// libtorch error: one line naming the file and the fix), 2 a usage mistake (unknown command or option, with typo
/// suggestions; a value out of range; options that do not go together).
/// </summary>
public static class SlovoCli
{
    /// <summary>Exit code of a failure while working.</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command-line mistake.</summary>
    public const int Usage = 2;

    /// <summary>The whole command tree.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Slovo: NLP on libtorch from .NET. Train tokenizers, language models and classifiers, query word vectors, generate text.");
        root.HelpName = "slovo";
        root.Add(InfoCommand.Create());
        root.Add(TokenizerCommand.Create());
        root.Add(VectorsCommand.Create());
        root.Add(LmCommand.Create());
        root.Add(ChatCommand.Create());
        root.Add(ClassifyCommand.Create());
        root.Add(EvalCommand.Create());
        root.Add(ModelsCommand.Create());
        root.Add(ModelsCommand.EmbedCommand());
        root.Add(RankCommand.Create());
        root.Add(ServeCommand.Create());
        root.Add(DistCommand.LaunchCommand());
        root.Add(DistCommand.CheckCommand());
        root.Add(PlotCommand.Create());
        root.Add(DemoCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code. Output goes to <see cref="Console.Out"/> and <see cref="Console.Error"/>.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        ParseResult parse = Build().Parse(args);
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = Console.Out, Error = Console.Error };
        string where = CommandPath(parse.CommandResult);
        if (parse.Errors.Count > 0)
        {
            // A group command given no subcommand shows its help; any other mistake shows the errors, typo suggestions included.
            if (parse.Action is ParseErrorAction action) action.ShowHelp = parse.CommandResult.Command.Subcommands.Count > 0 && parse.Errors.All(e => e.SymbolResult is CommandResult);
            parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = Console.Error, Error = Console.Error });
            Console.Error.WriteLine($"run '{where} --help' for the options");
            return Usage;
        }
        try
        {
            return parse.Invoke(config);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"{where}: {e.Message}");
            Console.Error.WriteLine($"run '{where} --help' for the options");
            return Usage;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"{where}: {OneLine(e)}");
            return Failure;
        }
    }

    /// <summary>Failures a user can cause (bad or missing files, libtorch refusing an input), reported in one line without a stack trace.</summary>
    internal static bool IsUserError(Exception e) => e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException
        or TorchException or TorchNotFoundException or SafeTensorsFormatException or ArgumentException or JsonException or FormatException;

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Command is RootCommand ? "slovo" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}

/// <summary>A mistake in the command line found while running (options that do not go together); exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

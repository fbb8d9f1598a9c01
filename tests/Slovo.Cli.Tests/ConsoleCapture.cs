namespace Slovo.Cli.Tests;

/// <summary>Runs a command with standard output captured (tests in the "cli" collection run one at a time).</summary>
internal static class ConsoleCapture
{
    public static string Run(Func<int> command, out int code)
    {
        TextWriter old = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try { code = command(); }
        finally { Console.SetOut(old); }
        return sw.ToString();
    }
}

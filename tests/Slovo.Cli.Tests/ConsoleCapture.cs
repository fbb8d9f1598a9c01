namespace Slovo.Cli.Tests;

/// <summary>
/// Runs the whole `slovo` command line in-process (parser, error contract and exit codes included) with standard output
/// and error captured. Tests in the "cli" collection run one at a time, since the console is shared.
/// </summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        int code;
        try { code = SlovoCli.Run(args); }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Standard output of a run; <paramref name="code"/> is its exit code.</summary>
    public static string Capture(string[] args, out int code)
    {
        (code, string output, string error) = Run(args);
        if (code != 0) Console.Error.WriteLine(error);
        return output;
    }

    /// <summary>Runs a command that must succeed; returns its standard output.</summary>
    public static string Ok(params string[] args)
    {
        (int code, string output, string error) = Run(args);
        Assert.True(code == 0, $"slovo {string.Join(' ', args)} exited {code}: {error}");
        return output;
    }

    /// <summary>
    /// Runs a command that must fail with <paramref name="code"/> (1: the work failed, 2: a usage mistake) and a short
    /// message without a stack trace; returns standard error.
    /// </summary>
    public static string Fails(int code, params string[] args)
    {
        (int actual, _, string error) = Run(args);
        Assert.True(actual == code, $"slovo {string.Join(' ', args)} exited {actual}, expected {code}: {error}");
        Assert.DoesNotContain("   at ", error);             // no stack trace
        Assert.DoesNotContain("Exception", error);          // no exception type names
        return error;
    }
}

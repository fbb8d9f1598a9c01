using System.Globalization;

namespace Slovo.Cli;

/// <summary>Parses "--name value" and "--flag" arguments; every option must be known, every value well-formed.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private Options() { }

    /// <summary>Parses <paramref name="args"/>; <paramref name="flags"/> are the options that take no value.</summary>
    public static Options Parse(IReadOnlyList<string> args, IReadOnlySet<string> flags)
    {
        var o = new Options();
        for (int i = 0; i < args.Count; ++i)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
                throw new UsageException($"unexpected argument '{a}'; options look like --name value");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (!flags.Contains(name))
            {
                if (i + 1 >= args.Count) throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            o._values[name] = value;
        }
        return o;
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _values.ContainsKey(name);
    }

    public string String(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out string? v) && v is not null ? v : fallback;
    }

    public int Int(string name, int fallback, int min = int.MinValue)
    {
        string s = String(name, fallback.ToString(CultureInfo.InvariantCulture));
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"--{name} must be an integer, got '{s}'");
        if (v < min) throw new UsageException($"--{name} must be at least {min}, got {v}");
        return v;
    }

    public double Double(string name, double fallback, double min = double.NegativeInfinity)
    {
        string s = String(name, fallback.ToString("R", CultureInfo.InvariantCulture));
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || double.IsNaN(v))
            throw new UsageException($"--{name} must be a number, got '{s}'");
        if (v < min) throw new UsageException($"--{name} must be at least {min}, got {v}");
        return v;
    }

    /// <summary>Fails on any option the command did not ask for (typos included).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>A mistake in the command line; printed with the command's usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

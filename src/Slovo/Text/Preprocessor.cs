using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Slovo.Text;

/// <summary>
/// The course's question preprocessing: HTML removed (known tags dropped, entities decoded), lower-cased, the separators
/// <c>/(){}[]|@,;</c> turned into spaces, other characters outside letters, digits and <c> #+_</c> removed,
/// stopwords and words shorter than <see cref="MinWordLength"/> dropped. Letters of any script are kept (Russian too).
/// </summary>
public sealed partial class Preprocessor
{
    private readonly HashSet<string> _stopwords;

    /// <summary>Words shorter than this are dropped.</summary>
    public int MinWordLength { get; init; } = 1;

    /// <summary>Whether HTML tags are removed and entities decoded first.</summary>
    public bool StripHtml { get; init; } = true;

    /// <summary>Creates a preprocessor with the given stopwords (compared after lower-casing).</summary>
    public Preprocessor(IEnumerable<string>? stopwords = null) =>
        _stopwords = new HashSet<string>((stopwords ?? []).Select(w => w.Trim().ToLowerInvariant()).Where(w => w.Length > 0), StringComparer.Ordinal);

    /// <summary>Reads a stopword list: one word per line (UTF-8), blank lines and # comments ignored.</summary>
    public static IReadOnlyList<string> LoadStopwords(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"stopword file not found: {Path.GetFullPath(path)}", path);
        return File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
    }

    // Real HTML tags only, so that code such as vector<int> keeps its text.
    [GeneratedRegex(@"</?(?:p|a|b|i|u|s|em|strong|code|pre|br|hr|div|span|ul|ol|li|blockquote|h[1-6]|img|table|thead|tbody|tr|td|th|sup|sub|strike|del|ins|kbd|dl|dt|dd)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex Tags();

    /// <summary>The words of <paramref name="text"/> after preprocessing.</summary>
    public IReadOnlyList<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (StripHtml) text = WebUtility.HtmlDecode(Tags().Replace(text, " "));
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
        {
            if ("/(){}[]|@,;".Contains(c)) sb.Append(' ');
            else if (char.IsLetterOrDigit(c) || c is ' ' or '#' or '+' or '_') sb.Append(c);
            else if (char.IsWhiteSpace(c)) sb.Append(' ');
        }
        return sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length >= MinWordLength && !_stopwords.Contains(w)).ToList();
    }

    /// <summary>The preprocessed text (words joined by single spaces).</summary>
    public string Process(string text) => string.Join(' ', Words(text));
}

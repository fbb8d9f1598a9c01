using System.Text;

namespace Slovo.Text;

/// <summary>
/// Makes space-separated model output read like prose: no space before closing punctuation or after opening brackets,
/// hyphens and apostrophes joined, sentences capitalised.
/// </summary>
public static class Prettifier
{
    private static readonly HashSet<string> Closing = [".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "...", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m"];
    private static readonly HashSet<string> Opening = ["(", "[", "{", "$"];
    private static readonly HashSet<string> Joining = ["-", "/", "'"];

    /// <summary>Detokenizes <paramref name="text"/> (tokens separated by spaces) and capitalises sentence starts.</summary>
    public static string Prettify(string text)
    {
        string[] tokens = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var sb = new StringBuilder(text.Length);
        bool capitalize = true, glueNext = true;
        foreach (string raw in tokens)
        {
            string token = raw;
            if (capitalize && char.IsLetter(token[0]))
            {
                token = char.ToUpperInvariant(token[0]) + token[1..];
                capitalize = false;
            }
            bool glue = glueNext || Closing.Contains(token) || Joining.Contains(token) || IsPunctuationRun(token, ".,;:!?");
            if (!glue) sb.Append(' ');
            sb.Append(token);
            glueNext = Opening.Contains(token) || Joining.Contains(token);
            if (token.EndsWith('.') || token.EndsWith('!') || token.EndsWith('?')) capitalize = true;
        }
        return sb.ToString();
    }

    private static bool IsPunctuationRun(string token, string chars) => token.All(c => chars.Contains(c));
}

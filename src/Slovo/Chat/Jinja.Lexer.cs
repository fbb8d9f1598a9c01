using System.Text;
using System.Text.RegularExpressions;

namespace Slovo.Chat;

/// <summary>A template construct the interpreter cannot read or run; the message names the template line.</summary>
public sealed class TemplateException(string message) : Exception(message);

internal enum TokenKind { Text, Name, String, Integer, Float, Operator, OpenExpression, CloseExpression, OpenStatement, CloseStatement, End }

internal sealed record Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a Jinja template into text and tag tokens, with the whitespace rules chat templates are rendered under:
/// trim_blocks (the newline after a block tag goes), lstrip_blocks (spaces and tabs before a block tag on its line go), the
/// template's final newline dropped, and "-" markers eating the whitespace on their side.
/// </summary>
internal static partial class JinjaLexer
{
    [GeneratedRegex(@"-%}\s*|-#}\s*|-}}\s*")]
    private static partial Regex TrimAfter();

    public static List<Token> Tokenize(string source)
    {
        if (source.EndsWith('\n')) source = source[..^1];
        var tokens = new List<Token>();
        int i = 0, line = 1;
        var text = new StringBuilder();
        int textLine = 1;
        void FlushText()
        {
            if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text.ToString(), textLine));
            text.Clear();
        }
        while (i < source.Length)
        {
            if (source[i] == '{' && i + 1 < source.Length && source[i + 1] is '{' or '%' or '#')
            {
                char kind = source[i + 1];
                bool trimLeft = i + 2 < source.Length && source[i + 2] == '-';
                // lstrip_blocks: a block or comment tag alone after indentation takes the indentation away.
                if (trimLeft) TrimEndWhitespace(text);
                else if (kind is '%' or '#') StripIndentation(text);
                FlushText();
                int start = i + (trimLeft ? 3 : 2);
                string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
                if (kind == '#')
                {
                    int endComment = source.IndexOf(close, start, StringComparison.Ordinal);
                    if (endComment < 0) throw new TemplateException($"line {line}: a comment is never closed with #}}");
                    bool trimRightC = source[endComment - 1] == '-';
                    line += Count(source, i, endComment + 2);
                    i = endComment + 2;
                    i = AfterTag(source, i, trimRightC, trimBlock: true, ref line);
                    textLine = line;
                    continue;
                }
                tokens.Add(new Token(kind == '{' ? TokenKind.OpenExpression : TokenKind.OpenStatement, "", line));
                (int end, bool trimRight) = LexTag(source, start, close, tokens, ref line);
                tokens.Add(new Token(kind == '{' ? TokenKind.CloseExpression : TokenKind.CloseStatement, "", line));
                i = AfterTag(source, end, trimRight, trimBlock: kind == '%', ref line);
                textLine = line;
                continue;
            }
            if (text.Length == 0) textLine = line;
            if (source[i] == '\n') ++line;
            text.Append(source[i++]);
        }
        FlushText();
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    private static int Count(string s, int from, int to)
    {
        int n = 0;
        for (int k = from; k < to && k < s.Length; ++k) if (s[k] == '\n') ++n;
        return n;
    }

    // After a tag: "-" eats all whitespace; trim_blocks eats one newline after a block tag.
    private static int AfterTag(string source, int i, bool trimRight, bool trimBlock, ref int line)
    {
        if (trimRight)
        {
            while (i < source.Length && char.IsWhiteSpace(source[i])) { if (source[i] == '\n') ++line; ++i; }
            return i;
        }
        if (trimBlock && i < source.Length && source[i] == '\n') { ++line; ++i; }
        else if (trimBlock && i + 1 < source.Length && source[i] == '\r' && source[i + 1] == '\n') { ++line; i += 2; }
        return i;
    }

    private static void TrimEndWhitespace(StringBuilder text)
    {
        int n = text.Length;
        while (n > 0 && char.IsWhiteSpace(text[n - 1])) --n;
        text.Length = n;
    }

    private static void StripIndentation(StringBuilder text)
    {
        int n = text.Length;
        while (n > 0 && text[n - 1] is ' ' or '\t') --n;
        if (n == 0 || text[n - 1] == '\n') text.Length = n;
    }

    private static readonly string[] Operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "="];

    // Reads the inside of a tag up to its closing delimiter.
    private static (int End, bool TrimRight) LexTag(string s, int i, string close, List<Token> tokens, ref int line)
    {
        while (true)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) { if (s[i] == '\n') ++line; ++i; }
            if (i >= s.Length) throw new TemplateException($"line {line}: a tag is never closed with {close}");
            if (s[i] == '-' && string.CompareOrdinal(s, i + 1, close, 0, 2) == 0) return (i + 3, true);
            if (string.CompareOrdinal(s, i, close, 0, 2) == 0) return (i + 2, false);
            char c = s[i];
            if (c is '"' or '\'')
            {
                var sb = new StringBuilder();
                int j = i + 1;
                while (j < s.Length && s[j] != c)
                {
                    if (s[j] == '\\' && j + 1 < s.Length)
                    {
                        char e = s[++j];
                        sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', '\\' => '\\', '\'' => '\'', '"' => '"', _ => e });
                        if (e is not ('n' or 't' or 'r' or 'b' or 'f' or '\\' or '\'' or '"')) sb.Insert(sb.Length - 1, '\\');
                    }
                    else
                    {
                        if (s[j] == '\n') ++line;
                        sb.Append(s[j]);
                    }
                    ++j;
                }
                if (j >= s.Length) throw new TemplateException($"line {line}: a string is never closed");
                tokens.Add(new Token(TokenKind.String, sb.ToString(), line));
                i = j + 1;
                continue;
            }
            if (char.IsDigit(c))
            {
                int j = i;
                while (j < s.Length && (char.IsDigit(s[j]) || s[j] == '_')) ++j;
                bool isFloat = false;
                if (j + 1 < s.Length && s[j] == '.' && char.IsDigit(s[j + 1]))
                {
                    isFloat = true;
                    ++j;
                    while (j < s.Length && char.IsDigit(s[j])) ++j;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[i..j].Replace("_", ""), line));
                i = j;
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int j = i;
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_')) ++j;
                tokens.Add(new Token(TokenKind.Name, s[i..j], line));
                i = j;
                continue;
            }
            string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0);
            if (op is null) throw new TemplateException($"line {line}: unexpected character '{c}' in a tag");
            tokens.Add(new Token(TokenKind.Operator, op, line));
            i += op.Length;
        }
    }
}

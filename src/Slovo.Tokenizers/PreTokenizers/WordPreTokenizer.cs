using System.Globalization;
using System.Text;

namespace Slovo.Tokenizers.PreTokenizers;

/// <summary>
/// Word tokenization for English and Russian in the manner of razdel: text is cut into atoms (a run of letters with
/// their combining marks, a run of digits, or one other character; whitespace separates), then atoms are joined back
/// where they form one token: hyphenated words and numbers ("кто-то", "Нью-Йорк", "5-й"), apostrophes inside words
/// ("O'Brien", "don't"), decimal numbers, times and fractions ("3.14", "1,5", "10:30", "1/2"), and repeated
/// punctuation ("...", "--", "!!!", "?!").
/// </summary>
public sealed class WordPreTokenizer : IPreTokenizer
{
    private enum Kind { Letters, Digits, Punct }

    private readonly record struct Atom(int Start, int End, Kind Kind, char First);

    /// <inheritdoc />
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        List<Atom> atoms = Atoms(text);
        int i = 0;
        while (i < atoms.Count)
        {
            int start = atoms[i].Start, end = atoms[i].End, j = i + 1;
            Kind last = atoms[i].Kind;
            while (j < atoms.Count && atoms[j].Start == end)
            {
                Atom a = atoms[j];
                // word/number + joiner + word/number, with no spaces
                if (a.Kind == Kind.Punct && IsJoiner(a.First, last) && j + 1 < atoms.Count && atoms[j + 1].Start == a.End
                    && Joins(a.First, last, atoms[j + 1].Kind))
                {
                    end = atoms[j + 1].End;
                    last = atoms[j + 1].Kind;
                    j += 2;
                    continue;
                }
                // repeated punctuation: ... ?! !!! -- ,,
                if (a.Kind == Kind.Punct && last == Kind.Punct && Repeats(text[end - 1], a.First))
                {
                    end = a.End;
                    j++;
                    continue;
                }
                break;
            }
            pieces.Add((start, end - start));
            i = j;
        }
    }

    private static bool IsJoiner(char c, Kind before) => c is '-' or '\u2010' or '\u2011' or '\'' or '\u2019' or '_'
        || (before == Kind.Digits && c is '.' or ',' or '/' or ':');

    private static bool Joins(char joiner, Kind before, Kind after) => joiner switch
    {
        '.' or ',' or '/' or ':' => before == Kind.Digits && after == Kind.Digits,
        '\'' or '\u2019' => before == Kind.Letters && after == Kind.Letters,
        _ => before != Kind.Punct && after != Kind.Punct, // hyphen and underscore join words and numbers
    };

    /// <summary>The same mark repeated ("...", "--", "!!!"), or a mix of ! and ? ("?!").</summary>
    private static bool Repeats(char previous, char next) =>
        (previous == next && next is '.' or '!' or '?' or '-' or '*' or '=' or '~' or '\u2026')
        || (previous is '!' or '?' && next is '!' or '?');

    private static List<Atom> Atoms(ReadOnlySpan<char> text)
    {
        var atoms = new List<Atom>();
        int i = 0;
        while (i < text.Length)
        {
            Rune r = CharClass.At(text, i, out int w);
            if (Rune.IsWhiteSpace(r)) { i += w; continue; }
            int start = i;
            Kind kind = Rune.IsLetter(r) ? Kind.Letters : Rune.IsDigit(r) ? Kind.Digits : Kind.Punct;
            i += w;
            if (kind != Kind.Punct)
                while (i < text.Length)
                {
                    Rune n = CharClass.At(text, i, out int nw);
                    bool same = kind == Kind.Letters
                        ? Rune.IsLetter(n) || Rune.GetUnicodeCategory(n) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                        : Rune.IsDigit(n);
                    if (!same) break;
                    i += nw;
                }
            else
                while (i < text.Length && Rune.GetUnicodeCategory(CharClass.At(text, i, out int mw)) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
                       or UnicodeCategory.Format && text[i] != '\u200B')
                    i += mw; // an emoji keeps its modifiers and joiners
            atoms.Add(new Atom(start, i, kind, text[start]));
        }
        return atoms;
    }
}

namespace Slovo.Evaluation;

/// <summary>
/// The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980) with the extensions NLTK applies by
/// default (its <c>NLTK_EXTENSIONS</c> mode, which Google's rouge-score uses): a table of irregular forms, words of one
/// or two letters left alone, "ies"/"ied" in four-letter words kept as "ie", y → i only after a consonant, "alli"
/// handled before the other step-2 rules, "fulli" → "ful", and "logi" → "log" measured on the stem with its "l".
/// Input is expected in lower case. Checked against NLTK 3.8 on a word list (tests/golden/make_stems.py).
/// </summary>
public static class PorterStemmer
{
    private static readonly Dictionary<string, string> Irregular = new(StringComparer.Ordinal)
    {
        ["sky"] = "sky", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie", ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning", ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning", ["howe"] = "howe", ["proceed"] = "proceed", ["exceed"] = "exceed",
        ["succeed"] = "succeed",
    };

    /// <summary>The stem of a lower-case word.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (Irregular.TryGetValue(word, out string? fixedStem)) return fixedStem;
        if (word.Length <= 2) return word;
        string w = Step1a(word);
        w = Step1b(w);
        w = Step1c(w);
        w = Step2(w);
        w = Step3(w);
        w = Step4(w);
        w = Step5a(w);
        return Step5b(w);
    }

    private static bool IsConsonant(string w, int i)
    {
        char c = w[i];
        if (c is 'a' or 'e' or 'i' or 'o' or 'u') return false;
        if (c == 'y') return i == 0 || !IsConsonant(w, i - 1);
        return true;
    }

    /// <summary>Porter's m: the number of vowel-run-then-consonant-run pairs in [C](VC){m}[V].</summary>
    private static int Measure(string stem)
    {
        int m = 0;
        for (int i = 1; i < stem.Length; ++i)
            if (IsConsonant(stem, i) && !IsConsonant(stem, i - 1)) ++m;
        return m;
    }

    private static bool HasVowel(string stem)
    {
        for (int i = 0; i < stem.Length; ++i)
            if (!IsConsonant(stem, i)) return true;
        return false;
    }

    private static bool EndsDoubleConsonant(string w) => w.Length >= 2 && w[^1] == w[^2] && IsConsonant(w, w.Length - 1);

    /// <summary>*o: ends consonant-vowel-consonant, the last not w, x or y; or (NLTK) is a two-letter vowel-consonant word.</summary>
    private static bool EndsCvc(string w) =>
        w.Length >= 3 && IsConsonant(w, w.Length - 3) && !IsConsonant(w, w.Length - 2) && IsConsonant(w, w.Length - 1) && w[^1] is not ('w' or 'x' or 'y')
        || w.Length == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1);

    /// <summary>A suffix rule: the suffix, its replacement, and the condition on the stem without the suffix (null: always).</summary>
    private readonly record struct Rule(string Suffix, string Replacement, Func<string, bool>? Condition = null);

    /// <summary>
    /// The first rule whose suffix the word ends with decides: replaced when its condition holds on the stem, else the word
    /// is left as it is (a later rule with a shorter suffix is not tried, as in the published algorithm).
    /// </summary>
    private static string Apply(string w, ReadOnlySpan<Rule> rules)
    {
        foreach (Rule r in rules)
        {
            if (!w.EndsWith(r.Suffix, StringComparison.Ordinal)) continue;
            string stem = w[..^r.Suffix.Length];
            return r.Condition is null || r.Condition(stem) ? stem + r.Replacement : w;
        }
        return w;
    }

    private static bool PositiveMeasure(string stem) => Measure(stem) > 0;

    private static bool MeasureOver1(string stem) => Measure(stem) > 1;

    private static string Step1a(string w)
    {
        if (w.Length == 4 && w.EndsWith("ies", StringComparison.Ordinal)) return w[..^3] + "ie";
        return Apply(w, [new("sses", "ss"), new("ies", "i"), new("ss", "ss"), new("s", "")]);
    }

    private static string Step1b(string w)
    {
        if (w.EndsWith("ied", StringComparison.Ordinal)) return w[..^3] + (w.Length == 4 ? "ie" : "i");
        if (w.EndsWith("eed", StringComparison.Ordinal)) return Measure(w[..^3]) > 0 ? w[..^1] : w;
        string stem;
        if (w.EndsWith("ed", StringComparison.Ordinal) && HasVowel(w[..^2])) stem = w[..^2];
        else if (w.EndsWith("ing", StringComparison.Ordinal) && HasVowel(w[..^3])) stem = w[..^3];
        else return w;
        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal) || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        if (EndsDoubleConsonant(stem)) return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];
        return Measure(stem) == 1 && EndsCvc(stem) ? stem + "e" : stem;
    }

    private static string Step1c(string w) =>
        w.Length > 2 && w[^1] == 'y' && IsConsonant(w, w.Length - 2) ? w[..^1] + "i" : w;

    private static string Step2(string w)
    {
        // NLTK: "alli" first, and the result goes through step 2 again.
        if (w.EndsWith("alli", StringComparison.Ordinal) && PositiveMeasure(w[..^4])) return Step2(w[..^4] + "al");
        string whole = w;
        return Apply(w, [
            new("ational", "ate", PositiveMeasure), new("tional", "tion", PositiveMeasure), new("enci", "ence", PositiveMeasure),
            new("anci", "ance", PositiveMeasure), new("izer", "ize", PositiveMeasure), new("bli", "ble", PositiveMeasure),
            new("alli", "al", PositiveMeasure), new("entli", "ent", PositiveMeasure), new("eli", "e", PositiveMeasure),
            new("ousli", "ous", PositiveMeasure), new("ization", "ize", PositiveMeasure), new("ation", "ate", PositiveMeasure),
            new("ator", "ate", PositiveMeasure), new("alism", "al", PositiveMeasure), new("iveness", "ive", PositiveMeasure),
            new("fulness", "ful", PositiveMeasure), new("ousness", "ous", PositiveMeasure), new("aliti", "al", PositiveMeasure),
            new("iviti", "ive", PositiveMeasure), new("biliti", "ble", PositiveMeasure), new("fulli", "ful", PositiveMeasure),
            new("logi", "log", _ => PositiveMeasure(whole[..^3])), // the "l" stays with the stem: geo-logi, theo-logi
        ]);
    }

    private static string Step3(string w) => Apply(w, [
        new("icate", "ic", PositiveMeasure), new("ative", "", PositiveMeasure), new("alize", "al", PositiveMeasure),
        new("iciti", "ic", PositiveMeasure), new("ical", "ic", PositiveMeasure), new("ful", "", PositiveMeasure), new("ness", "", PositiveMeasure),
    ]);

    private static string Step4(string w) => Apply(w, [
        new("al", "", MeasureOver1), new("ance", "", MeasureOver1), new("ence", "", MeasureOver1), new("er", "", MeasureOver1),
        new("ic", "", MeasureOver1), new("able", "", MeasureOver1), new("ible", "", MeasureOver1), new("ant", "", MeasureOver1),
        new("ement", "", MeasureOver1), new("ment", "", MeasureOver1), new("ent", "", MeasureOver1),
        new("ion", "", s => MeasureOver1(s) && s.Length > 0 && s[^1] is 's' or 't'), new("ou", "", MeasureOver1),
        new("ism", "", MeasureOver1), new("ate", "", MeasureOver1), new("iti", "", MeasureOver1), new("ous", "", MeasureOver1),
        new("ive", "", MeasureOver1), new("ize", "", MeasureOver1),
    ]);

    private static string Step5a(string w)
    {
        if (!w.EndsWith('e')) return w;
        string stem = w[..^1];
        int m = Measure(stem);
        return m > 1 || m == 1 && !EndsCvc(stem) ? stem : w;
    }

    private static string Step5b(string w) =>
        w.EndsWith("ll", StringComparison.Ordinal) && Measure(w[..^1]) > 1 ? w[..^1] : w;
}

namespace Slovo.Generation;

/// <summary>
/// Makes a continuation begin with <see cref="Text"/>: until the generated tokens' texts cover it, only tokens whose text
/// continues it (or is the rest of it, or a prefix of the rest) may be chosen. Token healing uses it: the prompt is backed up to
/// a token boundary and the cut text is required back, so the model picks how to spell the word it was cut in.
/// </summary>
/// <param name="Text">The text the continuation must start with.</param>
/// <param name="TokenTexts">The text of every token id on its own (see <see cref="Slovo.LanguageModels.LanguageModel.TokenTexts"/>).</param>
public sealed record PrefixConstraint(string Text, IReadOnlyList<string> TokenTexts)
{
    /// <summary>Sets to −∞ the logits of tokens that cannot continue <see cref="Text"/> after <paramref name="generatedText"/>.</summary>
    public void Mask(float[] logits, string generatedText)
    {
        if (generatedText.Length >= Text.Length) return;
        string rest = Text[generatedText.Length..];
        bool Fits(int t)
        {
            string s = t < TokenTexts.Count ? TokenTexts[t] : "";
            return s.Length > 0 && (s.StartsWith(rest, StringComparison.Ordinal) || rest.StartsWith(s, StringComparison.Ordinal));
        }
        bool any = false;
        for (int t = 0; t < logits.Length && !any; ++t) any = Fits(t) && !float.IsNegativeInfinity(logits[t]);
        if (!any) return; // no token spells it (the vocabulary cannot): leave the choice free rather than have nothing to choose
        for (int t = 0; t < logits.Length; ++t)
            if (!Fits(t)) logits[t] = float.NegativeInfinity;
    }

    /// <summary>The text of <paramref name="tokens"/> as this constraint sees it (each token's own text, joined).</summary>
    public string TextOf(IEnumerable<int> tokens) => string.Concat(tokens.Select(t => t < TokenTexts.Count ? TokenTexts[t] : ""));
}

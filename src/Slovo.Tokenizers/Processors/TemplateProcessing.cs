namespace Slovo.Tokenizers.Processors;

/// <summary>Adds special tokens around an encoded sequence, e.g. "[CLS] $A [SEP]" or "&lt;s&gt; $A &lt;/s&gt;".</summary>
public sealed class TemplateProcessing : IPostProcessor
{
    /// <summary>Special tokens before the sequence: (token, id).</summary>
    public IReadOnlyList<(string Token, int Id)> Before { get; }

    /// <summary>Special tokens after the sequence: (token, id).</summary>
    public IReadOnlyList<(string Token, int Id)> After { get; }

    /// <summary>Creates the template.</summary>
    public TemplateProcessing(IReadOnlyList<(string Token, int Id)> before, IReadOnlyList<(string Token, int Id)> after) =>
        (Before, After) = (before, after);

    /// <summary>Parses a single-sequence template such as "[CLS] $A [SEP]" with the ids of its special tokens.</summary>
    public static TemplateProcessing Parse(string template, IReadOnlyDictionary<string, int> specialIds)
    {
        string[] parts = template.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int at = Array.FindIndex(parts, p => p is "$A" or "$0" or "$");
        if (at < 0 || parts.Count(p => p.StartsWith('$')) != 1)
            throw new ArgumentException($"template '{template}' must hold exactly one $A", nameof(template));
        (string, int) Lookup(string t) => specialIds.TryGetValue(t, out int id) ? (t, id)
            : throw new ArgumentException($"template token '{t}' has no id; add it as a special token first", nameof(specialIds));
        return new TemplateProcessing(parts[..at].Select(Lookup).ToList(), parts[(at + 1)..].Select(Lookup).ToList());
    }

    /// <summary>The number of tokens the template adds.</summary>
    public int Added => Before.Count + After.Count;

    /// <inheritdoc />
    public TokenEncoding Process(TokenEncoding e)
    {
        static T[] Around<T>(IReadOnlyList<(string Token, int Id)> before, T[] middle, IReadOnlyList<(string Token, int Id)> after, Func<(string Token, int Id), T> special) =>
            [.. before.Select(special), .. middle, .. after.Select(special)];
        return new TokenEncoding
        {
            Ids = Around(Before, e.Ids, After, b => b.Id),
            Tokens = Around(Before, e.Tokens, After, b => b.Token),
            Offsets = Around(Before, e.Offsets, After, _ => (0, 0)),
            AttentionMask = Around(Before, e.AttentionMask, After, _ => 1),
            SpecialTokensMask = Around(Before, e.SpecialTokensMask, After, _ => 1),
            TypeIds = Around(Before, e.TypeIds, After, _ => 0),
        };
    }
}

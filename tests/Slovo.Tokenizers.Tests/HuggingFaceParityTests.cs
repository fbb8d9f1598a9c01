using System.Text.Json;
using Slovo.Tokenizers.Serialization;

namespace Slovo.Tokenizers.Tests;

/// <summary>
/// Slovo against Hugging Face tokenizers (npm 0.23.2) through tests/golden/tokenizers/golden.json, made by
/// tests/golden/tokenizers/make_golden.mjs: every tokenizer file there (HF-trained, Slovo-trained, the shipped tiny
/// GPT-2) must load in Slovo and give HF's ids, tokens and offsets on every text.
/// </summary>
public class HuggingFaceParityTests
{
    internal static string GoldenDir() => Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "tokenizers");

    public static TheoryData<string> TokenizerNames()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenDir(), "golden.json")));
        var data = new TheoryData<string>();
        foreach (JsonProperty p in doc.RootElement.EnumerateObject()) data.Add(p.Name);
        return data;
    }

    private static string PathOf(string name) => name.StartsWith("shared:", StringComparison.Ordinal)
        ? TestSupport.TestPaths.SharedModel(name["shared:".Length..], "tokenizer.json")
        : Path.Combine(GoldenDir(), name);

    [Theory]
    [MemberData(nameof(TokenizerNames))]
    public void MatchesHuggingFace(string name)
    {
        Tokenizer tokenizer = TokenizerJson.Load(PathOf(name));
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenDir(), "golden.json")));
        var failures = new List<string>();
        foreach (JsonElement c in doc.RootElement.GetProperty(name).EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            string[] tokens = c.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray();
            (int, int)[] offsets = c.GetProperty("offsets").EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetInt32())).ToArray();
            TokenEncoding enc = tokenizer.Encode(text);
            if (!ids.SequenceEqual(enc.Ids)) failures.Add($"ids {JsonSerializer.Serialize(text)}: HF [{string.Join(",", ids.Take(10))}] Slovo [{string.Join(",", enc.Ids.Take(10))}]");
            else if (!tokens.SequenceEqual(enc.Tokens)) failures.Add($"tokens {JsonSerializer.Serialize(text)}");
            else if (!offsets.SequenceEqual(enc.Offsets) && !OffsetsCutBackToTokens(tokenizer, text, enc))
                failures.Add($"offsets {JsonSerializer.Serialize(text)}: HF {string.Join(" ", offsets.Take(6))} Slovo {string.Join(" ", enc.Offsets.Take(6))}");
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} texts differ:\n{string.Join("\n", failures.Take(8))}");
    }

    /// <summary>
    /// Where a character is unknown and there is no unknown token, both drop it (and may merge across it), but HF then
    /// shifts the offsets of the rest of the word; Slovo keeps the true ones. So differing offsets must each cut the
    /// original text back to a span that starts and ends with the token's first and last characters and holds the
    /// token's characters in order, dropped ones aside (in byte-level characters for byte-level tokenizers, where a
    /// token holding only some bytes of a character spans that whole character).
    /// </summary>
    private static bool OffsetsCutBackToTokens(Tokenizer tokenizer, string text, TokenEncoding enc)
    {
        bool byteLevel = tokenizer.PreTokenizer is PreTokenizers.ByteLevelPreTokenizer
                         || tokenizer.PreTokenizer is PreTokenizers.SequencePreTokenizer sq && sq.Steps.Any(p => p is PreTokenizers.ByteLevelPreTokenizer);
        for (int i = 0; i < enc.Length; ++i)
        {
            if (enc.SpecialTokensMask[i] == 1) continue; // a post-processor's token covers no text (HF gives it (0, 0) too)
            (int s, int e) = enc.Offsets[i];
            string cut = text[s..e];
            string span = byteLevel ? Models.ByteLevel.Map(cut, out _) : cut;
            string token = enc.Tokens[i];
            bool partOfCharacters = byteLevel && span.Contains(token, StringComparison.Ordinal); // a token holding some bytes of a character
            bool tight = span.Length > 0 && span[0] == token[0] && span[^1] == token[^1] && IsSubsequence(token, span);
            if (!partOfCharacters && !tight) return false;
        }
        return true;
    }

    private static bool IsSubsequence(string small, string big)
    {
        int j = 0;
        foreach (char c in big) if (j < small.Length && small[j] == c) ++j;
        return j == small.Length;
    }

    [Theory]
    [MemberData(nameof(TokenizerNames))]
    public void SavingAndLoadingAgainKeepsTheIds(string name)
    {
        Tokenizer original = TokenizerJson.Load(PathOf(name));
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-tok").FullName, "tokenizer.json");
        TokenizerJson.Save(original, path);
        Tokenizer reloaded = TokenizerJson.Load(path);
        foreach (string text in JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(GoldenDir(), "texts.json")))!)
            Assert.Equal(original.Encode(text).Ids, reloaded.Encode(text).Ids);
    }
}

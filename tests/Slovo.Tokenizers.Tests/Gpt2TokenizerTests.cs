using System.Text;
using System.Text.Json;
using Slovo.Tokenizers;

namespace Slovo.Tokenizers.Tests;

public class Gpt2TokenizerTests
{
    private static string GptDir() => TestSupport.TestPaths.SharedModel("gpt2-tokenizer");

    private static readonly Lazy<Gpt2Tokenizer> Tokenizer = new(() => Gpt2Tokenizer.Load(GptDir()));

    private static (string Text, int[] Ids) Case(int index)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GptDir(), "golden_tiktoken_gpt2.json")));
        JsonElement c = doc.RootElement[index];
        return (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    [Fact]
    public void MatchesTiktokenOnEveryGoldenCase()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GptDir(), "golden_tiktoken_gpt2.json")));
        var failures = new List<string>();
        int total = 0;
        foreach (JsonElement c in doc.RootElement.EnumerateArray())
        {
            ++total;
            string text = c.GetProperty("text").GetString()!;
            int[] expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int[] actual = Tokenizer.Value.Encode(text);
            if (!expected.SequenceEqual(actual))
                failures.Add($"{JsonSerializer.Serialize(text[..Math.Min(60, text.Length)])}: expected [{string.Join(",", expected.Take(12))}] got [{string.Join(",", actual.Take(12))}]");
            else
                Assert.Equal(text, Tokenizer.Value.Decode(actual));
        }
        Assert.Equal(180, total);
        Assert.True(failures.Count == 0, $"{failures.Count} of {total} cases differ:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void DecodeInvertsEncodeOnRandomUnicode()
    {
        var rng = new Random(5);
        int[] ranges = [0x20, 0x7F, 0xA0, 0x250, 0x400, 0x4FF, 0x3040, 0x30FF, 0x4E00, 0x4F00, 0x1F300, 0x1F6FF, 0x300, 0x36F];
        for (int trial = 0; trial < 500; ++trial)
        {
            var sb = new StringBuilder();
            int len = rng.Next(0, 40);
            for (int k = 0; k < len; ++k)
            {
                int r = rng.Next(ranges.Length / 2) * 2;
                int cp = rng.Next(ranges[r], ranges[r + 1]);
                sb.Append(rng.Next(6) == 0 ? " " : char.ConvertFromUtf32(cp));
                if (rng.Next(10) == 0) sb.Append(rng.Next(2) == 0 ? "\n" : "  ");
            }
            string text = sb.ToString();
            Assert.Equal(text, Tokenizer.Value.Decode(Tokenizer.Value.Encode(text)));
        }
    }

    [Fact]
    public void LoneSurrogatesEncodeAsReplacementCharacter()
    {
        int[] lone = Tokenizer.Value.Encode("a\uD800b");
        Assert.Equal(Tokenizer.Value.Encode("a\uFFFDb"), lone);
        Assert.Equal("a\uFFFDb", Tokenizer.Value.Decode(lone));
    }

    [Fact]
    public void EncodeIsThreadSafe()
    {
        (string text, int[] ids) = Case(10);
        Parallel.For(0, 64, _ => Assert.Equal(ids, Tokenizer.Value.Encode(text)));
    }

    [Fact]
    public void BadFilesGetClearErrors()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-gpt2").FullName;
        Assert.Contains("needs encoder.json and vocab.bpe", Assert.Throws<FileNotFoundException>(() => Gpt2Tokenizer.Load(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "encoder.json"), "{\"a\": 1, ");
        File.WriteAllText(Path.Combine(dir, "vocab.bpe"), "#version: 0.2\n");
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => Gpt2Tokenizer.Load(dir)).Message);
        File.Copy(Path.Combine(GptDir(), "encoder.json"), Path.Combine(dir, "encoder.json"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "vocab.bpe"), "#version: 0.2\nĠ t\nthis-line-is-bad\n");
        Assert.Contains("vocab.bpe:3: expected two tokens", Assert.Throws<InvalidDataException>(() => Gpt2Tokenizer.Load(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "vocab.bpe"), "#version: 0.2\nzzqq xxyy\n");
        Assert.Contains("merge 1 ('zzqq xxyy') uses a token missing", Assert.Throws<InvalidDataException>(() => Gpt2Tokenizer.Load(dir)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Value.Decode([60000]));
    }
}

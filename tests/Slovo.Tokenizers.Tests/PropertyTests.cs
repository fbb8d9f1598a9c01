using System.Text;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;

namespace Slovo.Tokenizers.Tests;

/// <summary>Seeded random-text properties of the pipeline.</summary>
public class PropertyTests
{
    private static readonly Lazy<Tokenizer> ByteLevelBpe = new(() =>
        TokenizerJson.Load(Path.Combine(HuggingFaceParityTests.GoldenDir(), "slovo-bpe-bytelevel-1000.json")));

    /// <summary>Random text over Latin, Cyrillic, CJK, combining marks, emoji (with ZWJ and skin tones), whitespace and, optionally, lone surrogates.</summary>
    internal static string RandomText(Random rng, bool loneSurrogates)
    {
        int[][] ranges = [[0x20, 0x7E], [0x400, 0x4FF], [0x4E00, 0x4FFF], [0x300, 0x36F], [0x1F300, 0x1F6FF], [0x1F3FB, 0x1F3FF]];
        var sb = new StringBuilder();
        int len = rng.Next(0, 30);
        for (int k = 0; k < len; ++k)
        {
            int pick = rng.Next(10);
            if (pick == 0) sb.Append(rng.Next(3) switch { 0 => " ", 1 => "\n", _ => "\t  " });
            else if (pick == 1) sb.Append('\u200D');
            else if (pick == 2 && loneSurrogates) sb.Append(rng.Next(2) == 0 ? '\uD83D' : '\uDE00');
            else
            {
                int[] r = ranges[rng.Next(ranges.Length)];
                sb.Append(char.ConvertFromUtf32(rng.Next(r[0], r[1] + 1)));
            }
        }
        return sb.ToString();
    }

    /// <summary>What a lossless UTF-8 pipeline gives back: the text with each lone surrogate replaced by U+FFFD.</summary>
    private static string Sanitized(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void ByteLevelDecodeInvertsEncodeAndLoneSurrogatesBecomeReplacementCharacters()
    {
        var rng = new Random(41);
        for (int trial = 0; trial < 400; ++trial)
        {
            string text = RandomText(rng, loneSurrogates: true);
            Assert.Equal(Sanitized(text), ByteLevelBpe.Value.Decode(ByteLevelBpe.Value.Encode(text).Ids));
        }
    }

    [Fact]
    public void OffsetsCutBackToEachTokensText()
    {
        var rng = new Random(43);
        Tokenizer t = ByteLevelBpe.Value;
        for (int trial = 0; trial < 400; ++trial)
        {
            string text = RandomText(rng, loneSurrogates: false);
            TokenEncoding e = t.Encode(text);
            (int Start, int End) previous = (0, 0);
            for (int i = 0; i < e.Length; ++i)
            {
                (int s, int end) = e.Offsets[i];
                Assert.InRange(s, 0, text.Length);
                Assert.InRange(end, s, text.Length);
                // Byte-level tokens may share a character (one ends inside it, the next covers the rest), so starts
                // and ends never decrease but spans may overlap.
                Assert.True(s >= previous.Start && end >= previous.End, $"offsets go backwards in {text}");
                string mapped = ByteLevel.Map(text.AsSpan(s, end - s), out _);
                Assert.Contains(e.Tokens[i], mapped); // a token holds all or part of the bytes of its span
                previous = (s, end);
            }
            // Concatenating the spans of tokens that start new characters rebuilds the text.
            var sb = new StringBuilder();
            int covered = 0;
            foreach ((int s, int end) in e.Offsets)
                if (s >= covered) { sb.Append(text, s, end - s); covered = end; }
            Assert.Equal(text, sb.ToString());
        }
    }

    [Fact]
    public void CountsAgreeAcrossApis()
    {
        var rng = new Random(47);
        var texts = Enumerable.Range(0, 200).Select(_ => RandomText(rng, loneSurrogates: false)).ToList();
        Tokenizer t = ByteLevelBpe.Value;
        IReadOnlyList<TokenEncoding> batch = t.EncodeBatch(texts);
        for (int i = 0; i < texts.Count; ++i)
        {
            TokenEncoding single = t.Encode(texts[i]);
            Assert.Equal(single.Ids, batch[i].Ids);
            Assert.Equal(single.Length, single.Tokens.Length);
            Assert.Equal(single.Length, single.Offsets.Length);
            Assert.Equal(single.Length, single.AttentionMask.Length);
            Assert.Equal(single.Length, single.SpecialTokensMask.Length);
        }
        IReadOnlyList<TokenEncoding> padded = t.EncodeBatch(texts, padding: PaddingStrategy.Longest, padToken: "<|endoftext|>");
        int longest = batch.Max(e => e.Length);
        Assert.All(padded, e => Assert.Equal(longest, e.Length));
        for (int i = 0; i < texts.Count; ++i) Assert.Equal(batch[i].Length, padded[i].AttentionMask.Sum());
        IReadOnlyList<TokenEncoding> truncated = t.EncodeBatch(texts, maxLength: 5);
        Assert.All(truncated, e => Assert.True(e.Length <= 5));
    }

    [Fact]
    public void Gpt2TokenizerAndTheGeneralPipelineGiveTheSameIds()
    {
        string dir = TestSupport.TestPaths.SharedModel("gpt2-tokenizer");
        Gpt2Tokenizer gpt2 = Gpt2Tokenizer.Load(dir);
        var pipeline = new Tokenizer(gpt2.Model) { PreTokenizer = new ByteLevelPreTokenizer(addPrefixSpace: false), Decoder = new ByteLevelDecoder() };
        var rng = new Random(53);
        for (int trial = 0; trial < 300; ++trial)
        {
            string text = RandomText(rng, loneSurrogates: true);
            int[] ids = gpt2.Encode(text);
            Assert.Equal(ids, pipeline.Encode(text).Ids);
            Assert.Equal(Sanitized(text), gpt2.Decode(ids));
            Assert.Equal(Sanitized(text), pipeline.Decode(ids));
        }
    }

    [Fact]
    public void ByteFallbackAndEndOfWordSuffixWork()
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = 0, ["a"] = 1, ["b"] = 2, ["ab"] = 3 };
        for (int b = 0; b < 256; ++b) vocab[Bpe.ByteToken((byte)b)] = 4 + b;
        var fallback = new Bpe(vocab, [("a", "b")], unkToken: "<unk>", byteFallback: true);
        var tokens = new List<Token>();
        fallback.Tokenize("abé", tokens);
        Assert.Equal(new[] { 3, 4 + 0xC3, 4 + 0xA9 }, tokens.Select(t => t.Id)); // é = C3 A9
        Assert.Equal((2, 3), (tokens[1].Start, tokens[1].End));

        var words = new Dictionary<string, long> { ["low"] = 5, ["lowest"] = 3, ["slow"] = 4 };
        Bpe suffix = BpeTrainer.Train(words, new BpeTrainerOptions { VocabSize = 30, MinFrequency = 1, EndOfWordSuffix = "</w>" });
        var tok = new Tokenizer(suffix) { PreTokenizer = new WhitespaceSplitPreTokenizer(), Decoder = new BpeSuffixDecoder("</w>") };
        Assert.Equal("slow low lowest", tok.Decode(tok.Encode("slow low lowest").Ids));
        Assert.Contains(tok.Encode("low").Tokens, t => t.EndsWith("</w>", StringComparison.Ordinal));
    }

    [Fact]
    public void MalformedTokenizerJsonGetsClearErrors()
    {
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => TokenizerJson.Parse("{\"model\": ")).Message);
        Assert.Contains("'model' is missing", Assert.Throws<InvalidDataException>(() => TokenizerJson.Parse("{}")).Message);
        Assert.Contains("merge 1 ('a c') uses a token missing",
            Assert.Throws<InvalidDataException>(() => TokenizerJson.Parse("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}")).Message);
        Assert.Contains("pre-tokenizer", Assert.Throws<NotSupportedException>(() =>
            TokenizerJson.Parse("{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"UnicodeScripts\"}}")).Message);
        Assert.Contains("non-integer id", Assert.Throws<InvalidDataException>(() =>
            TokenizerJson.Parse("{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":\"zero\"}}}")).Message);
    }
}

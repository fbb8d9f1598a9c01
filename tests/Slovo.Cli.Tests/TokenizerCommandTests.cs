using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Tokenizers.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")]
public class TokenizerCommandTests
{
    private static string Corpus()
    {
        string text = File.ReadAllText(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt"))[..50_000];
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-tokcli").FullName, "corpus.txt");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void TrainEncodeDecodeRoundTripsWithByteLevelBpe()
    {
        string corpus = Corpus();
        string outPath = Path.Combine(Path.GetDirectoryName(corpus)!, "tok.json");
        Assert.Equal(0, TokenizerCommand.Run(["train", "--files", corpus, "--model", "bytelevel-bpe", "--vocab-size", "600", "--out", outPath]));
        var tokenizer = TokenizerJson.Load(outPath);
        Assert.Equal(600, tokenizer.VocabSize);
        string line = "Я помню чудное мгновенье: 🙂";
        Assert.Equal(line, tokenizer.Decode(tokenizer.Encode(line).Ids));
        var sw = new StringWriter();
        TextWriter old = Console.Out;
        Console.SetOut(sw);
        try
        {
            Assert.Equal(0, TokenizerCommand.Run(["decode", "--tokenizer", outPath, "--ids", string.Join(",", tokenizer.Encode(line).Ids)]));
        }
        finally { Console.SetOut(old); }
        Assert.Equal(line, sw.ToString().TrimEnd('\n'));
    }

    [Fact]
    public void StatsWritesTheDistributionAndThePicture()
    {
        string corpus = Corpus();
        string dir = Path.GetDirectoryName(corpus)!;
        string tok = Path.Combine(dir, "wl.json");
        Assert.Equal(0, TokenizerCommand.Run(["train", "--files", corpus, "--model", "wordlevel", "--vocab-size", "500", "--out", tok]));
        string stats = Path.Combine(dir, "stats");
        Assert.Equal(0, TokenizerCommand.Run(["stats", "--tokenizer", tok, "--files", corpus, "--out", stats]));
        string[] freq = File.ReadAllLines(Path.Combine(stats, "frequencies.csv"));
        Assert.Equal("rank,id,token,count,cumulative_coverage", freq[0]);
        Assert.StartsWith("1,0,\"[UNK]\"", freq[1]); // with only 500 words, the unknown token is the most frequent
        Assert.EndsWith("1.000000", freq[^1]);
        Assert.Contains("<polyline", File.ReadAllText(Path.Combine(stats, "coverage.svg")));
    }

    [Fact]
    public void MistakesGetClearErrors()
    {
        Assert.Contains("--files is required", Assert.Throws<UsageException>(() => TokenizerCommand.Run(["train", "--out", "x.json"])).Message);
        Assert.Contains("unknown --model 'sentencepiece'",
            Assert.Throws<UsageException>(() => TokenizerCommand.Run(["train", "--files", Corpus(), "--model", "sentencepiece", "--out", "/tmp/x.json"])).Message);
        Assert.Contains("below the", Assert.Throws<ArgumentOutOfRangeException>(() =>
            TokenizerCommand.Run(["train", "--files", Corpus(), "--vocab-size", "10", "--out", "/tmp/x.json"])).Message);
        Assert.Throws<FileNotFoundException>(() => TokenizerCommand.Run(["encode", "--tokenizer", "/nonexistent.json", "--text", "a"]));
        Assert.Contains("--ids: 'x' is not an integer",
            Assert.Throws<UsageException>(() => TokenizerCommand.Run(["decode", "--tokenizer", "any.json", "--ids", "1,x"])).Message);
        string broken = Path.Combine(Directory.CreateTempSubdirectory("slovo-broken").FullName, "tokenizer.json");
        File.WriteAllText(broken, "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, \"decoder\": {\"type\": \"CTC\"}}");
        Assert.Contains("decoder type 'CTC' is not supported",
            Assert.Throws<NotSupportedException>(() => TokenizerCommand.Run(["encode", "--tokenizer", broken, "--text", "a"])).Message);
    }
}

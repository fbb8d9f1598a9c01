using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Tokenizers.Serialization;
using Slovo.Text;

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
        Cli.Ok(["tokenizer", "train", "--files", corpus, "--model", "bytelevel-bpe", "--vocab-size", "600", "--out", outPath]);
        var tokenizer = TokenizerJson.Load(outPath);
        Assert.Equal(600, tokenizer.VocabSize);
        string line = "Я помню чудное мгновенье: 🙂";
        Assert.Equal(line, tokenizer.Decode(tokenizer.Encode(line).Ids));
        string decoded = Cli.Ok("tokenizer", "decode", "--tokenizer", outPath, "--ids", string.Join(",", tokenizer.Encode(line).Ids));
        Assert.Equal(line, decoded.TrimEnd('\n'));
    }

    [Fact]
    public void StatsWritesTheDistributionAndThePicture()
    {
        string corpus = Corpus();
        string dir = Path.GetDirectoryName(corpus)!;
        string tok = Path.Combine(dir, "wl.json");
        Cli.Ok(["tokenizer", "train", "--files", corpus, "--model", "wordlevel", "--vocab-size", "500", "--out", tok]);
        string stats = Path.Combine(dir, "stats");
        Cli.Ok(["tokenizer", "stats", "--tokenizer", tok, "--files", corpus, "--out", stats]);
        string[] freq = File.ReadAllLines(Path.Combine(stats, "frequencies.csv"));
        Assert.Equal("rank,id,token,count,cumulative_coverage", freq[0]);
        Assert.StartsWith("1,0,\"[UNK]\"", freq[1]); // with only 500 words, the unknown token is the most frequent
        Assert.EndsWith("1.000000", freq[^1]);
        byte[] png = File.ReadAllBytes(Path.Combine(stats, "coverage.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 10_000, $"coverage.png is only {png.Length} bytes");
    }

    [Fact]
    public void MistakesGetClearErrors()
    {
        Assert.Contains("Option '--files' is required", Cli.Fails(2, ["tokenizer", "train", "--out", "x.json"]));
        Assert.Contains("Argument 'sentencepiece' not recognized",
            Cli.Fails(2, ["tokenizer", "train", "--files", Corpus(), "--model", "sentencepiece", "--out", "/tmp/x.json"]));
        Assert.Contains("below the", Cli.Fails(1, ["tokenizer", "train", "--files", Corpus(), "--vocab-size", "10", "--out", "/tmp/x.json"]));
        Assert.Contains("/nonexistent.json", Cli.Fails(1, ["tokenizer", "encode", "--tokenizer", "/nonexistent.json", "--text", "a"]));
        Assert.Contains("--ids: 'x' is not an integer",
            Cli.Fails(2, ["tokenizer", "decode", "--tokenizer", "any.json", "--ids", "1,x"]));
        string broken = Path.Combine(Directory.CreateTempSubdirectory("slovo-broken").FullName, "tokenizer.json");
        File.WriteAllText(broken, "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, \"decoder\": {\"type\": \"CTC\"}}");
        Assert.Contains("decoder type 'CTC' is not supported",
            Cli.Fails(1, ["tokenizer", "encode", "--tokenizer", broken, "--text", "a"]));
    }
}

using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Embeddings;

namespace Slovo.Cli.Tests;

[Collection("cli")]
public class VectorsCommandTests
{
    private static string Glove() => TestSupport.TestPaths.SharedData("glove", "glove.6B.50d.top5k.txt");

    private static string Run(params string[] args)
    {
        var sw = new StringWriter();
        TextWriter old = Console.Out;
        Console.SetOut(sw);
        try { Assert.Equal(0, VectorsCommand.Run(args)); }
        finally { Console.SetOut(old); }
        return sw.ToString();
    }

    [Fact]
    public void QueriesAndConversionWork()
    {
        string glove = Glove();
        KeyedVectors kv = KeyedVectors.Load(glove);
        string expected = kv.MostSimilar(["paris", "italy"], ["france"], 1)[0].Word;
        Assert.StartsWith(expected + "\t", Run("most-similar", "--vectors", glove, "--positive", "paris,italy", "--negative", "france", "--topn", "1"));
        string outPath = Path.Combine(Directory.CreateTempSubdirectory("slovo-vec").FullName, "v.bin");
        Run("convert", "--vectors", glove, "--limit", "100", "--out", outPath);
        KeyedVectors back = KeyedVectors.Load(outPath);
        Assert.Equal(100, back.Count);
        Assert.Equal(kv.Row(99).ToArray(), back.Row(99).ToArray());
        Assert.Contains("100 vectors of dimension 50", Run("info", "--vectors", outPath));
    }

    [Fact]
    public void MistakesGetClearErrors()
    {
        Assert.Contains("--vectors FILE is required", Assert.Throws<UsageException>(() => VectorsCommand.Run(["info"])).Message);
        Assert.Contains("not in the vocabulary: zzqqxx", Assert.Throws<ArgumentException>(() => VectorsCommand.Run(["similarity", "--vectors", Glove(), "--words", "the,zzqqxx"])).Message);
        Assert.Contains("exactly two --words", Assert.Throws<UsageException>(() => VectorsCommand.Run(["similarity", "--vectors", Glove(), "--words", "a"])).Message);
    }
}

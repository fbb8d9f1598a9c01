using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Embeddings;

namespace Slovo.Cli.Tests;

[Collection("cli")]
public class VectorsCommandTests
{
    private static string Glove() => TestSupport.TestPaths.SharedData("glove", "glove.6B.50d.top5k.txt");

    private static string Run(params string[] args) => Cli.Ok(["vectors", .. args]);

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
        Assert.Contains("Option '--vectors' is required", Cli.Fails(2, ["vectors", "info"]));
        Assert.Contains("not in the vocabulary: zzqqxx", Cli.Fails(1, ["vectors", "similarity", "--vectors", Glove(), "--words", "the,zzqqxx"]));
        Assert.Contains("exactly two --words", Cli.Fails(2, ["vectors", "similarity", "--vectors", Glove(), "--words", "a"]));
    }
}

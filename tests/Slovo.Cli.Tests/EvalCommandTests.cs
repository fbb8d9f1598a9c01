namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class EvalCommandTests
{
    [Fact]
    public void EvalRougePrintsTheHandWorkedMeansAndRefusesFilesThatDoNotPairUp()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-rouge").FullName;
        string refs = Path.Combine(dir, "refs.txt"), preds = Path.Combine(dir, "preds.txt"), tsv = Path.Combine(dir, "each.tsv");
        File.WriteAllLines(refs, ["the cat sat on the mat", "w1 w2 w3 w4 w5", "Я помню чудное мгновенье"]);
        File.WriteAllLines(preds, ["the cat on the mat", @"w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "я помню мгновенье"]);
        string printed = Cli.Ok("eval", "rouge", "--predictions", preds, "--references", refs, "--out", tsv);
        // ROUGE-1 F1: 10/11, then 4 of 5 reference words in 10 predicted (8/15), then 0 (Cyrillic is deleted by rouge-score's tokens).
        Assert.Contains($"| ROUGE-1    | ", printed);
        Assert.Contains(((10.0 / 11 + 8.0 / 15 + 0) / 3).ToString("F4", System.Globalization.CultureInfo.InvariantCulture), printed);
        string[] rows = File.ReadAllLines(tsv);
        Assert.Equal("line\trouge1_f1\trouge2_f1\trougeL_f1", rows[0]);
        Assert.Equal("2\t0.0000\t0.0000\t0.0000", rows[3]);
        string unicode = Cli.Ok("eval", "rouge", "--predictions", preds, "--references", refs, "--tokens", "unicode");
        Assert.Contains(((10.0 / 11 + 8.0 / 15 + 6.0 / 7) / 3).ToString("F4", System.Globalization.CultureInfo.InvariantCulture), unicode);
        File.WriteAllLines(preds, ["only one line"]);
        Assert.Contains("has 1 lines but", Cli.Fails(1, ["eval", "rouge", "--predictions", preds, "--references", refs]));
        Assert.Contains("--references", Cli.Fails(2, ["eval", "rouge", "--predictions", preds]));
    }
}

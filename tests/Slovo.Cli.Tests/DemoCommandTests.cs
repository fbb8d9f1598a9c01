using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class DemoCommandTests
{
    private static string PushkinSample(int chars = 20_000)
    {
        string text = File.ReadAllText(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt"))[..chars];
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-demo").FullName, "text.txt");
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Args(string data, string outDir, int epochs, bool resume = false) =>
        ["demo", "--data", data, "--out", outDir, "--epochs", epochs.ToString(), "--batch", "4", "--bptt", "16", "--checkpoint-every", "7",
         "--emb", "8", "--hidden", "16", "--sample-len", "10", "--threads", "1", .. (resume ? new[] { "--resume" } : [])];

    [Fact]
    public void AKilledRunResumedEndsWithTheSameWeightsAsAnUninterruptedOne()
    {
        string data = PushkinSample();
        string straight = Directory.CreateTempSubdirectory("slovo-straight").FullName;
        string split = Directory.CreateTempSubdirectory("slovo-split").FullName;
        string log = Cli.Ok(Args(data, straight, 2));
        Assert.Contains("epoch 2: train loss", log);
        Assert.Contains("sample (temperature 0.8):\nЯ помню ", log);
        Cli.Ok(Args(data, split, 1));                                   // "killed" after the epoch-1 checkpoint
        Cli.Ok(Args(data, split, 2, resume: true));
        var a = SafeTensors.Load(Path.Combine(straight, "checkpoint.safetensors"));
        var b = SafeTensors.Load(Path.Combine(split, "checkpoint.safetensors"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach ((string key, Tensor t) in a)
            Assert.True(t.Equal(b[key]), $"{key} differs between the straight and the resumed run");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(split, "tensorboard"), "events.out.tfevents.*").Length); // one event file per run
        Assert.True(File.Exists(Path.Combine(straight, "summary.json")));

        // The demo's run folder is an ordinary language-model run.
        string sample = Cli.Ok("lm", "generate", "--model", straight, "--prompt", "Я", "--max-tokens", "5", "--greedy");
        Assert.StartsWith("Я", sample);
    }

    [Fact]
    public void PlotDrawsTheRunsCurves()
    {
        string run = Directory.CreateTempSubdirectory("slovo-plot").FullName;
        Cli.Ok(Args(PushkinSample(), run, 2));
        string png = Path.Combine(run, "curves.png");
        string said = Cli.Ok("plot", "--run", run);
        Assert.Contains("loss, perplexity, bits per character", said);
        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.Contains("holds no logged scalars", Cli.Fails(1, "plot", "--run", Directory.CreateTempSubdirectory("slovo-empty").FullName));
        Assert.Contains("no run folder", Cli.Fails(1, "plot", "--run", Path.Combine(run, "missing")));
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-demo-bad").FullName;
        string latin1 = Path.Combine(dir, "latin1.txt");
        File.WriteAllBytes(latin1, [.. System.Text.Encoding.UTF8.GetBytes(new string('a', 2000)), 0xE9, (byte)'\n']);
        Assert.Contains("is not valid UTF-8", Cli.Fails(1, "demo", "--data", latin1, "--out", dir));
        Assert.Contains("corpus not found", Cli.Fails(1, "demo", "--data", Path.Combine(dir, "nope.txt"), "--out", dir));
        Assert.Contains("Unrecognized command or argument '--stesp'", Cli.Fails(2, "demo", "--stesp", "3"));
        Assert.Contains("Cannot parse argument 'many' for option '--epochs'", Cli.Fails(2, "demo", "--epochs", "many"));
        Assert.Contains("vocab.json is missing", Cli.Fails(1, Args(PushkinSample(), Path.Combine(dir, "fresh"), 1, resume: true)));
    }
}

using Slovo.Cli;
using Slovo.Cli.Commands;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class DemoCommandTests
{
    private static string PushkinSample()
    {
        string text = File.ReadAllText(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt"))[..20_000];
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-demo").FullName, "text.txt");
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Args(string data, string outDir, int steps, bool resume = false) =>
        new[] { "--data", data, "--out", outDir, "--steps", steps.ToString(), "--eval-every", "3", "--batch", "4", "--seq", "16",
                "--emb", "8", "--hidden", "16", "--layers", "2", "--sample-len", "10", "--threads", "1" }
            .Concat(resume ? new[] { "--resume" } : []).ToArray();

    [Fact]
    public void AKilledRunResumedEndsWithTheSameWeightsAsAnUninterruptedOne()
    {
        string data = PushkinSample();
        string straight = Directory.CreateTempSubdirectory("slovo-straight").FullName;
        string split = Directory.CreateTempSubdirectory("slovo-split").FullName;
        Assert.Equal(0, DemoCommand.Run(Args(data, straight, 9)));
        Assert.Equal(0, DemoCommand.Run(Args(data, split, 6)));          // "killed" after the step-6 checkpoint
        Assert.Equal(0, DemoCommand.Run(Args(data, split, 9, resume: true)));
        var a = SafeTensors.LoadWithMetadata(Path.Combine(straight, "checkpoint.safetensors"));
        var b = SafeTensors.LoadWithMetadata(Path.Combine(split, "checkpoint.safetensors"));
        Assert.Equal("9", a.Metadata["step"]);
        Assert.Equal("9", b.Metadata["step"]);
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        foreach ((string key, Tensor t) in a.Tensors)
            Assert.True(t.Equal(b.Tensors[key]), $"{key} differs between the straight and the resumed run");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(split, "tensorboard"), "events.out.tfevents.*").Length); // one event file per run
        Assert.True(File.Exists(Path.Combine(straight, "summary.json")));
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-bad").FullName;
        string latin1 = Path.Combine(dir, "latin1.txt");
        File.WriteAllBytes(latin1, Enumerable.Repeat((byte)'a', 2000).Concat(new byte[] { 0xE9, 0x20 }).ToArray());
        var bad = Assert.Throws<InvalidDataException>(() => DemoCommand.ReadText(latin1));
        Assert.Contains("not valid UTF-8 (bad byte at offset 2000)", bad.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => DemoCommand.ReadText(Path.Combine(dir, "nope.txt")));
        Assert.Contains("nope.txt", missing.Message);
        string tiny = Path.Combine(dir, "tiny.txt");
        File.WriteAllText(tiny, "short");
        Assert.Contains("needs at least 1000", Assert.Throws<InvalidDataException>(() => DemoCommand.ReadText(tiny)).Message);
        Assert.Contains("unknown option: --stesp", Assert.Throws<UsageException>(() => DemoCommand.Run(["--stesp", "3"])).Message);
        Assert.Contains("--steps must be an integer", Assert.Throws<UsageException>(() => DemoCommand.Run(["--steps", "many"])).Message);
        string noCkpt = Directory.CreateTempSubdirectory("slovo-nockpt").FullName;
        Assert.Throws<FileNotFoundException>(() => DemoCommand.Run(Args(PushkinSample(), noCkpt, 3, resume: true)));
    }
}

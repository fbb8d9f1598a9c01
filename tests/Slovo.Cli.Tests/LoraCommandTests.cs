namespace Slovo.Cli.Tests;

/// <summary>
/// `lm train --init … --lora R` trains a PEFT adapter on the shipped Llama GGUF; the run, the base with `--adapter`, and the
/// model `models merge` writes all evaluate and generate alike.
/// </summary>
[Collection("cli")]
public sealed class LoraCommandTests
{
    [Fact]
    public void ALoraRunGeneratesAsItsBaseWithTheAdapterAndAsTheMergedModel()
    {
        string gguf = TestSupport.TestPaths.SharedModel("llama-2-tiny-random-gguf", "llama-2-tiny-random.gguf");
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-lora-data").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Where(l => l.Length > 0).Take(600));
        string run = Directory.CreateTempSubdirectory("slovo-lora-run").FullName, merged = Directory.CreateTempSubdirectory("slovo-lora-merged").FullName;
        string printed = Cli.Ok("lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", gguf, "--context", "32", "--epochs", "2",
                                "--batch", "8", "--warmup", "2", "--lr", "0.05", "--threads", "1", "--out", run,
                                "--lora", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj,down_proj");
        Assert.Contains("LoRA: rank 4, alpha 8", printed);
        Assert.Contains("trainable parameters", printed);
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(run, "model")));

        string[] greedy = ["--prompt", "Я", "--greedy", "--max-tokens", "12"];
        string fromRun = Cli.Ok(["lm", "generate", "--model", run, .. greedy]);
        string fromBase = Cli.Ok(["lm", "generate", "--model", gguf, "--adapter", Path.Combine(run, "adapter"), .. greedy]);
        Assert.Equal(fromRun, fromBase);
        Assert.Contains("wrote " + merged, Cli.Ok("models", "merge", "--adapter", run, "--out", merged));
        Assert.Equal(fromRun, Cli.Ok(["lm", "generate", "--model", merged, .. greedy]));
        string[] eval = ["--data", data, "--format", "lines", "--context", "32"];
        string evalRun = Cli.Ok(["lm", "eval", "--model", run, .. eval]), evalMerged = Cli.Ok(["lm", "eval", "--model", merged, .. eval]);
        static string Figures(string s) => s[s.IndexOf("loss ", StringComparison.Ordinal)..];
        Assert.Equal(Figures(evalRun), Figures(evalMerged));
        Assert.NotEqual(Figures(evalRun), Figures(Cli.Ok(["lm", "eval", "--model", gguf, .. eval])));

        Assert.Contains("models merge", Cli.Fails(2, ["lm", "generate", "--model", run, "--engine", "llamacpp", .. greedy]));
        Assert.Contains("give it with --init", Cli.Fails(2, ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--lora", "4", "--out", run]));
        Assert.Contains("c_attn", Cli.Fails(2, ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", gguf, "--lora", "4",
                                                "--lora-targets", "c_attn", "--out", Directory.CreateTempSubdirectory("slovo-lora-bad").FullName]));
    }
}

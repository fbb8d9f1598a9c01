using System.Diagnostics;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

/// <summary>
/// `lm train --init` fine-tunes an open-family model fully (here the shipped Llama GGUF), and a run stopped after its first
/// epoch and resumed ends with the same weights as one that ran straight through; the run evaluates, generates and chats.
/// </summary>
[Collection("cli")]
public sealed class OpenModelTrainTests
{
    [Fact]
    public void ALlamaFineTunesAndAResumedRunEqualsAStraightOne()
    {
        string gguf = TestSupport.TestPaths.SharedModel("llama-2-tiny-random-gguf", "llama-2-tiny-random.gguf");
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-llama-data").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Where(l => l.Length > 0).Take(1500));
        string straight = Directory.CreateTempSubdirectory("slovo-llama-straight").FullName, split = Directory.CreateTempSubdirectory("slovo-llama-split").FullName;
        string[] Train(string run, int epochs) => ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", gguf, "--context", "32",
                                                   "--epochs", epochs.ToString(), "--batch", "8", "--warmup", "2", "--lr", "0.01", "--threads", "1", "--out", run,
                                                   "--checkpoint-every", "5"];
        string printed = Cli.Ok(Train(straight, 2));
        Assert.Contains("model: llama, 1 layer(s), 2 heads (2 key/value), width 8", printed);
        Assert.Contains("epoch 2: train loss", printed);
        // The same run in its own process, killed once its first checkpoint is on disk, then resumed here.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll"));
        foreach (string arg in Train(split, 2)) start.ArgumentList.Add(arg);
        using (Process process = Process.Start(start)!)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(split, "checkpoint.safetensors")) && !process.HasExited && clock.Elapsed.TotalSeconds < 120) Thread.Sleep(20);
            Assert.False(process.HasExited, "the run finished before it could be killed; give it more work");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Cli.Ok([.. Train(split, 2), "--resume"]);
        var a = SafeTensors.Load(Path.Combine(straight, "checkpoint.safetensors"));
        var b = SafeTensors.Load(Path.Combine(split, "checkpoint.safetensors"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach ((string key, Tensor t) in a) Assert.True(t.Equal(b[key]), $"{key} differs between the straight and the resumed run");
        // The best weights are a Llama folder with the file's tokenizer; the run evaluates at its training loss's level and chats.
        foreach (string f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(straight, "model", f)), f);
        string eval = Cli.Ok("lm", "eval", "--model", straight, "--data", data, "--format", "lines", "--context", "32");
        double perplexity = double.Parse(eval.Split("perplexity ")[1].Split(',')[0], System.Globalization.CultureInfo.CurrentCulture);
        Assert.True(perplexity < 32000 / 4.0, $"perplexity {perplexity} after fine-tuning a random 32,000-token model");
        Assert.StartsWith("Я", Cli.Ok("lm", "generate", "--model", straight, "--prompt", "Я", "--greedy", "--max-tokens", "5"));
    }
}

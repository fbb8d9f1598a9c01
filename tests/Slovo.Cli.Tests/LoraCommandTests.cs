namespace Slovo.Cli.Tests;

/// <summary>
/// `lm train --init … --lora R` trains a PEFT adapter on the shipped Llama GGUF; the run, the base with `--adapter`, and the
/// model `models merge` writes all evaluate and generate alike.
/// </summary>
[Collection("cli")]
public sealed class LoraCommandTests
{
    // The first non-empty lines of the shipped Pushkin poems, one text each, in a file of their own.
    internal static string Poems(int lines)
    {
        string data = Path.Combine(Directory.CreateTempSubdirectory("slovo-poems").FullName, "poems.txt");
        File.WriteAllLines(data, File.ReadLines(TestSupport.TestPaths.SharedData("pushkin", "pushkin.txt")).Where(l => l.Length > 0).Take(lines));
        return data;
    }

    [Fact]
    public void ALoraRunGeneratesAsItsBaseWithTheAdapterAndAsTheMergedModel()
    {
        string gguf = ServeCommandTests.TinyLlama, data = Poems(600);
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

        // One server, the base once, the adapter as a model of its own: each answers as the library does with and without it.
        (System.Diagnostics.Process server, Uri address, _) = ServeCommandTests.Start("--adapter", "tuned=" + run);
        try
        {
            using var http = new HttpClient { BaseAddress = address };
            string Served(string model)
            {
                string json = System.Text.Json.JsonSerializer.Serialize(new { model, prompt = "Я", max_tokens = 12, temperature = 0 });
                using HttpResponseMessage r = http.PostAsync("/v1/completions", new StringContent(json, System.Text.Encoding.UTF8, "application/json")).GetAwaiter().GetResult();
                string body = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                Assert.True(r.IsSuccessStatusCode, body);
                return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
            }
            string Library(string? adapter)
            {
                using LanguageModels.LanguageModel lm = Models.ModelRegistry.Default.LoadLanguageModel(gguf, new Models.ModelLoadOptions { Adapter = adapter });
                var options = new Generation.GenerationOptions { Greedy = true, MaxTokens = 12, EosToken = lm.Vocabulary.EosId };
                return lm.Decode(lm.Generate(lm.EncodePrompt("Я"), options).Tokens);
            }
            string tuned = Served("tuned"), plain = Served(Path.GetFileName(gguf));
            Assert.Equal(Library(Path.Combine(run, "adapter")), tuned);
            Assert.Equal(Library(null), plain);
            Assert.NotEqual(tuned, plain);
        }
        finally
        {
            ServeCommandTests.Terminate(server);
            server.WaitForExit(30_000);
        }

        Assert.Contains("models merge", Cli.Fails(2, ["lm", "generate", "--model", run, "--engine", "llamacpp", .. greedy]));
        Assert.Contains("give it with --init", Cli.Fails(2, ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--lora", "4", "--out", run]));
        Assert.Contains("c_attn", Cli.Fails(2, ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", gguf, "--lora", "4",
                                                "--lora-targets", "c_attn", "--out", Directory.CreateTempSubdirectory("slovo-lora-bad").FullName]));
    }
}

/// <summary>`lm train --checkpoint-activations` trains to the weights of the plain run.</summary>
[Collection("cli")]
public sealed class CheckpointActivationsCommandTests
{
    [Fact]
    public void ACheckpointedRunEndsWithThePlainRunsWeights()
    {
        string gguf = ServeCommandTests.TinyLlama, data = LoraCommandTests.Poems(300);
        string plain = Directory.CreateTempSubdirectory("slovo-ckpt-plain").FullName, checkpointed = Directory.CreateTempSubdirectory("slovo-ckpt-on").FullName;
        string[] Train(string run) => ["lm", "train", "--data", data, "--format", "lines", "--model", "gpt", "--init", gguf, "--context", "32", "--epochs", "1",
                                       "--batch", "8", "--warmup", "2", "--lr", "0.01", "--threads", "1", "--out", run];
        Cli.Ok(Train(plain));
        Cli.Ok([.. Train(checkpointed), "--checkpoint-activations"]);
        var a = Slovo.Torch.Serialization.SafeTensors.Load(Path.Combine(plain, "model", "model.safetensors"));
        var b = Slovo.Torch.Serialization.SafeTensors.Load(Path.Combine(checkpointed, "model", "model.safetensors"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach ((string key, Slovo.Torch.Tensor t) in a)
        {
            double diff = t.Sub(b[key]).Abs().Max().ToDouble();
            Assert.True(diff < 1e-5, $"{key} differs by {diff:g3} between the plain and the checkpointed run");
        }
        Assert.Contains("is for --model gpt", Cli.Fails(2, ["lm", "train", "--data", data, "--format", "lines", "--checkpoint-activations", "--out", plain]));
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Slovo.Import;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

/// <summary>
/// `slovo chat` as a script uses it (stdin piped, a separate process), and `slovo models import --gguf` / `models export
/// --gguf` on the shipped tiny GGUF (a file of llama.cpp's converter).
/// </summary>
[Collection("cli")]
public sealed class ChatCommandTests
{
    private static string TinyLlama => TestSupport.TestPaths.SharedModel("llama-2-tiny-random-gguf", "llama-2-tiny-random.gguf");

    private static (int Code, string Out, string Err) RunProcess(string stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(180_000), "slovo chat did not finish in 3 minutes");
        return (process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void ChatAnswersAConversationPipedOnStdin()
    {
        string saved = Path.Combine(Path.GetTempPath(), $"slovo-chat-{Guid.NewGuid():N}.json");
        try
        {
            (int code, string output, string error) = RunProcess($"Hello!\n/system Answer briefly.\nWhat is two and two?\n/save {saved}\n",
                "chat", "--model", TinyLlama, "--greedy", "--max-tokens", "6");
            Assert.True(code == 0, error);
            string[] replies = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, replies.Length);
            Assert.All(replies, r => Assert.False(string.IsNullOrWhiteSpace(r)));
            Assert.Contains("no chat template", error);
            var conversation = (JsonArray)JsonNode.Parse(File.ReadAllText(saved))!;
            Assert.Equal(["system", "user", "assistant", "user", "assistant"], conversation.Select(m => m!["role"]!.GetValue<string>()));
            Assert.Equal(replies[1], conversation[4]!["content"]!.GetValue<string>());
        }
        finally { File.Delete(saved); }
    }

    [Fact]
    public async Task CtrlCStopsTheReplyAndTheSessionGoesOn()
    {
        // A job started in the background (`cmd &` in a script, nohup) ignores SIGINT, and its children inherit that; env
        // gives the chat process SIGINT's default disposition back, as a terminal's foreground process has it.
        var start = new ProcessStartInfo("env") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll"), "chat", "--model", TinyLlama, "--greedy", "--max-tokens", "4000" })
            start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        var error = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (error) error.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        // Characters, not lines: a reply in progress has no line end yet.
        var streamed = new System.Text.StringBuilder();
        Task reader = Task.Run(() =>
        {
            var buffer = new char[256];
            int n;
            while ((n = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0) lock (streamed) streamed.Append(buffer, 0, n);
        });
        process.StandardInput.WriteLine("Tell me a very long story.");
        process.StandardInput.Flush();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 60) { lock (streamed) if (streamed.Length > 20) break; Thread.Sleep(20); }
        Assert.True(streamed.Length > 20, "the reply never started streaming");
        using (Process kill = Process.Start("kill", ["-INT", process.Id.ToString()])!) kill.WaitForExit();
        clock.Restart();
        while (clock.Elapsed.TotalSeconds < 30) { lock (error) if (error.ToString().Contains("(reply stopped)")) break; Thread.Sleep(20); }
        string SigIgn() => File.Exists($"/proc/{process.Id}/status")
            ? File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) ?? "" : "(exited)";
        Assert.True(error.ToString().Contains("(reply stopped)"),
            $"no '(reply stopped)' 30 s after SIGINT; {streamed.Length} characters streamed; {SigIgn()}; exited: {process.HasExited}; standard error:\n{error}");
        Assert.False(process.HasExited, "Ctrl+C ended the session");
        process.StandardInput.WriteLine("/exit");
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(30_000));
        await reader.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, process.ExitCode);
        Assert.True(streamed.ToString().Length < 4000 * 2, "the reply ran on to its token limit");
    }

    [Fact]
    public void AGgufImportsAsAFolderAndExportsBackInEachType()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"slovo-import-{Guid.NewGuid():N}");
        try
        {
            string imported = Cli.Ok("models", "import", "--gguf", TinyLlama, "--out", dir);
            Assert.Contains("llama", imported);
            Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")) && File.Exists(Path.Combine(dir, "model.safetensors")));
            foreach (string type in new[] { "f32", "f16", "bf16", "q8_0" })
            {
                string gguf = Path.Combine(dir, $"back-{type}.gguf");
                Cli.Ok("models", "export", "--model", dir, "--gguf", gguf, "--type", type);
                GgufFile back = GgufFile.Read(gguf), original = GgufFile.Read(TinyLlama);
                Assert.Equal(original.GetArray<string>("tokenizer.ggml.tokens"), back.GetArray<string>("tokenizer.ggml.tokens"));
                Assert.Equal(original.Tensors.Select(t => t.Name).Order(), back.Tensors.Select(t => t.Name).Order());
                // The F32 file holds the original F16 weights exactly (Q and K rows back in llama.cpp's order).
                if (type == "f32")
                    foreach (GgufTensorInfo t in original.Tensors)
                    {
                        using Slovo.Torch.Tensor a = original.Load(t), b = back.Load(back.Find(t.Name)!);
                        Assert.True(a.Equal(b), t.Name);
                    }
            }
            Assert.Contains("does not exist", Cli.Fails(1, "models", "export", "--model", dir + "-missing", "--gguf", Path.Combine(dir, "x.gguf")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void GenerateGivesTheSameGreedyTokensOnEitherDecoderEngine()
    {
        string[] args = ["lm", "generate", "--model", TinyLlama, "--prompt", "Once upon a time", "--greedy", "--max-tokens", "12"];
        string torch = Cli.Ok([.. args, "--engine", "torch"]), llama = Cli.Ok([.. args, "--engine", "llamacpp"]);
        Assert.Equal(torch, llama);
        Assert.Contains("runs encoders", Cli.Fails(2, [.. args, "--engine", "onnxruntime"]));
        Assert.Contains("give --gguf FILE", Cli.Fails(2, "models", "export", "--model", TinyLlama));
    }
}

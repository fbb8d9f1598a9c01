using System.Diagnostics;
using System.Text;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class ServeCommandTests
{
    [Fact]
    public void ServeExplainsWhatItNeedsBeforeListening()
    {
        Assert.Contains("--chat-template", Cli.Ok("serve", "--help"));
        Assert.Contains("give a model to serve", Cli.Fails(2, ["serve"]));
        string missing = Path.Combine(Path.GetTempPath(), "slovo-no-such-model");
        Assert.Contains("does not exist", Cli.Fails(1, ["serve", "--model", missing]));
        Assert.Contains("--port", Cli.Fails(2, ["serve", "--model", missing, "--port", "70000"]));
        Assert.Contains("--device", Cli.Fails(2, ["serve", "--model", missing, "--device", "tpu"]));
    }

    internal static string TinyLlama => TestSupport.TestPaths.SharedModel("llama-2-tiny-random-gguf", "llama-2-tiny-random.gguf");

    // `slovo serve` as its own process on a free port: the process, its address, and its standard error so far.
    internal static (Process Server, Uri Address, StringBuilder Errors) Start(params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Slovo.Cli.dll"));
        foreach (string a in new[] { "serve", "--model", TinyLlama, "--port", "0", "--quiet", "--engine", "torch" }.Concat(extra)) start.ArgumentList.Add(a);
        Process server = Process.Start(start)!;
        var errors = new StringBuilder();
        server.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        server.BeginErrorReadLine();
        Task<string?> line = server.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(120)) || line.Result is not { } printed || !printed.StartsWith("serving on ", StringComparison.Ordinal))
        {
            server.Kill();
            throw new Xunit.Sdk.XunitException($"the server did not start: {line.Result} {errors}");
        }
        _ = server.StandardOutput.ReadToEndAsync();
        return (server, new Uri(printed["serving on ".Length..].Split(' ')[0]), errors);
    }

    internal static void Terminate(Process server)
    {
        using Process kill = Process.Start("kill", ["-TERM", server.Id.ToString()])!;
        kill.WaitForExit();
    }

    // Reads a completion's event stream; once the first event has come, calls onFirst. Returns every event's data.
    private static async Task<List<string>> ReadStream(HttpClient http, object request, Action onFirst)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(request), Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        try
        {
            while (await reader.ReadLineAsync() is { } line)
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(line["data: ".Length..]);
                    if (events.Count == 1) onFirst();
                }
        }
        catch (Exception e) when (e is IOException or HttpRequestException) { } // the server cut the stream
        return events;
    }

    [Fact]
    public async Task SigtermLetsARunningStreamFinishRefusesNewRequestsAndExitsZero()
    {
        (Process server, Uri address, StringBuilder errors) = Start("--drain-timeout", "60");
        using (server)
        {
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
            bool refused = false;
            List<string> events = await ReadStream(http, new { prompt = "Once upon a time", max_tokens = 1000, min_tokens = 1000, temperature = 0, stream = true }, () =>
            {
                Terminate(server);
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < 30) { lock (errors) if (errors.ToString().Contains("stopping:")) break; Thread.Sleep(10); }
                // While the stream is still being read, a new connection is refused.
                clock.Restart();
                while (!refused && clock.Elapsed.TotalSeconds < 20)
                {
                    using var fresh = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
                    try { fresh.GetAsync("/health").GetAwaiter().GetResult().Dispose(); Thread.Sleep(20); }
                    catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException) { refused = true; } // refused or reset
                }
            });
            Assert.True(errors.ToString().Contains("stopping:"), errors.ToString());
            Assert.True(refused, "a new connection was still accepted while draining");
            Assert.Equal("[DONE]", events[^1]);
            Assert.Contains("\"finish_reason\":\"length\"", events[^2]); // it ran to its 1,000 tokens
            Assert.True(server.WaitForExit(60_000), "the server did not exit");
            Assert.Equal(0, server.ExitCode);
        }
    }

    [Fact]
    public async Task SigtermCancelsWhatRunsPastTheDrainTimeout()
    {
        (Process server, Uri address, StringBuilder errors) = Start("--drain-timeout", "0.2", "--timeout", "600");
        using (server)
        {
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
            var clock = Stopwatch.StartNew();
            List<string> events = await ReadStream(http, new { prompt = "Once upon a time", max_tokens = 1900, min_tokens = 1900, temperature = 0, stream = true }, () => Terminate(server));
            Assert.True(server.WaitForExit(60_000), "the server did not exit");
            Assert.Equal(0, server.ExitCode);
            Assert.NotEqual("[DONE]", events[^1]); // cut off, not finished
            Assert.True(events.Count < 1900, $"{events.Count} events: the stream ran to its end");
            Assert.Contains("stopping:", errors.ToString());
        }
    }
}

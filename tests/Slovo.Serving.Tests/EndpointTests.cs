using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Slovo.Generation;

namespace Slovo.Serving.Tests;

public sealed class EndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Client => server.Client;

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, string json)
    {
        using HttpResponseMessage r = await Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static GenerationResult Reference(string prompt, int maxTokens, ServedModels models, int seed = 0, bool greedy = true)
    {
        var lm = models.Generator!;
        return lm.Generate(lm.EncodePrompt(prompt), new GenerationOptions
        {
            MaxTokens = maxTokens, Greedy = greedy, Temperature = greedy ? 0 : 1, Seed = seed, EosToken = lm.Vocabulary.EosId,
        });
    }

    private static string Expected(string prompt, int maxTokens, ServedModels models, int seed = 0, bool greedy = true) =>
        models.Generator!.Decode(Reference(prompt, maxTokens, models, seed, greedy).Tokens);

    // OpenAI's finish_reason for how the library's generation ended.
    private static string Finish(GenerationResult r) => r.Reason == StopReason.MaxTokens ? "length" : "stop";

    [Fact]
    public async Task Completion_gives_the_models_greedy_text_with_usage()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/completions", """{"model":"tiny-gpt","prompt":"we propose","max_tokens":10,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal(Expected("we propose", 10, server.Models), choice.GetProperty("text").GetString());
        GenerationResult reference = Reference("we propose", 10, server.Models);
        Assert.Equal(Finish(reference), choice.GetProperty("finish_reason").GetString());
        JsonElement usage = body.GetProperty("usage");
        Assert.Equal(server.Models.Generator!.EncodePrompt("we propose").Count, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(reference.Tokens.Count, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + reference.Tokens.Count, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Prompt_lists_and_n_give_one_choice_each_seeded_like_the_library()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/completions", """{"prompt":["we","the"],"n":2,"max_tokens":8,"seed":40}""");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonElement[] choices = body.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        // Choice i of a prompt samples with seed + i.
        Assert.Equal(Expected("we", 8, server.Models, 40, greedy: false), choices[0].GetProperty("text").GetString());
        Assert.Equal(Expected("we", 8, server.Models, 41, greedy: false), choices[1].GetProperty("text").GetString());
        Assert.Equal(Expected("the", 8, server.Models, 41, greedy: false), choices[3].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Stop_strings_end_the_text_before_them()
    {
        string full = Expected("we", 40, server.Models);
        string stop = full.Substring(10, 2);
        int at = full.IndexOf(stop, StringComparison.Ordinal);
        (_, JsonElement body) = await Post("/v1/completions", JsonSerializer.Serialize(new { prompt = "we", max_tokens = 40, temperature = 0, stop }));
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal(full[..at], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Streaming_sends_events_whose_pieces_make_the_whole_text_then_done()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"we propose","max_tokens":12,"temperature":0,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage r = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        string[] events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e[6..]).RootElement.GetProperty("choices")[0]).ToList();
        Assert.True(chunks.Count > 2, "the text came in one piece, not streamed");
        Assert.Equal(Expected("we propose", 12, server.Models), string.Concat(chunks.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal(Finish(Reference("we propose", 12, server.Models)), chunks[^1].GetProperty("finish_reason").GetString());
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
    }

    [Fact]
    public async Task Chat_renders_the_messages_and_streams_openai_chunks()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/chat/completions",
            """{"messages":[{"role":"system","content":"we"},{"role":"user","content":"propose"}],"max_tokens":9,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        JsonElement message = body.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(Expected("we\npropose", 9, server.Models), message.GetProperty("content").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"messages":[{"role":"user","content":[{"type":"text","text":"we"}]}],"max_tokens":6,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}""", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage r = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string[] events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e[6..]).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        Assert.Equal(Expected("we", 6, server.Models), text);
        Assert.Equal(Reference("we", 6, server.Models).Tokens.Count, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Embeddings_are_the_encoders_vectors_as_floats_or_base64()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/embeddings", """{"input":["how do i install a package","the best editor"],"model":"tiny-bert"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        float[][] expected = server.Models.Embedder!.Encode(["how do i install a package", "the best editor"]);
        JsonElement[] data = body.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, data.Length);
        for (int i = 0; i < 2; ++i)
        {
            float[] got = data[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            AssertClose(expected[i], got);
        }
        Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);

        (_, JsonElement b64) = await Post("/v1/embeddings", """{"input":"the best editor","encoding_format":"base64"}""");
        byte[] bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        AssertClose(expected[1], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
    }

    // The server's vectors against a direct Encode: equal up to libtorch's parallel summation order (threads vary run to run).
    internal static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-6, $"largest difference {worst:E2}");
    }

    [Fact]
    public async Task Classify_gives_labels_and_probabilities()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/classify", """{"input":["a wonderful film","a dull mess"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        foreach (JsonElement d in body.GetProperty("data").EnumerateArray())
        {
            float[] p = d.GetProperty("probabilities").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            Assert.Equal(2, p.Length);
            Assert.Equal(1.0, p.Sum(), 4);
            Assert.Equal(Array.IndexOf(p, p.Max()), d.GetProperty("label").GetInt32());
        }
    }

    [Fact]
    public async Task Tokenize_gives_ids_tokens_and_offsets_into_the_text()
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/tokenize", """{"text":"we Я"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(server.Models.Generator!.Vocabulary.Encode("we Я"), body.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(["w", "e", " ", "Я"], body.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal([[0, 1], [1, 2], [2, 3], [3, 4]], body.GetProperty("offsets").EnumerateArray().Select(o => o.EnumerateArray().Select(x => x.GetInt32()).ToArray()));
    }

    [Fact]
    public async Task Models_health_and_the_playground_answer()
    {
        JsonElement models = await Client.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal(["tiny-gpt", "tiny-bert", "tiny-classifier"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        JsonElement health = await Client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        using HttpResponseMessage page = await Client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Slovo playground", await page.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": ", 400, "not valid JSON")]
    [InlineData("/v1/completions", "[1,2]", 400, "JSON object")]
    [InlineData("/v1/completions", "{\"max_tokens\": 5}", 400, "'prompt' is required")]
    [InlineData("/v1/completions", "{\"prompt\": []}", 400, "empty list")]
    [InlineData("/v1/completions", "{\"prompt\": 5}", 400, "'prompt' must be a string")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"max_tokens\": \"ten\"}", 400, "'max_tokens' must be an integer")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"max_tokens\": 0}", 400, "'max_tokens' is 0")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"temperature\": 3}", 400, "'temperature' is 3")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"stream\": \"yes\"}", 400, "'stream' must be true or false")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"max_tokens\": 500}", 400, "context of 96")]
    [InlineData("/v1/completions", "{\"prompt\": \"we\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "at most 4")]
    [InlineData("/v1/chat/completions", "{\"messages\": []}", 400, "'messages' is empty")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", 400, "role 'robot'")]
    [InlineData("/v1/embeddings", "{\"input\": [1, 2]}", 400, "'input' must be a string")]
    [InlineData("/v1/embeddings", "{\"input\": \"x\", \"encoding_format\": \"hex\"}", 400, "use float or base64")]
    [InlineData("/v1/classify", "{\"input\": []}", 400, "empty list")]
    [InlineData("/v1/tokenize", "{}", 400, "'text' is required")]
    [InlineData("/v1/nothing", "{}", 404, "no endpoint POST /v1/nothing")]
    public async Task Bad_requests_get_openais_error_object_and_status(string path, string json, int status, string message)
    {
        (HttpStatusCode code, JsonElement body) = await Post(path, json);
        Assert.Equal(status, (int)code);
        JsonElement error = body.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task An_oversized_body_gets_413()
    {
        string big = JsonSerializer.Serialize(new { prompt = new string('w', 70 * 1024) });
        (HttpStatusCode code, JsonElement body) = await Post("/v1/completions", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
        Assert.Contains("--max-body", body.GetProperty("error").GetProperty("message").GetString());
    }
}

public sealed class BusyServerTests
{
    [Fact]
    public async Task A_request_past_the_time_limit_gets_504_and_a_stream_ends_with_an_error_event()
    {
        using ServedModels models = new() { Generator = TestModels.Gpt(), GeneratorId = "tiny-gpt" };
        var options = ServerFixture.Options with { Scheduler = new SchedulerOptions { Timeout = TimeSpan.FromMilliseconds(1) } };
        await using var app = SlovoServer.Create(models, options, b => b.WebHost.UseTestServer());
        await app.StartAsync();
        using HttpClient client = app.GetTestClient();
        using HttpResponseMessage r = await client.PostAsync("/v1/completions", new StringContent("""{"prompt":"we","max_tokens":80,"min_tokens":80}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode);
        Assert.Contains("limit", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString());
        using HttpResponseMessage s = await client.PostAsync("/v1/completions", new StringContent("""{"prompt":"we","max_tokens":80,"min_tokens":80,"stream":true}""", Encoding.UTF8, "application/json"));
        string[] events = (await s.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.Contains("\"error\"", events[^2]);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_stops_its_generation()
    {
        // The LSTM has no context limit, so the request can ask for a million tokens: minutes of work, so the sequence is still
        // running when the client leaves however slowly a loaded machine lets the client read its first event.
        using ServedModels models = new() { Generator = TestModels.Lstm(), GeneratorId = "tiny-lstm" };
        await using var app = SlovoServer.Create(models, ServerFixture.Options with { MaxTokensLimit = 1_000_000 }, b => b.WebHost.UseTestServer());
        await app.StartAsync();
        using HttpClient client = app.GetTestClient();
        var scheduler = (CompletionScheduler)app.Services.GetService(typeof(CompletionScheduler))!;
        using var cts = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"we","max_tokens":1000000,"min_tokens":1000000,"stream":true,"seed":3}""", Encoding.UTF8, "application/json"),
        };
        using (HttpResponseMessage r = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(cts.Token));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(cts.Token));
            cts.Cancel();
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (scheduler.Cancelled == 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        Assert.True(scheduler.Cancelled == 1, $"cancelled {scheduler.Cancelled}, finished {scheduler.Finished}, active {scheduler.Active} after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, scheduler.Finished);
    }

    [Fact]
    public async Task A_full_queue_gets_503_with_retry_after()
    {
        using ServedModels models = new() { Generator = TestModels.Gpt(), GeneratorId = "tiny-gpt" };
        var options = ServerFixture.Options with { Scheduler = new SchedulerOptions { MaxBatch = 1, QueueCapacity = 1 } };
        await using var app = SlovoServer.Create(models, options, b => b.WebHost.UseTestServer());
        await app.StartAsync();
        using HttpClient client = app.GetTestClient();
        // More long requests at once than one row plus one queued place can hold.
        var requests = Enumerable.Range(0, 6).Select(_ => client.PostAsync("/v1/completions",
            new StringContent("""{"prompt":"we","max_tokens":80}""", Encoding.UTF8, "application/json"))).ToList();
        HttpResponseMessage[] responses = await Task.WhenAll(requests);
        HttpResponseMessage busy = Assert.Single(responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).Take(1));
        Assert.Equal("1", busy.Headers.GetValues("Retry-After").Single());
        JsonElement error = JsonDocument.Parse(await busy.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains("busy", error.GetProperty("message").GetString());
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        foreach (HttpResponseMessage r in responses) r.Dispose();
    }
}

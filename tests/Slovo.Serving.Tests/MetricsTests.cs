using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Slovo.Serving.Tests;

/// <summary>/metrics, read by an independent parser: the Prometheus Python client's (python3-prometheus-client; scripts/test installs it).</summary>
public sealed class MetricsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = text_string_to_metric_families(sys.stdin.read())
        print(json.dumps([{"name": f.name, "type": f.type, "help": f.documentation,
                           "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]} for f in families]))
        """;

    // The parser's view of the text: [{name, type, help, samples: [{name, labels, value}]}]; a family's name drops the
    // _total of a counter.
    private static JsonElement Parse(string text)
    {
        string python = Environment.GetEnvironmentVariable("SLOVO_PYTHON") ?? "/usr/bin/python3";
        var start = new ProcessStartInfo(python, ["-c", Parser]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process parser = Process.Start(start) ?? throw new InvalidOperationException($"{python} did not start");
        parser.StandardInput.Write(text);
        parser.StandardInput.Close();
        string output = parser.StandardOutput.ReadToEnd();
        string errors = parser.StandardError.ReadToEnd();
        Assert.True(parser.WaitForExit(30_000), "the parser did not finish in 30 s");
        if (errors.Contains("No module named 'prometheus_client'"))
            throw new InvalidOperationException("the Prometheus Python client is missing: apt-get install -y python3-prometheus-client (scripts/test does)");
        Assert.True(parser.ExitCode == 0, errors + "\n" + text);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static JsonElement Family(JsonElement parsed, string name) =>
        parsed.EnumerateArray().SingleOrDefault(f => f.GetProperty("name").GetString() == name) is { ValueKind: JsonValueKind.Object } family
            ? family : throw new Xunit.Sdk.XunitException($"no metric {name} in {string.Join(", ", parsed.EnumerateArray().Select(f => f.GetProperty("name").GetString()))}");

    // The sum of a family's samples named <paramref name="sample"/> with the given labels.
    private static double Value(JsonElement family, string sample, params (string Label, string Value)[] labels) =>
        family.GetProperty("samples").EnumerateArray()
            .Where(m => m.GetProperty("name").GetString() == sample
                        && labels.All(l => m.GetProperty("labels").TryGetProperty(l.Label, out JsonElement v) && v.GetString() == l.Value))
            .Sum(m => m.GetProperty("value").GetDouble());

    [Fact]
    public async Task Metrics_count_requests_tokens_and_time_to_first_token_in_prometheus_text()
    {
        async Task<HttpStatusCode> Post(string path, string json)
        {
            using HttpResponseMessage r = await server.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
            await r.Content.ReadAsStringAsync();
            return r.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await Post("/v1/completions", """{"prompt":"we propose","max_tokens":5,"min_tokens":5,"temperature":0}"""));
        Assert.Equal(HttpStatusCode.OK, await Post("/v1/completions", """{"prompt":"the","max_tokens":4,"min_tokens":4,"stream":true}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await Post("/v1/completions", """{"prompt":"we","max_tokens":0}"""));
        using HttpResponseMessage scrape = await server.Client.GetAsync("/metrics");
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType!.MediaType);
        JsonElement parsed = Parse(await scrape.Content.ReadAsStringAsync());

        JsonElement requests = Family(parsed, "slovo_serving_requests");
        Assert.Equal(2, Value(requests, "slovo_serving_requests", ("endpoint", "/v1/completions"), ("status", "200")));
        Assert.Equal(1, Value(requests, "slovo_serving_requests", ("endpoint", "/v1/completions"), ("status", "400")));
        var lm = server.Models.Generator!;
        Assert.Equal(lm.EncodePrompt("we propose").Count + lm.EncodePrompt("the").Count, Value(Family(parsed, "slovo_serving_prompt_tokens"), "slovo_serving_prompt_tokens"));
        Assert.Equal(9, Value(Family(parsed, "slovo_serving_completion_tokens"), "slovo_serving_completion_tokens"));
        Assert.Equal("gauge", Family(parsed, "slovo_serving_queue_depth").GetProperty("type").GetString());
        Assert.Equal(0, Value(Family(parsed, "slovo_serving_active_sequences"), "slovo_serving_active_sequences"));
        JsonElement first = Family(parsed, "slovo_serving_time_to_first_token_seconds");
        Assert.Equal("histogram", first.GetProperty("type").GetString());
        Assert.Equal(2, Value(first, "slovo_serving_time_to_first_token_seconds_count")); // one per choice
        Assert.Equal(2, Value(first, "slovo_serving_time_to_first_token_seconds_bucket", ("le", "+Inf")));
        Assert.True(first.GetProperty("samples").EnumerateArray().Count(s => s.GetProperty("name").GetString()!.EndsWith("_bucket")) > 5);
        JsonElement perToken = Family(parsed, "slovo_serving_time_per_output_token_seconds");
        Assert.Equal(7, Value(perToken, "slovo_serving_time_per_output_token_seconds_count")); // 4 + 3 gaps between tokens
    }
}

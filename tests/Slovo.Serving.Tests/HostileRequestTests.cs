using System.Net;
using System.Text;
using System.Text.Json;
using Slovo.Generation;

namespace Slovo.Serving.Tests;

/// <summary>Requests a client should never send, each answered with a 4xx and OpenAI's error object (regression cases), and
/// prompts given as token ids.</summary>
public sealed class HostileRequestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using HttpResponseMessage r = await server.Client.PostAsync(path, content);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, string json) => Post(path, Encoding.UTF8.GetBytes(json));

    private static string Message(JsonElement body) => body.GetProperty("error").GetProperty("message").GetString()!;

    [Fact]
    public async Task Malformed_utf8_is_a_400_naming_the_byte()
    {
        byte[] body = [.. "{\"prompt\": \"we "u8, 0xC3, 0x28, .. "\"}"u8];
        (HttpStatusCode status, JsonElement json) = await Post("/v1/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not valid UTF-8", Message(json));
        Assert.Contains("byte 15", Message(json));
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": \"we \\ud800\"}", "'prompt'")]
    [InlineData("/v1/completions", "{\"prompt\": [\"ok\", \"\\udc00x\"]}", "'prompt[1]'")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud83d\"}]}", "'messages[0].content'")]
    [InlineData("/v1/embeddings", "{\"input\": \"a\", \"\\ud800\": 1}", "a property name")]
    public async Task An_unpaired_surrogate_escape_is_a_400_naming_the_field(string path, string json, string field)
    {
        (HttpStatusCode status, JsonElement body) = await Post(path, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("unpaired UTF-16 surrogate", Message(body));
        Assert.Contains(field, Message(body));
    }

    [Theory]
    [InlineData("/v1/completions", "{\"model\": \"../../etc/passwd\", \"prompt\": \"we\"}")]
    [InlineData("/v1/chat/completions", "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")]
    [InlineData("/v1/embeddings", "{\"model\": \"tiny-gpt\", \"input\": \"hi\"}")]
    [InlineData("/v1/classify", "{\"model\": \"nope\", \"input\": \"hi\"}")]
    [InlineData("/v1/tokenize", "{\"model\": \"nope\", \"text\": \"hi\"}")]
    public async Task An_unknown_model_is_a_404_model_not_found_listing_the_served_ids(string path, string json)
    {
        (HttpStatusCode status, JsonElement body) = await Post(path, json);
        Assert.Equal(HttpStatusCode.NotFound, status);
        JsonElement error = body.GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        foreach (string id in new[] { "'tiny-gpt' (generator)", "'tiny-bert' (embedder)", "'tiny-classifier' (classifier)" }) Assert.Contains(id, Message(body));
    }

    [Theory]
    [InlineData("{\"prompt\": \"we\", \"max_tokens\": 1000000000000}", "'max_tokens' is 1000000000000; it must be between 1 and 93")]
    [InlineData("{\"prompt\": \"we\", \"max_tokens\": -5}", "'max_tokens' is -5; it must be between 1 and 93")]
    [InlineData("{\"prompt\": \"we\", \"n\": 99}", "'n' is 99; it must be between 1 and 16")]
    [InlineData("{\"prompt\": \"we\", \"top_k\": 10000000000}", "'top_k' is 10000000000; it must be between 0 and")]
    [InlineData("{\"prompt\": \"we\", \"logprobs\": 21}", "'logprobs' is 21; it must be between 0 and 20")]
    [InlineData("{\"prompt\": [1, 2, 100000]}", "the token id 100000; ids must be integers in [0,")]
    [InlineData("{\"prompt\": [1, -1]}", "the token id -1")]
    [InlineData("{\"prompt\": [1, 2.5]}", "the token id 2.5")]
    [InlineData("{\"prompt\": [[1, 2], []]}", "empty list of token ids")]
    [InlineData("{\"prompt\": [\"we\", [1, 2]]}", "not a mix")]
    public async Task A_number_out_of_range_gets_the_range(string json, string message)
    {
        (HttpStatusCode status, JsonElement body) = await Post("/v1/completions", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, Message(body));
    }

    [Fact]
    public async Task Prompts_as_token_ids_and_lists_of_them_are_read_as_those_ids()
    {
        var lm = server.Models.Generator!;
        int[] first = lm.EncodePrompt("we propose").ToArray(), second = lm.Vocabulary.Encode("the");
        string Greedy(int[] ids) => lm.Decode(lm.Generate(ids, new GenerationOptions { MaxTokens = 6, Greedy = true, EosToken = lm.Vocabulary.EosId }).Tokens);
        (HttpStatusCode status, JsonElement body) = await Post("/v1/completions",
            JsonSerializer.Serialize(new { prompt = first, max_tokens = 6, temperature = 0 }));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Greedy(first), body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(first.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        (status, body) = await Post("/v1/completions", JsonSerializer.Serialize(new { prompt = new[] { first, second }, max_tokens = 6, temperature = 0 }));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([Greedy(first), Greedy(second)], body.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Slovo.Generation;

namespace Slovo.Serving.Tests;

/// <summary>Log-probabilities in OpenAI's completions and chat shapes, and echo, against the model's own evaluation.</summary>
public sealed class LogprobTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private async Task<JsonElement> Post(string path, object request)
    {
        using HttpResponseMessage r = await server.Client.PostAsync(path, new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Echoed_prompt_logprobs_sum_to_the_models_own_log_likelihood()
    {
        // lm eval reads a text as start token, text, end token and sums the NLL of every token after the first: the prompt
        // below is those very ids, so the echoed log-probabilities (the first has none) must sum to minus that NLL.
        var lm = server.Models.Generator!;
        const string text = "we propose a simple baseline";
        int[] ids = lm.Vocabulary.EncodeSequence(text);
        double nll = lm.Evaluate([text]).NllSum;
        JsonElement body = await Post("/v1/completions", new { prompt = ids, echo = true, max_tokens = 0, logprobs = 0 });
        JsonElement choice = body.GetProperty("choices")[0];
        JsonElement logprobs = choice.GetProperty("logprobs");
        JsonElement[] values = logprobs.GetProperty("token_logprobs").EnumerateArray().ToArray();
        Assert.Equal(ids.Length, values.Length);
        Assert.Equal(JsonValueKind.Null, values[0].ValueKind);
        double sum = values.Skip(1).Sum(v => v.GetDouble());
        Assert.True(Math.Abs(sum + nll) < 1e-4, $"echoed sum {sum:F6}, lm eval −NLL {-nll:F6}");
        Assert.Equal(lm.Decode(ids), choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(0, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // Offsets index the echoed text: each token's text starts where the one before it ends.
        string[] tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        int[] offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToArray();
        string echoed = choice.GetProperty("text").GetString()!;
        for (int i = 0; i < ids.Length; ++i)
            if (!lm.Vocabulary.IsSpecial(ids[i])) Assert.Equal(tokens[i], echoed.Substring(offsets[i], tokens[i].Length));
    }

    [Fact]
    public async Task Generated_tokens_carry_the_logprobs_that_scoring_the_whole_text_gives()
    {
        // Greedy: each chosen token is the most likely one. The generated tokens' log-probabilities come from the decoding
        // batch, step by step; echoing prompt + completion scores the same tokens in one forward pass: they must agree.
        JsonElement body = await Post("/v1/completions", new { prompt = "we propose", max_tokens = 8, temperature = 0, logprobs = 3 });
        JsonElement choice = body.GetProperty("choices")[0];
        JsonElement logprobs = choice.GetProperty("logprobs");
        double[] chosen = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        JsonElement[] tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToArray();
        Assert.Equal(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), chosen.Length);
        for (int i = 0; i < chosen.Length; ++i)
        {
            double[] top = tops[i].EnumerateObject().Select(p => p.Value.GetDouble()).ToArray();
            Assert.InRange(top.Length, 1, 3);
            Assert.True(chosen[i] <= 0 && Math.Abs(top.Max() - chosen[i]) < 1e-6, $"token {i}: {chosen[i]} is not the top {top.Max()}");
        }

        var lm = server.Models.Generator!;
        int[] prompt = lm.EncodePrompt("we propose").ToArray();
        int[] all = [.. prompt, .. lm.Vocabulary.Encode(choice.GetProperty("text").GetString()!)];
        JsonElement echoed = (await Post("/v1/completions", new { prompt = all, echo = true, max_tokens = 0, logprobs = 1 }))
            .GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs");
        double[] whole = echoed.EnumerateArray().Skip(prompt.Length).Select(v => v.GetDouble()).ToArray();
        Assert.Equal(chosen.Length, whole.Length);
        for (int i = 0; i < chosen.Length; ++i) Assert.True(Math.Abs(chosen[i] - whole[i]) < 1e-4, $"token {i}: stepped {chosen[i]}, whole text {whole[i]}");
    }

    [Fact]
    public async Task Chat_logprobs_list_each_token_with_its_top_alternatives()
    {
        JsonElement body = await Post("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "we propose" } }, max_tokens = 6, temperature = 0, logprobs = true, top_logprobs = 2,
        });
        JsonElement choice = body.GetProperty("choices")[0];
        JsonElement[] content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        Assert.Equal(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), content.Length);
        foreach (JsonElement entry in content)
        {
            JsonElement[] top = entry.GetProperty("top_logprobs").EnumerateArray().ToArray();
            Assert.Equal(2, top.Length);
            Assert.True(top[0].GetProperty("logprob").GetDouble() >= top[1].GetProperty("logprob").GetDouble());
            Assert.Equal(entry.GetProperty("logprob").GetDouble(), top[0].GetProperty("logprob").GetDouble(), 6);
            Assert.Equal(Encoding.UTF8.GetBytes(entry.GetProperty("token").GetString()!), entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        }
        // Without logprobs: null, as before.
        JsonElement plain = await Post("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "we" } }, max_tokens = 2 });
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task Streamed_chunks_carry_the_logprobs_of_their_tokens()
    {
        using HttpResponseMessage r = await server.Client.PostAsync("/v1/completions", new StringContent(
            JsonSerializer.Serialize(new { prompt = "the results", max_tokens = 8, temperature = 0, logprobs = 2, stream = true, echo = true }), Encoding.UTF8, "application/json"));
        string[] events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..]).Where(d => d != "[DONE]").ToArray();
        var tokens = new List<string>();
        var text = new StringBuilder();
        foreach (string e in events)
        {
            JsonElement choice = JsonDocument.Parse(e).RootElement.GetProperty("choices")[0];
            string piece = choice.GetProperty("text").GetString()!;
            if (choice.GetProperty("logprobs") is { ValueKind: JsonValueKind.Object } lp)
            {
                int[] offsets = lp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToArray();
                if (offsets.Length > 0) Assert.Equal(text.Length, offsets[0]);
                tokens.AddRange(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
            }
            text.Append(piece);
        }
        var lm = server.Models.Generator!;
        IReadOnlyList<int> prompt = lm.EncodePrompt("the results");
        GenerationResult greedy = lm.Generate(prompt, new GenerationOptions { MaxTokens = 8, Greedy = true, EosToken = lm.Vocabulary.EosId });
        Assert.Equal(lm.Decode(prompt) + lm.Decode(greedy.Tokens), text.ToString());
        Assert.Equal(prompt.Count + greedy.Tokens.Count, tokens.Count);
    }
}

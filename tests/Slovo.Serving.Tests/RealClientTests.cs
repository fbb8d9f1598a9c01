using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Slovo.Serving.Tests;

/// <summary>The running server (loopback) driven by Microsoft.Extensions.AI over the official OpenAI SDK.</summary>
public sealed class RealClientTests(LoopbackFixture server) : IClassFixture<LoopbackFixture>
{
    private OpenAIClient Client() => new(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });

    private string Greedy(string prompt, int maxTokens)
    {
        var lm = server.Models.Generator!;
        return lm.Decode(lm.Generate(lm.EncodePrompt(prompt), new Slovo.Generation.GenerationOptions
        {
            MaxTokens = maxTokens, Greedy = true, Temperature = 0, EosToken = lm.Vocabulary.EosId,
        }).Tokens);
    }

    [Fact]
    public async Task Chat_client_gets_the_models_text()
    {
        IChatClient chat = Client().GetChatClient("tiny-gpt").AsIChatClient();
        ChatResponse response = await chat.GetResponseAsync([new AiMessage(ChatRole.User, "we propose")],
            new ChatOptions { Temperature = 0, MaxOutputTokens = 10 });
        Assert.Equal(Greedy("we propose", 10), response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.True(response.Usage?.InputTokenCount > 0);
    }

    [Fact]
    public async Task Streaming_chat_client_gets_the_text_in_pieces()
    {
        IChatClient chat = Client().GetChatClient("tiny-gpt").AsIChatClient();
        var pieces = new List<string>();
        await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync([new AiMessage(ChatRole.User, "the results")],
                           new ChatOptions { Temperature = 0, MaxOutputTokens = 12 }))
            if (!string.IsNullOrEmpty(update.Text)) pieces.Add(update.Text);
        Assert.True(pieces.Count > 2, $"{pieces.Count} pieces: not streamed");
        Assert.Equal(Greedy("the results", 12), string.Concat(pieces));
    }

    [Fact]
    public async Task Openai_sdk_reads_chat_logprobs()
    {
        OpenAI.Chat.ChatClient chat = Client().GetChatClient("tiny-gpt");
        var options = new OpenAI.Chat.ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 6, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        OpenAI.Chat.ChatCompletion completion = (await chat.CompleteChatAsync([new OpenAI.Chat.UserChatMessage("we propose")], options)).Value;
        Assert.Equal(completion.Usage.OutputTokenCount, completion.ContentTokenLogProbabilities.Count);
        foreach (OpenAI.Chat.ChatTokenLogProbabilityDetails token in completion.ContentTokenLogProbabilities)
        {
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability, 5); // greedy takes the likeliest
            Assert.True(token.LogProbability <= 0);
        }
    }

    [Fact]
    public async Task Embedding_generator_gets_the_encoders_vectors()
    {
        IEmbeddingGenerator<string, Embedding<float>> embedder = Client().GetEmbeddingClient("tiny-bert").AsIEmbeddingGenerator();
        GeneratedEmbeddings<Embedding<float>> result = await embedder.GenerateAsync(["how do i install a package", "the best editor"]);
        float[][] expected = server.Models.Embedder!.Encode(["how do i install a package", "the best editor"]);
        Assert.Equal(2, result.Count);
        for (int i = 0; i < 2; ++i) EndpointTests.AssertClose(expected[i], result[i].Vector.ToArray());
    }

    [Fact]
    public async Task Curl_style_streaming_request_over_a_socket()
    {
        using var http = new HttpClient { BaseAddress = server.Address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"we propose","max_tokens":20,"stream":true,"temperature":0}"""),   // no content type, as curl -d sends form
        };
        using HttpResponseMessage r = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string body = await r.Content.ReadAsStringAsync();
        Assert.StartsWith("data: {", body);
        Assert.EndsWith("data: [DONE]\n\n", body);
    }
}

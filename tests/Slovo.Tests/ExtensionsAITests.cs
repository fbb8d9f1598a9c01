using Microsoft.Extensions.AI;
using Slovo.Chat;
using Slovo.Encoders;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Slovo.Tests;

/// <summary>
/// Slovo's models behind Microsoft.Extensions.AI, driven by that library's own pipeline: a ChatClientBuilder with middleware
/// (options set by ConfigureOptions, a counting step) over <see cref="SlovoChatClient"/>, and an EmbeddingGeneratorBuilder over
/// <see cref="SlovoEmbeddingGenerator"/>.
/// </summary>
public sealed class ExtensionsAITests
{
    [Fact]
    public async Task AChatClientPipelineGetsTheModelsReplyWhole_AndStreamed()
    {
        using LanguageModel lm = LanguageModel.Load(GgufOracleTests.TinyLlama);
        int calls = 0;
        using IChatClient client = new ChatClientBuilder(new SlovoChatClient(lm, "tiny-llama"))
            .ConfigureOptions(o => { o.Temperature = 0; o.MaxOutputTokens = 10; })
            .Use(async (messages, options, next, cancel) => { Interlocked.Increment(ref calls); await next(messages, options, cancel); })
            .Build();
        AiMessage[] conversation = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hello there!")];
        ChatResponse response = await client.GetResponseAsync(conversation);
        // What the chat model itself gives greedily for the same conversation (the middleware made the options greedy).
        ChatReply reference = new ChatModel(lm).Reply([new Chat.ChatMessage("system", "Be brief."), new Chat.ChatMessage("user", "Hello there!")],
                                                     new GenerationOptions { MaxTokens = 10, Greedy = true });
        Assert.Equal(reference.Text, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(reference.PromptTokens, response.Usage!.InputTokenCount);
        Assert.Equal(10, response.Usage.OutputTokenCount);
        var streamed = new List<string>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(conversation))
            if (!string.IsNullOrEmpty(update.Text)) streamed.Add(update.Text);
        Assert.True(streamed.Count > 1, "the reply came in one piece");
        Assert.Equal(reference.Text, string.Concat(streamed));
        Assert.Equal(2, calls);
        Assert.Equal("tiny-llama", client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task AnEmbeddingGeneratorPipelineGivesTheEncodersVectors()
    {
        var vocab = new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4 };
        foreach (string w in new[] { "how", "do", "i", "install", "a", "package" }) vocab[w] = vocab.Count;
        Tokenizer tokenizer = BertVocab.Create(vocab);
        var config = new BertConfig { VocabSize = vocab.Count, Width = 16, Layers = 1, Heads = 2, Intermediate = 32, Positions = 32, HiddenDropout = 0, AttentionDropout = 0 };
        using var encoder = new TextEncoder(RandomGenerator.Seeded(5, () => new BertModel(config)), tokenizer, maxTokens: 32);
        int calls = 0;
        using IEmbeddingGenerator<string, Embedding<float>> generator =
            new EmbeddingGeneratorBuilder<string, Embedding<float>>(new SlovoEmbeddingGenerator(encoder, "tiny-bert"))
                .Use(async (values, options, inner, cancel) => { Interlocked.Increment(ref calls); return await inner.GenerateAsync(values, options, cancel); })
                .Build();
        string[] texts = ["how do i install a package", "a package"];
        GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(texts);
        float[][] want = encoder.Encode(texts);
        Assert.Equal(2, embeddings.Count);
        for (int i = 0; i < 2; ++i) Assert.Equal(want[i], embeddings[i].Vector.ToArray());
        Assert.Equal(1, calls);
        Assert.Equal(16, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
    }
}

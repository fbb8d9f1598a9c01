using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Slovo.Encoders;
using Slovo.Generation;
using Slovo.LanguageModels;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Slovo.Chat;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over a Slovo language model, in process: messages are rendered with the
/// model's chat template (<see cref="ChatModel"/>), <see cref="ChatOptions"/> map onto sampling, and streaming yields the text
/// as it is generated. Any middleware of that library's pipeline (ChatClientBuilder) can wrap it. Replies are generated one
/// at a time (the model is not shared between concurrent calls).
/// </summary>
public sealed class SlovoChatClient : IChatClient
{
    private readonly ChatModel _chat;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ChatClientMetadata _metadata;

    /// <summary>Wraps <paramref name="model"/> (disposing the client does not dispose the model); <paramref name="modelId"/> names it in responses.</summary>
    public SlovoChatClient(LanguageModel model, string? modelId = null)
    {
        _chat = new ChatModel(model);
        ModelId = modelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Source));
        _metadata = new ChatClientMetadata("slovo", null, ModelId);
    }

    /// <summary>The model's name in responses.</summary>
    public string ModelId { get; }

    /// <summary>The chat model underneath.</summary>
    public ChatModel ChatModel => _chat;

    private static List<ChatMessage> Convert(IEnumerable<AiMessage> messages) =>
        messages.Select(m => new ChatMessage(m.Role.Value, m.Text)).ToList();

    private GenerationOptions Options(ChatOptions? o)
    {
        GenerationDefaults d = _chat.Model.GenerationDefaults;
        double temperature = o?.Temperature ?? d.Temperature ?? 0.7;
        return new GenerationOptions
        {
            MaxTokens = o?.MaxOutputTokens ?? 512,
            Temperature = temperature,
            Greedy = temperature == 0 || o?.Temperature is null && d.DoSample == false,
            TopP = o?.TopP ?? d.TopP ?? 1.0,
            TopK = o?.TopK ?? d.TopK ?? 0,
            StopStrings = o?.StopSequences?.ToList() ?? [],
            Seed = o?.Seed is { } s ? unchecked((int)s) : Random.Shared.Next(),
        };
    }

    private static ChatFinishReason Finish(ReplyEnd end) => end == ReplyEnd.MaxTokens ? ChatFinishReason.Length : ChatFinishReason.Stop;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> conversation = Convert(messages);
        GenerationOptions generation = Options(options);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        ChatReply reply;
        try { reply = await Task.Run(() => _chat.Reply(conversation, generation, cancel: cancellationToken), cancellationToken).ConfigureAwait(false); }
        finally { _gate.Release(); }
        cancellationToken.ThrowIfCancellationRequested();
        return new ChatResponse(new AiMessage(ChatRole.Assistant, reply.Text))
        {
            ModelId = ModelId,
            FinishReason = Finish(reply.End),
            Usage = new UsageDetails { InputTokenCount = reply.PromptTokens, OutputTokenCount = reply.Tokens.Count, TotalTokenCount = reply.PromptTokens + reply.Tokens.Count },
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null,
                                                                                [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<ChatMessage> conversation = Convert(messages);
        GenerationOptions generation = Options(options);
        var pieces = Channel.CreateUnbounded<string>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<ChatReply> running;
        try
        {
            running = Task.Run(() =>
            {
                try { return _chat.Reply(conversation, generation, text => pieces.Writer.TryWrite(text), cancel: cancellationToken); }
                finally { pieces.Writer.TryComplete(); }
            }, CancellationToken.None);
            await foreach (string text in pieces.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return new ChatResponseUpdate(ChatRole.Assistant, text) { ModelId = ModelId };
            ChatReply reply = await running.ConfigureAwait(false);
            var usage = new UsageContent(new UsageDetails { InputTokenCount = reply.PromptTokens, OutputTokenCount = reply.Tokens.Count, TotalTokenCount = reply.PromptTokens + reply.Tokens.Count });
            yield return new ChatResponseUpdate(ChatRole.Assistant, [usage]) { ModelId = ModelId, FinishReason = Finish(reply.End) };
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(_chat.Model) ? _chat.Model : null;

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a Slovo sentence encoder (BERT, MiniLM,
/// a fine-tuned encoder), in process: one embedding per text, as <see cref="TextEncoder.Encode"/> computes it.
/// </summary>
public sealed class SlovoEmbeddingGenerator(TextEncoder encoder, string? modelId = null) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("slovo", null, modelId, encoder.Dimension);

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
                                                                          CancellationToken cancellationToken = default)
    {
        List<string> texts = values.ToList();
        float[][] vectors = await Task.Run(() => encoder.Encode(texts), cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = modelId }));
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(encoder) ? encoder : null;

    /// <inheritdoc />
    public void Dispose() { }
}

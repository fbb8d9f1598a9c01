using System.Text.Json.Nodes;
using Slovo.Generation;
using Slovo.LanguageModels;

namespace Slovo.Chat;

/// <summary>How a reply ended.</summary>
public enum ReplyEnd
{
    /// <summary>The model ended its turn (one of its end ids).</summary>
    EndOfTurn,
    /// <summary>The token limit was reached.</summary>
    MaxTokens,
    /// <summary>A stop string was produced.</summary>
    StopString,
    /// <summary>The caller cancelled (Ctrl+C in <c>slovo chat</c>, a client that left).</summary>
    Cancelled,
}

/// <summary>A reply: its text, its tokens and how it ended.</summary>
public sealed record ChatReply(string Text, IReadOnlyList<int> Tokens, ReplyEnd End, int PromptTokens);

/// <summary>
/// A language model used as a chat model: conversations are rendered with the model's own chat template (or, for a model
/// without one, <see cref="FallbackTemplate"/>), read with special tokens, and answered until one of the model's end ids.
/// </summary>
public sealed class ChatModel
{
    /// <summary>The layout used for a model that carries no chat template: "Role: text" lines, then "Assistant:".</summary>
    public const string FallbackTemplate =
        "{{ bos_token }}{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

    /// <summary>Wraps <paramref name="model"/>; a template that cannot be parsed is an error naming its line.</summary>
    public ChatModel(LanguageModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        UsesFallbackTemplate = model.ChatTemplate is null;
        Template = ChatTemplate.Parse(model.ChatTemplate ?? FallbackTemplate);
    }

    /// <summary>The model.</summary>
    public LanguageModel Model { get; }

    /// <summary>The template conversations are rendered with.</summary>
    public ChatTemplate Template { get; }

    /// <summary>Whether the model had no template of its own (<see cref="FallbackTemplate"/> is used).</summary>
    public bool UsesFallbackTemplate { get; }

    private string BosText => Model.Vocabulary.TokenOf(Model.Vocabulary.SosId);
    private string EosText => Model.Vocabulary.TokenOf(Model.Vocabulary.EosId);

    /// <summary>The prompt text of a conversation, the assistant's turn opened.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, JsonArray? tools = null) =>
        Template.Render(messages, addGenerationPrompt: true, bosToken: Model.PromptsStartWithSos ? BosText : "", eosToken: EosText, tools: tools);

    /// <summary>The prompt ids of a conversation (special tokens in the rendered text read as themselves).</summary>
    public IReadOnlyList<int> Encode(IReadOnlyList<ChatMessage> messages, JsonArray? tools = null)
    {
        int[] ids = Model.Vocabulary.Encode(Render(messages, tools));
        return ids.Length == 0 ? [Model.Vocabulary.SosId] : ids;
    }

    /// <summary><paramref name="options"/> with the model's end ids as the ends of a reply.</summary>
    public GenerationOptions WithEnds(GenerationOptions options) =>
        options with { EosToken = Model.EndIds[0], EndTokens = Model.EndIds.Skip(1).ToArray() };

    /// <summary>
    /// Answers the conversation; <paramref name="onText"/> receives the reply's text as it grows. Cancelling
    /// <paramref name="cancel"/> stops the reply where it is (the text so far is returned, ended <see cref="ReplyEnd.Cancelled"/>).
    /// </summary>
    public ChatReply Reply(IReadOnlyList<ChatMessage> messages, GenerationOptions options, Action<string>? onText = null, JsonArray? tools = null,
                           CancellationToken cancel = default)
    {
        IReadOnlyList<int> prompt = Encode(messages, tools);
        if (Model.Context is { } context && prompt.Count >= context)
            throw new ArgumentException($"the conversation is {prompt.Count} tokens, the model reads {context}; /reset it or shorten it");
        GenerationOptions o = WithEnds(options);
        if (Model.Context is { } limit) o = o with { MaxTokens = Math.Min(o.MaxTokens, limit - prompt.Count) };
        var tokens = new List<int>();
        var detokenizer = new IncrementalDetokenizer(ids => Model.Decode(ids));
        try
        {
            GenerationResult result = Model.Generate(prompt, o, token =>
            {
                cancel.ThrowIfCancellationRequested();
                tokens.Add(token);
                if (o.IsEnd(token)) return;
                string piece = detokenizer.Add(token);
                if (piece.Length > 0) onText?.Invoke(piece);
            });
            string rest = detokenizer.Flush();
            if (rest.Length > 0) onText?.Invoke(rest);
            ReplyEnd end = result.Reason switch { StopReason.Eos => ReplyEnd.EndOfTurn, StopReason.StopString => ReplyEnd.StopString, _ => ReplyEnd.MaxTokens };
            return new ChatReply(Model.Decode(result.Tokens.Where(t => !o.IsEnd(t))), result.Tokens, end, prompt.Count);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return new ChatReply(Model.Decode(tokens.Where(t => !o.IsEnd(t))), tokens, ReplyEnd.Cancelled, prompt.Count);
        }
    }
}

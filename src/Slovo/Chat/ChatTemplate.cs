using System.Text.Json.Nodes;

namespace Slovo.Chat;

/// <summary>One message of a conversation, as chat templates read it.</summary>
/// <param name="Role">"system", "user", "assistant" or "tool".</param>
/// <param name="Content">The text.</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>An assistant's tool calls, in OpenAI's form ([{"type": "function", "function": {"name", "arguments"}}]), or null.</summary>
    public JsonArray? ToolCalls { get; init; }

    /// <summary>A tool message's call id, or null.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>A tool message's tool name, or null.</summary>
    public string? Name { get; init; }

    /// <summary>The message as a template sees it.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["role"] = Role, ["content"] = Content };
        if (ToolCalls is not null) o["tool_calls"] = ToolCalls.DeepClone();
        if (ToolCallId is not null) o["tool_call_id"] = ToolCallId;
        if (Name is not null) o["name"] = Name;
        return o;
    }
}

/// <summary>
/// A model's chat template (the Jinja text of tokenizer_config.json's chat_template or GGUF's tokenizer.chat_template),
/// rendered as Hugging Face renders it: trim_blocks and lstrip_blocks, if/elif/else, for with loop.*, set (namespace() too),
/// macros, the filters and tests chat templates use, raise_exception and strftime_now, string methods and slicing. A construct
/// the interpreter lacks is a <see cref="TemplateException"/> naming the template line, never a silently different prompt.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Node> _nodes;

    private ChatTemplate(string source, List<Node> nodes) => (Source, _nodes) = (source, nodes);

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>Parses <paramref name="source"/>; a syntax error or an unsupported statement is an error naming the line.</summary>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, new JinjaParser(JinjaLexer.Tokenize(source)).ParseTemplate());
    }

    /// <summary>Renders with <paramref name="context"/>'s variables (messages, add_generation_prompt, tools, bos_token, ...).</summary>
    public string Render(JsonObject context, Func<DateTime>? now = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var values = context.ToDictionary(kv => kv.Key, kv => JinjaRuntime.FromJson(kv.Value), StringComparer.Ordinal);
        return new JinjaRuntime(values, now ?? (() => DateTime.Now)).Render(_nodes);
    }

    /// <summary>Renders a conversation: the messages, whether to open the assistant's turn, the special tokens, and tools when given.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, string? bosToken = null, string? eosToken = null, JsonArray? tools = null)
    {
        var context = new JsonObject
        {
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)m.ToJson()).ToArray()),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bosToken ?? "",
            ["eos_token"] = eosToken ?? "",
        };
        if (tools is not null) context["tools"] = tools.DeepClone();
        return Render(context);
    }
}

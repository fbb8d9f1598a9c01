using System.Text;
using Slovo.Chat;

namespace Slovo.Serving;

/// <summary>Lays chat messages into a prompt by a <see cref="ChatLayout"/>, for a model without its own chat template (documented in the README's Serving section).</summary>
public static class ChatPrompt
{
    /// <summary>The prompt and the stop strings the template adds.</summary>
    public static (string Prompt, IReadOnlyList<string> Stops) Render(IReadOnlyList<ChatMessage> messages, ChatLayout layout)
    {
        var sb = new StringBuilder();
        if (layout == ChatLayout.Plain)
        {
            foreach (ChatMessage m in messages.Where(m => m.Role == "system").Concat(messages.Where(m => m.Role != "system")))
            {
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(m.Content);
            }
            return (sb.ToString(), []);
        }
        foreach (ChatMessage m in messages)
        {
            string who = m.Role switch { "system" => "System", "assistant" => "Assistant", _ => "User" };
            sb.Append(who).Append(": ").Append(m.Content).Append('\n');
        }
        sb.Append("Assistant:");
        return (sb.ToString(), ["\nUser:"]);
    }
}

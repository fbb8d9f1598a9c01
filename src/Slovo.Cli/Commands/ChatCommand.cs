using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Chat;
using Slovo.Cli.CommandLine;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Commands;

/// <summary>
/// `slovo chat`: talk to a model in its own chat template. Interactive on a terminal (streamed replies, Ctrl+C stops a reply
/// and keeps the session), or line by line from piped stdin for scripts. Lines starting with / are commands.
/// </summary>
internal static class ChatCommand
{
    private const string Commands = "/reset (forget the conversation), /system TEXT (set the system message), /save FILE (write the conversation as JSON), /exit";

    public static Command Create()
    {
        var model = Opt.Path("--model", "a Hugging Face folder of an open decoder family (llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3), a GGUF file, or any language model Slovo trains", required: true);
        var system = Opt.OptionalText("--system", "the system message to start with");
        var maxTokens = Opt.Int("--max-tokens", "tokens per reply at most", 512, min: 1);
        var temperature = Opt.OptionalDouble("--temperature", "sampling temperature (default: the model's generation_config.json, else 0.7)", min: 0);
        var topP = Opt.OptionalDouble("--top-p", "nucleus sampling (default: the model's generation_config.json, else 0.9)", min: 0);
        var topK = Opt.OptionalInt("--top-k", "sample from the K most likely tokens (default: the model's generation_config.json, else all)", min: 0);
        var greedy = Opt.Flag("--greedy", "take the most likely token each step (repeatable replies)");
        var seed = Opt.Int("--seed", "sampling seed", 1, min: 0);
        var dtype = Opt.DType();
        var adapter = Opt.Adapter();
        var device = Opt.Device();
        var engine = Opt.Engine();
        var command = new Command("chat", $"Chat with a model in its own chat template. Commands: {Commands}. With stdin piped, each line is a user message and each reply is printed.")
            .With(model, adapter, system, maxTokens, temperature, topP, topK, greedy, seed, dtype, device, engine);
        command.SetAction(p =>
        {
            var options = new ModelLoadOptions { Device = Opt.ResolveDevice(p.GetValue(device)), DType = Opt.ResolveDType(p.GetValue(dtype)), Adapter = p.GetValue(adapter) };
            using LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(p.GetValue(model)!, options);
            using IDisposable? engineInUse = Opt.UseEngine(lm, p.GetValue(engine), rows: 1);
            var chat = new ChatModel(lm);
            GenerationDefaults defaults = lm.GenerationDefaults;
            var generation = new GenerationOptions
            {
                MaxTokens = p.GetValue(maxTokens), Greedy = p.GetValue(greedy) || defaults.DoSample == false && p.GetValue(temperature) is null,
                Temperature = p.GetValue(temperature) ?? defaults.Temperature ?? 0.7, TopP = p.GetValue(topP) ?? defaults.TopP ?? 0.9,
                TopK = p.GetValue(topK) ?? defaults.TopK ?? 0, RepetitionPenalty = defaults.RepetitionPenalty ?? 1.0, Seed = p.GetValue(seed),
            };
            bool piped = Console.IsInputRedirected;
            Console.Error.WriteLine($"{lm.Kind} from {lm.Source}{(chat.UsesFallbackTemplate ? "; it has no chat template, so turns are laid out as 'User: ...' / 'Assistant:'" : "")}");
            if (!piped) Console.Error.WriteLine($"type a message; {Commands}; Ctrl+C stops a reply");
            var messages = new List<ChatMessage>();
            string? systemText = p.GetValue(system);
            CancellationTokenSource? replying = null;
            Console.CancelKeyPress += (_, e) =>
            {
                if (replying is { } r) { e.Cancel = true; r.Cancel(); }
            };
            int turn = 0;
            while (true)
            {
                if (!piped) Console.Write("> ");
                string? line = Console.ReadLine();
                if (line is null) break;
                if (line.Trim().Length == 0) continue;
                if (line.StartsWith('/'))
                {
                    string[] parts = line.Split(' ', 2);
                    switch (parts[0])
                    {
                        case "/exit" or "/quit": return 0;
                        case "/reset": messages.Clear(); Console.Error.WriteLine("(conversation cleared)"); continue;
                        case "/system":
                            systemText = parts.Length > 1 ? parts[1] : null;
                            Console.Error.WriteLine(systemText is null ? "(no system message)" : "(system message set)");
                            continue;
                        case "/save":
                        {
                            if (parts.Length < 2) { Console.Error.WriteLine("/save needs a file name"); continue; }
                            var json = new JsonArray(Conversation(systemText, messages).Select(m => (JsonNode)m.ToJson()).ToArray());
                            AtomicFile.WriteAllText(parts[1], json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                            Console.Error.WriteLine($"(saved {messages.Count} messages to {parts[1]})");
                            continue;
                        }
                        default: Console.Error.WriteLine($"unknown command {parts[0]}; {Commands}"); continue;
                    }
                }
                messages.Add(new ChatMessage("user", line));
                replying = new CancellationTokenSource();
                ChatReply reply;
                try
                {
                    reply = chat.Reply(Conversation(systemText, messages), generation with { Seed = generation.Seed + turn++ },
                        text => { Console.Write(text); Console.Out.Flush(); }, cancel: replying.Token);
                }
                catch (Exception e) when (e is ArgumentException or TemplateException or TemplateRaisedException)
                {
                    messages.RemoveAt(messages.Count - 1);
                    Console.Error.WriteLine($"error: {e.Message}");
                    continue;
                }
                finally { replying.Dispose(); replying = null; }
                Console.WriteLine();
                if (reply.End == ReplyEnd.Cancelled) Console.Error.WriteLine("(reply stopped)");
                else if (reply.End == ReplyEnd.MaxTokens) Console.Error.WriteLine($"(reply cut at {generation.MaxTokens} tokens; --max-tokens sets the limit)");
                messages.Add(new ChatMessage("assistant", reply.Text));
            }
            return 0;
        });
        return command;
    }

    private static List<ChatMessage> Conversation(string? system, List<ChatMessage> messages) =>
        system is null ? messages : [new ChatMessage("system", system), .. messages];
}

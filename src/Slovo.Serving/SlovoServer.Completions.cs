using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Slovo.Chat;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Torch;

namespace Slovo.Serving;

// /v1/completions and /v1/chat/completions: request parsing, the choices' jobs in the scheduler, stop strings, and the
// answer as one JSON body or as server-sent events.
public static partial class SlovoServer
{
    private sealed partial class Api
    {
        public async Task Complete(HttpContext context, bool chat)
        {
            LanguageModel lm = Generator;
            var f = new Fields(await RequestBody.ReadAsync(context, options.MaxBodyBytes));
            List<string> prompts;
            List<IReadOnlyList<int>>? templated = null;
            var stops = new List<string>();
            if (chat && ChatModel is { } own)
            {
                // The model's own chat template, rendered as Hugging Face renders it; the reply ends at one of its end ids.
                try { templated = [own.Encode(Messages(f), Tools(f))]; }
                catch (Exception e) when (e is Slovo.Chat.TemplateRaisedException or Slovo.Chat.TemplateException)
                {
                    throw new ApiException(400, $"the model's chat template refused the conversation: {e.Message}", "messages");
                }
                prompts = [""];
            }
            else if (chat)
            {
                (string prompt, IReadOnlyList<string> templateStops) = ChatPrompt.Render(Messages(f), options.ChatLayout);
                prompts = [prompt];
                stops.AddRange(templateStops);
            }
            else
            {
                prompts = f.Strings("prompt") ?? throw new ApiException(400, "'prompt' is required: a string or an array of strings", "prompt");
                if (prompts.Count == 0) throw new ApiException(400, "'prompt' is an empty list; give at least one prompt", "prompt");
            }
            int n = f.Int("n", 1, 16) ?? 1;
            List<string> userStops = f.Strings("stop") ?? [];
            if (userStops.Count > 4) throw new ApiException(400, $"'stop' has {userStops.Count} sequences; give at most 4", "stop");
            stops.AddRange(userStops.Where(s => s.Length > 0));
            bool stream = f.Bool("stream") ?? false;
            bool includeUsage = stream && f.Object("stream_options") is { } streamOptions && new Fields(streamOptions).Bool("include_usage") == true;
            string maxName = chat && f.Has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
            int? asked = f.Int(maxName, 1);
            double temperature = f.Number("temperature", 0, 2) ?? 1.0;
            var o = new GenerationOptions
            {
                Temperature = temperature,
                Greedy = temperature == 0,
                TopP = f.Number("top_p", 0, 1) ?? 1.0,
                TopK = f.Int("top_k", 0) ?? 0,
                MinP = f.Number("min_p", 0, 0.999999) ?? 0,
                RepetitionPenalty = f.Number("repetition_penalty", 1e-6, 100) ?? 1.0,
                MinTokens = f.Int("min_tokens", 0) ?? 0,
                EosToken = lm.Vocabulary.EosId,
            };
            if (o.TopP == 0) throw new ApiException(400, "'top_p' must be above 0", "top_p");
            int seed = f.Long("seed") is { } s ? unchecked((int)s ^ (int)(s >> 32)) : Random.Shared.Next();
            if (templated is not null) o = ChatModel!.WithEnds(o);
            List<IReadOnlyList<int>> ids = templated ?? prompts.Select(lm.EncodePrompt).ToList();
            int longest = ids.Max(p => p.Count);
            int maxTokens;
            if (lm.Context is int context1)
            {
                if (longest >= context1)
                    throw new ApiException(400, $"the prompt is {longest} tokens, which fills the model's context of {context1}; shorten it", "prompt");
                maxTokens = asked ?? (chat ? context1 - longest : Math.Min(16, context1 - longest));
                if (longest + maxTokens > context1)
                    throw new ApiException(400, $"{maxName} is {maxTokens}, but the prompt ({longest} tokens) leaves room for {context1 - longest} in the model's context of {context1}; lower {maxName}", maxName);
            }
            else
            {
                maxTokens = asked ?? (chat ? 256 : 16);
                if (maxTokens > options.MaxTokensLimit)
                    throw new ApiException(400, $"{maxName} is {maxTokens}; this server allows at most {options.MaxTokensLimit} (--max-tokens-limit)", maxName);
            }
            if (o.MinTokens > maxTokens) throw new ApiException(400, $"'min_tokens' is {o.MinTokens}, more than {maxName} ({maxTokens})", "min_tokens");
            o = o with { MaxTokens = maxTokens, StopStrings = stops }; // the sampler ends a sequence at a stop string, as offline

            using var abort = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var choices = new List<Choice>();
            try
            {
                for (int p = 0; p < ids.Count; ++p)
                    for (int i = 0; i < n; ++i)
                    {
                        var cts = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
                        choices.Add(new Choice(p * n + i, cts, scheduler!.Submit(ids[p], o with { Seed = seed + i }, cts.Token)));
                    }
            }
            catch
            {
                abort.Cancel();
                throw;
            }
            string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string model = models.GeneratorId;
            int promptTokens = ids.Sum(p => p.Count);
            try
            {
                if (stream) await Stream(context, choices, chat, id, created, model, includeUsage, promptTokens);
                else
                {
                    await Task.WhenAll(choices.Select(c => Drive(c, null)));
                    object usage = Usage(promptTokens, choices);
                    object body = chat
                        ? new { id, @object = "chat.completion", created, model, choices = choices.Select(c => new { index = c.Index, message = new { role = "assistant", content = c.Text }, logprobs = (object?)null, finish_reason = c.Finish }), usage }
                        : new { id, @object = "text_completion", created, model, choices = choices.Select(c => new { text = c.Text, index = c.Index, logprobs = (object?)null, finish_reason = c.Finish }), usage };
                    await context.Response.WriteAsJsonAsync(body, Json);
                }
            }
            finally
            {
                abort.Cancel();       // whatever is still running (an error in another choice, a client gone) stops at the next step
                foreach (Choice c in choices) c.Cancel.Dispose();
            }
        }

        // An assistant's tool calls as a template reads them: OpenAI sends each call's arguments as a JSON string, templates
        // expect the object (as Hugging Face's own servers hand it over); a string that is not a JSON object stays a string.
        private static System.Text.Json.Nodes.JsonArray ToolCalls(JsonElement calls)
        {
            var array = (System.Text.Json.Nodes.JsonArray)System.Text.Json.Nodes.JsonNode.Parse(calls.GetRawText())!;
            foreach (System.Text.Json.Nodes.JsonNode? call in array)
                if (call?["function"] is System.Text.Json.Nodes.JsonObject function && function["arguments"] is System.Text.Json.Nodes.JsonValue v
                    && v.TryGetValue(out string? text))
                {
                    try { if (System.Text.Json.Nodes.JsonNode.Parse(text) is System.Text.Json.Nodes.JsonObject parsed) function["arguments"] = parsed; }
                    catch (JsonException) { }
                }
            return array;
        }

        // The request's tool definitions, handed to the model's template as they are.
        private static System.Text.Json.Nodes.JsonArray? Tools(Fields f) =>
            f.Array("tools") is { } tools ? (System.Text.Json.Nodes.JsonArray)System.Text.Json.Nodes.JsonNode.Parse(tools.GetRawText())! : null;

        private static object Usage(int promptTokens, List<Choice> choices)
        {
            int completion = choices.Sum(c => c.Tokens.Count);
            return new { prompt_tokens = promptTokens, completion_tokens = completion, total_tokens = promptTokens + completion };
        }

        private static List<ChatMessage> Messages(Fields f)
        {
            JsonElement list = f.Array("messages") ?? throw new ApiException(400, "'messages' is required: an array of {role, content}", "messages");
            var messages = new List<ChatMessage>();
            foreach (JsonElement m in list.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object) throw new ApiException(400, "each message must be an object with 'role' and 'content'", "messages");
                var mf = new Fields(m);
                string role = mf.String("role") ?? throw new ApiException(400, "a message has no 'role'", "messages");
                if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
                    throw new ApiException(400, $"a message has role '{role}'; use system, user or assistant", "messages");
                string content;
                if (m.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.Array)
                    content = string.Concat(c.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out _))
                                                              .Select(p => p.GetProperty("text").GetString()));
                else content = mf.String("content") ?? "";
                var message = new ChatMessage(role == "developer" ? "system" : role, content)
                {
                    ToolCallId = mf.String("tool_call_id"),
                    Name = mf.String("name"),
                    ToolCalls = m.TryGetProperty("tool_calls", out JsonElement calls) && calls.ValueKind == JsonValueKind.Array ? ToolCalls(calls) : null,
                };
                messages.Add(message);
            }
            if (messages.Count == 0) throw new ApiException(400, "'messages' is empty; give at least one message", "messages");
            return messages;
        }

        private sealed class Choice(int index, CancellationTokenSource cancel, CompletionJob job)
        {
            public int Index => index;
            public CancellationTokenSource Cancel => cancel;
            public CompletionJob Job => job;
            public List<int> Tokens { get; } = [];
            public string Text { get; set; } = "";
            public string? Finish { get; set; }
        }

        // Reads a choice's tokens as they come; onDelta gets each piece of text that became final (the sampler holds back a
        // split character and a possible start of a stop string, and ends the sequence before a stop string).
        private static async Task Drive(Choice c, Func<string, Task>? onDelta)
        {
            var text = new StringBuilder();
            await foreach (GeneratedToken token in c.Job.Tokens.ReadAllAsync())
            {
                c.Tokens.Add(token.Id);
                text.Append(token.Text);
                if (onDelta is not null && token.Text.Length > 0) await onDelta(token.Text);
            }
            GenerationResult result = await c.Job.Completion;
            c.Finish = result.Reason == StopReason.MaxTokens ? "length" : "stop";
            c.Text = text.ToString();
        }

        private async Task Stream(HttpContext context, List<Choice> choices, bool chat,
                                  string id, long created, string model, bool includeUsage, int promptTokens)
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            var gate = new SemaphoreSlim(1, 1);
            string kind = chat ? "chat.completion.chunk" : "text_completion";
            async Task Send(object payload)
            {
                await gate.WaitAsync(context.RequestAborted);
                try
                {
                    byte[] json = JsonSerializer.SerializeToUtf8Bytes(payload, Json);
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: "), context.RequestAborted);
                    await context.Response.Body.WriteAsync(json, context.RequestAborted);
                    await context.Response.Body.WriteAsync("\n\n"u8.ToArray(), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
                finally { gate.Release(); }
            }
            object Chunk(int index, string? text, string? finish, bool first = false) => chat
                ? new { id, @object = kind, created, model, choices = new[] { new { index, delta = (object)(first ? new { role = "assistant", content = "" } : text is null ? new { } : new { content = text }), logprobs = (object?)null, finish_reason = finish } } }
                : new { id, @object = kind, created, model, choices = new[] { new { text = text ?? "", index, logprobs = (object?)null, finish_reason = finish } } };
            await context.Response.StartAsync(context.RequestAborted);
            if (chat) foreach (Choice c in choices) await Send(Chunk(c.Index, null, null, first: true));
            try
            {
                await Task.WhenAll(choices.Select(async c =>
                {
                    await Drive(c, delta => Send(Chunk(c.Index, delta, null)));
                    await Send(Chunk(c.Index, null, c.Finish));
                }));
                if (includeUsage) await Send(new { id, @object = kind, created, model, choices = Array.Empty<object>(), usage = Usage(promptTokens, choices) });
            }
            catch (Exception e) when (e is TimeoutException or TorchException or InvalidOperationException or ArgumentException && !context.RequestAborted.IsCancellationRequested)
            {
                await Send(new { error = new { message = e.Message.ReplaceLineEndings(" "), type = e is TimeoutException ? "timeout" : "server_error", param = (string?)null, code = (string?)null } });
            }
            await context.Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }
}

using System.Diagnostics;
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
            (CompletionScheduler scheduler, string model) = SchedulerFor(f);
            List<IReadOnlyList<int>> ids;
            var stops = new List<string>();
            bool templated = false;
            if (chat && ChatModel is { } own)
            {
                // The model's own chat template, rendered as Hugging Face renders it; the reply ends at one of its end ids.
                try { ids = [own.Encode(Messages(f), Tools(f))]; }
                catch (Exception e) when (e is Slovo.Chat.TemplateRaisedException or Slovo.Chat.TemplateException)
                {
                    throw new ApiException(400, $"the model's chat template refused the conversation: {e.Message}", "messages");
                }
                templated = true;
            }
            else if (chat)
            {
                (string prompt, IReadOnlyList<string> templateStops) = ChatPrompt.Render(Messages(f), options.ChatLayout);
                ids = [lm.EncodePrompt(prompt)];
                stops.AddRange(templateStops);
            }
            else ids = Prompts(f, lm);
            int n = f.Int("n", 1, 16) ?? 1;
            List<string> userStops = f.Strings("stop") ?? [];
            if (userStops.Count > 4) throw new ApiException(400, $"'stop' has {userStops.Count} sequences; give at most 4", "stop");
            stops.AddRange(userStops.Where(s => s.Length > 0));
            bool stream = f.Bool("stream") ?? false;
            bool includeUsage = stream && f.Object("stream_options") is { } streamOptions && new Fields(streamOptions).Bool("include_usage") == true;
            // Log-probabilities: the completions API's 'logprobs': N (the top N per token) and 'echo' (the prompt's tokens
            // scored too), the chat API's 'logprobs': true with 'top_logprobs': N.
            bool echo = !chat && (f.Bool("echo") ?? false);
            int? top;
            if (chat)
            {
                bool wanted = f.Bool("logprobs") ?? false;
                int? chatTop = f.Int("top_logprobs", 0, MaxTopLogprobs);
                if (chatTop is not null && !wanted) throw new ApiException(400, "'top_logprobs' needs 'logprobs': true", "top_logprobs");
                top = wanted ? chatTop ?? 0 : null;
            }
            else top = f.Int("logprobs", 0, MaxTopLogprobs);
            string maxName = chat && f.Has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
            long? asked = f.Long(maxName);
            double temperature = f.Number("temperature", 0, 2) ?? 1.0;
            var o = new GenerationOptions
            {
                Temperature = temperature,
                Greedy = temperature == 0,
                TopP = f.Number("top_p", 0, 1) ?? 1.0,
                TopK = f.Int("top_k", 0, lm.Vocabulary.Size) ?? 0,
                MinP = f.Number("min_p", 0, 0.999999) ?? 0,
                RepetitionPenalty = f.Number("repetition_penalty", 1e-6, 100) ?? 1.0,
                MinTokens = f.Int("min_tokens", 0) ?? 0,
                EosToken = lm.Vocabulary.EosId,
            };
            if (o.TopP == 0) throw new ApiException(400, "'top_p' must be above 0", "top_p");
            int seed = f.Long("seed") is { } s ? unchecked((int)s ^ (int)(s >> 32)) : Random.Shared.Next();
            if (templated) o = ChatModel!.WithEnds(o);
            int longest = ids.Max(p => p.Count);
            // max_tokens: at least 1 (0 with echo: the prompt scored, nothing generated), and no more than the context leaves.
            int least = echo ? 0 : 1;
            int most;
            string room;
            if (lm.Context is int context1)
            {
                if (longest >= context1 && !(echo && asked == 0 && longest == context1))
                    throw new ApiException(400, $"the prompt is {longest} tokens, which fills the model's context of {context1}; shorten it", "prompt");
                most = context1 - longest;
                room = $" (the prompt, {longest} tokens, leaves room for {most} in the model's context of {context1}; lower {maxName} or shorten the prompt)";
            }
            else
            {
                most = options.MaxTokensLimit;
                room = " (this server's --max-tokens-limit)";
            }
            if (asked is { } a && (a < least || a > most))
                throw new ApiException(400, $"'{maxName}' is {a}; it must be between {least} and {most}{room}", maxName);
            // The default: 16 for a completion; for chat, what the context leaves (256 for a model without a context limit).
            int maxTokens = asked is { } given ? (int)given : Math.Min(chat ? (lm.Context is null ? 256 : most) : 16, most);
            if (o.MinTokens > maxTokens) throw new ApiException(400, $"'min_tokens' is {o.MinTokens}, more than {maxName} ({maxTokens})", "min_tokens");
            o = o with { MaxTokens = Math.Max(1, maxTokens), StopStrings = stops }; // the sampler ends a sequence at a stop string, as offline

            using var abort = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            long arrived = Stopwatch.GetTimestamp();
            metrics.PromptTokens(ids.Sum(p => p.Count));
            var choices = new List<Choice>();
            try
            {
                for (int p = 0; p < ids.Count; ++p)
                {
                    // The prompt's own log-probabilities, scored once for its n choices.
                    Task<IReadOnlyList<TokenLogprob>>? scored = echo && top is not null ? scheduler.ScoreAsync(ids[p], top.Value, abort.Token) : null;
                    for (int i = 0; i < n; ++i)
                    {
                        var cts = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
                        CompletionJob? job = maxTokens == 0 ? null : scheduler.Submit(ids[p], o with { Seed = seed + i }, top, cts.Token);
                        choices.Add(new Choice(p * n + i, cts, job) { Prompt = ids[p], PromptScores = scored, Arrived = arrived });
                    }
                }
            }
            catch
            {
                abort.Cancel();
                throw;
            }
            string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            int promptTokens = ids.Sum(p => p.Count);
            var shape = new Shape(lm, chat, echo, top);
            try
            {
                if (stream) await Stream(context, choices, shape, id, created, model, includeUsage, promptTokens);
                else
                {
                    await Task.WhenAll(choices.Select(c => Drive(c, null)));
                    object usage = Usage(promptTokens, choices);
                    var listed = new List<object>();
                    foreach (Choice c in choices)
                    {
                        IReadOnlyList<TokenLogprob>? promptScores = c.PromptScores is null ? null : await c.PromptScores;
                        object? logprobs = shape.Logprobs(c.Prompt, promptScores, c.Generated, 0);
                        listed.Add(chat
                            ? new { index = c.Index, message = new { role = "assistant", content = c.Text }, logprobs, finish_reason = c.Finish }
                            : new { text = (echo ? lm.Decode(c.Prompt) : "") + c.Text, index = c.Index, logprobs, finish_reason = c.Finish });
                    }
                    object body = chat
                        ? new { id, @object = "chat.completion", created, model, choices = listed, usage }
                        : new { id, @object = "text_completion", created, model, choices = listed, usage };
                    await context.Response.WriteAsJsonAsync(body, Json);
                }
            }
            finally
            {
                abort.Cancel();       // whatever is still running (an error in another choice, a client gone) stops at the next step
                foreach (Choice c in choices) c.Cancel.Dispose();
            }
        }

        /// <summary>The most log-probabilities per token a request may ask for ('logprobs', 'top_logprobs').</summary>
        public const int MaxTopLogprobs = 20;

        // 'prompt' as OpenAI takes it: a string, an array of strings, an array of token ids, or an array of such arrays.
        private static List<IReadOnlyList<int>> Prompts(Fields f, LanguageModel lm)
        {
            const string Kinds = "a string, an array of strings, an array of token ids or an array of such arrays";
            JsonElement v = f.Raw("prompt") ?? throw new ApiException(400, $"'prompt' is required: {Kinds}", "prompt");
            if (v.ValueKind == JsonValueKind.String) return [lm.EncodePrompt(v.GetString()!)];
            if (v.ValueKind != JsonValueKind.Array) throw new ApiException(400, $"'prompt' must be {Kinds}", "prompt");
            List<JsonElement> items = v.EnumerateArray().ToList();
            if (items.Count == 0) throw new ApiException(400, "'prompt' is an empty list; give at least one prompt", "prompt");
            if (items.All(e => e.ValueKind == JsonValueKind.String)) return items.Select(e => lm.EncodePrompt(e.GetString()!)).ToList();
            if (items.All(e => e.ValueKind == JsonValueKind.Number)) return [Ids(items, lm)];
            if (items.All(e => e.ValueKind == JsonValueKind.Array))
                return items.Select(e => (IReadOnlyList<int>)Ids(e.EnumerateArray().ToList(), lm)).ToList();
            throw new ApiException(400, $"'prompt' must be {Kinds}, not a mix", "prompt");
        }

        private static int[] Ids(List<JsonElement> items, LanguageModel lm)
        {
            if (items.Count == 0) throw new ApiException(400, "'prompt' holds an empty list of token ids; give at least one id", "prompt");
            var ids = new int[items.Count];
            for (int i = 0; i < items.Count; ++i)
            {
                JsonElement e = items[i];
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long id) || id < 0 || id >= lm.Vocabulary.Size)
                    throw new ApiException(400, $"'prompt' holds the token id {e.GetRawText()}; ids must be integers in [0, {lm.Vocabulary.Size}) for this model's vocabulary", "prompt");
                ids[i] = (int)id;
            }
            return ids;
        }

        // How one request's log-probabilities are laid out: the completions API's lists or the chat API's content entries.
        private sealed class Shape(LanguageModel lm, bool chat, bool echo, int? top)
        {
            public bool Chat => chat;
            public bool Echo => echo;

            // A token's text as the API shows it: its decoded text, a special token by its name.
            private string Text(int id) => lm.Vocabulary.IsSpecial(id) ? lm.Vocabulary.TokenOf(id) : lm.TokenTexts[id];

            // The length it adds to the choice's text (special tokens add nothing: decoding drops them).
            private int Width(int id) => lm.TokenTexts[id].Length;

            /// <summary>
            /// The 'logprobs' object of a choice, or of one streamed chunk: the prompt's tokens first when echoing (the first
            /// with no log-probability), then the generated ones; <paramref name="offset"/> is where the chunk's text starts.
            /// </summary>
            public object? Logprobs(IReadOnlyList<int>? prompt, IReadOnlyList<TokenLogprob>? promptScores, IReadOnlyList<GeneratedToken> generated, int offset)
            {
                if (top is not { } k) return null;
                var entries = new List<(int Id, TokenLogprob? Score)>();
                if (echo && prompt is not null)
                {
                    entries.Add((prompt[0], null));
                    for (int i = 1; i < prompt.Count; ++i) entries.Add((prompt[i], promptScores![i - 1]));
                }
                foreach (GeneratedToken g in generated) entries.Add((g.Id, g.Logprob));
                if (chat)
                    return new
                    {
                        content = entries.Select(e => new
                        {
                            token = Text(e.Id),
                            logprob = e.Score!.Logprob,
                            bytes = Encoding.UTF8.GetBytes(Text(e.Id)).Select(b => (int)b),
                            top_logprobs = e.Score.Top.Take(k).Select(t => new { token = Text(t.Id), logprob = t.Logprob, bytes = Encoding.UTF8.GetBytes(Text(t.Id)).Select(b => (int)b) }),
                        }),
                        refusal = (object?)null,
                    };
                var offsets = new List<int>();
                foreach ((int id, _) in entries)
                {
                    offsets.Add(offset);
                    offset += Width(id);
                }
                return new
                {
                    tokens = entries.Select(e => Text(e.Id)),
                    token_logprobs = entries.Select(e => e.Score?.Logprob),
                    top_logprobs = entries.Select(e => e.Score is null ? null : TopMap(e.Score, k)),
                    text_offset = offsets,
                };
            }

            private Dictionary<string, float> TopMap(TokenLogprob score, int k)
            {
                var map = new Dictionary<string, float>(StringComparer.Ordinal);
                foreach ((int id, float logprob) in score.Top.Take(k)) map.TryAdd(Text(id), logprob); // tokens of the same text: the likelier one
                return map;
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
            int completion = choices.Sum(c => c.Generated.Count);
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

        private sealed class Choice(int index, CancellationTokenSource cancel, CompletionJob? job)
        {
            public int Index => index;
            public CancellationTokenSource Cancel => cancel;
            public CompletionJob? Job => job;
            public IReadOnlyList<int> Prompt { get; init; } = [];
            public Task<IReadOnlyList<TokenLogprob>>? PromptScores { get; init; }
            public List<GeneratedToken> Generated { get; } = [];
            public IEnumerable<int> Tokens => Generated.Select(g => g.Id);
            public string Text { get; set; } = "";
            public string? Finish { get; set; }
            public long Arrived { get; init; } // the request's arrival (Stopwatch timestamp), for the time to the first token
            public List<GeneratedToken> Unsent { get; set; } = []; // tokens whose text never became final (a stop string's)
        }

        // Reads a choice's tokens as they come; onDelta gets each piece of text that became final (the sampler holds back a
        // split character and a possible start of a stop string, and ends the sequence before a stop string) with the tokens
        // read since the last piece. A choice with no job (max_tokens 0 with echo) generates nothing.
        private async Task Drive(Choice c, Func<string, IReadOnlyList<GeneratedToken>, Task>? onDelta)
        {
            if (c.Job is null)
            {
                c.Finish = "length";
                return;
            }
            var text = new StringBuilder();
            var pending = new List<GeneratedToken>();
            long last = c.Arrived;
            await foreach (GeneratedToken token in c.Job.Tokens.ReadAllAsync())
            {
                long now = Stopwatch.GetTimestamp();
                metrics.Token(c.Generated.Count == 0, Stopwatch.GetElapsedTime(last, now));
                last = now;
                c.Generated.Add(token);
                pending.Add(token);
                text.Append(token.Text);
                if (onDelta is not null && token.Text.Length > 0)
                {
                    await onDelta(token.Text, pending.ToArray());
                    pending.Clear();
                }
            }
            GenerationResult result = await c.Job.Completion;
            c.Finish = result.Reason == StopReason.MaxTokens ? "length" : "stop";
            c.Text = text.ToString();
            c.Unsent = pending;
        }

        private async Task Stream(HttpContext context, List<Choice> choices, Shape shape,
                                  string id, long created, string model, bool includeUsage, int promptTokens)
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            var gate = new SemaphoreSlim(1, 1);
            bool chat = shape.Chat;
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
            object Chunk(int index, string? text, string? finish, object? logprobs = null, bool first = false) => chat
                ? new { id, @object = kind, created, model, choices = new[] { new { index, delta = (object)(first ? new { role = "assistant", content = "" } : text is null ? new { } : new { content = text }), logprobs, finish_reason = finish } } }
                : new { id, @object = kind, created, model, choices = new[] { new { text = text ?? "", index, logprobs, finish_reason = finish } } };
            await context.Response.StartAsync(context.RequestAborted);
            if (chat) foreach (Choice c in choices) await Send(Chunk(c.Index, null, null, first: true));
            try
            {
                await Task.WhenAll(choices.Select(async c =>
                {
                    int offset = 0; // where the next chunk's text starts in the choice's text
                    if (shape.Echo)
                    {
                        string echoed = Generator.Decode(c.Prompt);
                        IReadOnlyList<TokenLogprob>? scores = c.PromptScores is null ? null : await c.PromptScores;
                        await Send(Chunk(c.Index, echoed, null, shape.Logprobs(c.Prompt, scores, [], 0)));
                        offset = echoed.Length;
                    }
                    await Drive(c, async (delta, tokens) =>
                    {
                        await Send(Chunk(c.Index, delta, null, shape.Logprobs(null, null, tokens, offset)));
                        offset += delta.Length;
                    });
                    await Send(Chunk(c.Index, null, c.Finish, c.Unsent.Count > 0 ? shape.Logprobs(null, null, c.Unsent, offset) : null));
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

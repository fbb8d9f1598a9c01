using Slovo.Torch.NN;
using System.Diagnostics;
using System.Threading.Channels;
using Slovo.Generation;
using Slovo.LanguageModels;

namespace Slovo.Serving;

/// <summary>How the scheduler batches and bounds work.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Sequences decoded together at most; more wait in the queue.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>Sequences that may wait for a place in the batch; beyond it <see cref="CompletionScheduler.Submit(IReadOnlyList{int}, GenerationOptions, CancellationToken)"/> refuses (HTTP 503).</summary>
    public int QueueCapacity { get; init; } = 64;

    /// <summary>The longest a sequence may take, queued and decoded; then it is stopped.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>The queue was full: try again later.</summary>
public sealed class QueueFullException(int capacity) : Exception($"the server is busy: {capacity} sequences are already waiting; retry shortly");

/// <summary>A token as a sequence produced it, with the text it made final (see <see cref="SequenceSampler.NewText"/>).</summary>
/// <param name="Id">The token.</param>
/// <param name="Text">The text that became final with it: whole characters, never the start of a possible stop string, and
/// nothing of a stop string that ended the sequence ("" while a character is split across tokens).</param>
public readonly record struct GeneratedToken(int Id, string Text)
{
    /// <summary>The token's log-probability and the most likely tokens at its position, when the job asked for them.</summary>
    public TokenLogprob? Logprob { get; init; }
}

/// <summary>One sequence submitted to a <see cref="CompletionScheduler"/>.</summary>
public sealed class CompletionJob
{
    private readonly Channel<GeneratedToken> _tokens = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CompletionJob(IReadOnlyList<int> prompt, SequenceSampler sampler, CancellationToken cancel, DateTime deadline, int? topLogprobs)
    {
        (Prompt, Sampler, Cancel, Deadline, TopLogprobs) = (prompt, sampler, cancel, deadline, topLogprobs);
    }

    /// <summary>How many most likely tokens each generated token carries with its log-probability (null: no log-probabilities).</summary>
    public int? TopLogprobs { get; }

    /// <summary>The prompt's ids.</summary>
    public IReadOnlyList<int> Prompt { get; }

    /// <summary>Each token as it is produced, with its text; completed when the sequence ends (or fails).</summary>
    public ChannelReader<GeneratedToken> Tokens => _tokens.Reader;

    /// <summary>The whole result, when the sequence ends: cancelled if the caller cancelled, a <see cref="TimeoutException"/> if it ran out of time.</summary>
    public Task<GenerationResult> Completion => _done.Task;

    internal SequenceSampler Sampler { get; }
    internal CancellationToken Cancel { get; }
    internal DateTime Deadline { get; }
    internal int Pending { get; set; }

    internal void Emit(int token, TokenLogprob? logprob) => _tokens.Writer.TryWrite(new GeneratedToken(token, Sampler.NewText) { Logprob = logprob });

    internal void Finish(GenerationResult result)
    {
        _tokens.Writer.TryComplete();
        _done.TrySetResult(result);
    }

    internal void Fail(Exception e)
    {
        _tokens.Writer.TryComplete(e);
        if (e is OperationCanceledException) _done.TrySetCanceled(Cancel);
        else _done.TrySetException(e);
    }
}

/// <summary>
/// Continuous batching for one <see cref="LanguageModel"/>: submitted sequences wait in a bounded queue, join the running batch
/// between decoding steps (their prompts read together), are stepped one token per step all together, and leave the batch as
/// soon as they end, are cancelled (a client gone) or run out of time. Each sequence samples with its own seeded sampler from
/// the logits it would get alone, so its tokens are those of a request served by itself. One thread owns the model.
/// </summary>
public sealed class CompletionScheduler : IDisposable
{
    private readonly LanguageModel _model;
    private readonly SchedulerOptions _options;
    private readonly Channel<object> _queue; // CompletionJob or ScoreJob
    private readonly Thread _worker;
    private readonly CancellationTokenSource _stop = new();
    private int _queued, _active;
    private long _steps, _finished, _cancelled;

    private readonly LoraAdapter? _adapter;

    /// <summary>Starts the decoding thread; it applies the model's own <see cref="LanguageModel.Adapter"/>, if it has one.</summary>
    public CompletionScheduler(LanguageModel model, SchedulerOptions? options = null) : this(model, options, model?.Adapter) { }

    /// <summary>Starts the decoding thread, which applies <paramref name="adapter"/> (one of the model's LoRA adapters) and no other;
    /// null: the base model alone. Several schedulers on one model serve its adapters side by side.</summary>
    public CompletionScheduler(LanguageModel model, SchedulerOptions? options, LoraAdapter? adapter)
    {
        ArgumentNullException.ThrowIfNull(model);
        _adapter = adapter;
        _model = model;
        _options = options ?? new SchedulerOptions();
        if (_options.MaxBatch < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.MaxBatch, "MaxBatch must be at least 1");
        if (_options.QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.QueueCapacity, "QueueCapacity must be at least 1");
        _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        _worker = new Thread(Run) { IsBackground = true, Name = "slovo-decoder" };
        _worker.Start();
    }

    /// <summary>Sequences waiting for a place in the batch.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Sequences being decoded.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Decoding steps run so far (each steps every active sequence once).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Sequences that ended normally.</summary>
    public long Finished => Interlocked.Read(ref _finished);

    /// <summary>Sequences stopped early: cancelled by their caller or out of time.</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>The options in force.</summary>
    public SchedulerOptions Options => _options;

    /// <summary>
    /// Queues one sequence; throws <see cref="QueueFullException"/> when <see cref="SchedulerOptions.QueueCapacity"/> are already waiting.
    /// Cancelling <paramref name="cancel"/> stops the sequence at the next step. The options' stop strings end it, as they end
    /// offline generation.
    /// </summary>
    public CompletionJob Submit(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Submit(prompt, options, null, cancel);

    /// <summary>
    /// Queues one sequence as <see cref="Submit(IReadOnlyList{int}, GenerationOptions, CancellationToken)"/> does; with
    /// <paramref name="topLogprobs"/> each generated token carries its log-probability under the model and that many most
    /// likely tokens (<see cref="GeneratedToken.Logprob"/>).
    /// </summary>
    public CompletionJob Submit(IReadOnlyList<int> prompt, GenerationOptions options, int? topLogprobs, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Beams > 1) throw new ArgumentException("beam search is not batched; use sampling or greedy decoding", nameof(options));
        options.Validate(_model.Vocabulary.Size);
        if (Interlocked.Increment(ref _queued) > _options.QueueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            throw new QueueFullException(_options.QueueCapacity);
        }
        if (topLogprobs is < 0) throw new ArgumentOutOfRangeException(nameof(topLogprobs), topLogprobs, "must be at least 0");
        var job = new CompletionJob(prompt, new SequenceSampler(prompt, options, options.Seed, ids => _model.Decode(ids), keepText: true), cancel,
                                    DateTime.UtcNow + _options.Timeout, topLogprobs);
        Enqueue(job);
        return job;
    }

    /// <summary>
    /// The log-probability of each token of <paramref name="ids"/> after the ones before it (<see cref="LanguageModel.ScoreTokens"/>),
    /// computed on the decoding thread between steps. Refused as <see cref="Submit(IReadOnlyList{int}, GenerationOptions, CancellationToken)"/>
    /// is when the queue is full.
    /// </summary>
    public Task<IReadOnlyList<TokenLogprob>> ScoreAsync(IReadOnlyList<int> ids, int top, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (Interlocked.Increment(ref _queued) > _options.QueueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            throw new QueueFullException(_options.QueueCapacity);
        }
        var job = new ScoreJob(ids, top, cancel);
        Enqueue(job);
        return job.Done.Task;
    }

    private void Enqueue(object job)
    {
        if (!_queue.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref _queued);
            throw new ObjectDisposedException(nameof(CompletionScheduler));
        }
    }

    private sealed class ScoreJob(IReadOnlyList<int> ids, int top, CancellationToken cancel)
    {
        public IReadOnlyList<int> Ids => ids;
        public int Top => top;
        public CancellationToken Cancel => cancel;
        public TaskCompletionSource<IReadOnlyList<TokenLogprob>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void Score(ScoreJob job)
    {
        if (job.Cancel.IsCancellationRequested)
        {
            job.Done.TrySetCanceled(job.Cancel);
            return;
        }
        try { job.Done.TrySetResult(_model.ScoreTokens(job.Ids, job.Top)); }
        catch (Exception e) when (e is not OutOfMemoryException) { job.Done.TrySetException(e); }
    }

    private void Run()
    {
        using var chosen = LoraLayer.Select(_adapter); // this thread's forward passes apply this adapter only
        var rows = new List<CompletionJob>();
        IDecodingBatch batch = _model.OpenBatch();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (rows.Count == 0)
                {
                    try
                    {
                        if (!_queue.Reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) return;
                    }
                    catch (OperationCanceledException) { return; }
                }
                var joining = new List<CompletionJob>();
                while (rows.Count + joining.Count < _options.MaxBatch && _queue.Reader.TryRead(out object? item))
                {
                    Interlocked.Decrement(ref _queued);
                    if (item is ScoreJob score) Score(score);
                    else if (item is CompletionJob job && !Ended(job)) joining.Add(job);
                }
                try
                {
                    if (joining.Count > 0)
                    {
                        IReadOnlyList<float[]> first = batch.Add(joining.Select(j => j.Prompt).ToList());
                        for (int i = 0; i < joining.Count; ++i) Sample(joining[i], first[i]);
                        rows.AddRange(joining);
                        Interlocked.Exchange(ref _active, rows.Count);
                        Prune(batch, rows);
                    }
                    if (rows.Count > 0)
                    {
                        IReadOnlyList<float[]> logits = batch.Step(rows.Select(r => r.Pending).ToList());
                        Interlocked.Increment(ref _steps);
                        for (int i = 0; i < rows.Count; ++i) Sample(rows[i], logits[i]);
                        Prune(batch, rows);
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A failing step (e.g. libtorch refusing an input) fails the sequences in it; the server goes on.
                    foreach (CompletionJob job in rows.Concat(joining).Distinct()) job.Fail(e);
                    rows.Clear();
                    batch.Dispose();
                    batch = _model.OpenBatch();
                }
                Interlocked.Exchange(ref _active, rows.Count);
            }
        }
        finally
        {
            var stopped = new ObjectDisposedException(nameof(CompletionScheduler), "the server is stopping");
            foreach (CompletionJob job in rows) job.Fail(stopped);
            while (_queue.Reader.TryRead(out object? item))
            {
                if (item is CompletionJob job) job.Fail(stopped);
                else if (item is ScoreJob score) score.Done.TrySetException(stopped);
            }
            batch.Dispose();
        }
    }

    private static void Sample(CompletionJob job, float[] logits)
    {
        job.Pending = job.Sampler.Next(logits); // reads the scores without changing them
        job.Emit(job.Pending, job.TopLogprobs is { } top ? TokenLogprob.Of(logits, job.Pending, top) : null);
    }

    // Whether a job must leave (it ended, was cancelled, or ran out of time); settles it if so.
    private bool Ended(CompletionJob job)
    {
        if (job.Cancel.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            job.Fail(new OperationCanceledException(job.Cancel));
            return true;
        }
        if (job.Sampler.Result is { } result)
        {
            Interlocked.Increment(ref _finished);
            job.Finish(result);
            return true;
        }
        if (DateTime.UtcNow > job.Deadline)
        {
            Interlocked.Increment(ref _cancelled);
            job.Fail(new TimeoutException($"the request took longer than the server's limit of {_options.Timeout.TotalSeconds:0} s"));
            return true;
        }
        return false;
    }

    private void Prune(IDecodingBatch batch, List<CompletionJob> rows)
    {
        var keep = new List<int>();
        for (int i = 0; i < rows.Count; ++i)
            if (!Ended(rows[i])) keep.Add(i);
        if (keep.Count == rows.Count) return;
        batch.Retain(keep);
        List<CompletionJob> kept = keep.Select(i => rows[i]).ToList();
        rows.Clear();
        rows.AddRange(kept);
    }

    /// <summary>Stops the decoding thread; sequences still queued or running fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _stop.Cancel();
        if (_worker.IsAlive && !_worker.Join(TimeSpan.FromSeconds(30))) Debug.WriteLine("slovo-decoder did not stop in 30 s");
        _stop.Dispose();
    }
}

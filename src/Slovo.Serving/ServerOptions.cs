namespace Slovo.Serving;

/// <summary>How chat messages become a prompt for a language model that carries no chat template of its own.</summary>
public enum ChatLayout
{
    /// <summary>The messages' contents, one per line (system first); the model continues the text. Suits models trained on plain text.</summary>
    Plain,
    /// <summary>"System: …", "User: …", "Assistant: …" lines ending in "Assistant:"; generation stops at the next "\nUser:".</summary>
    Dialog,
}

/// <summary>The server's settings.</summary>
public sealed record ServerOptions
{
    /// <summary>The address to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port to listen on (0: any free port).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Request bodies larger than this are refused with 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>Tokens one completion may ask for at most (for models without a context limit).</summary>
    public int MaxTokensLimit { get; init; } = 4096;

    /// <summary>Batching, queue and timeout of completions.</summary>
    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>How chat messages are laid into a prompt for a model without its own chat template (a model with one is rendered by it).</summary>
    public ChatLayout ChatLayout { get; init; } = ChatLayout.Plain;

    /// <summary>
    /// On stopping (SIGTERM, Ctrl+C): how long requests already running (streams included) may take to finish; the server
    /// accepts no new connections meanwhile, and cancels whatever still runs after it.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether to log each request (method, path, status, time) to the console.</summary>
    public bool LogRequests { get; init; }
}

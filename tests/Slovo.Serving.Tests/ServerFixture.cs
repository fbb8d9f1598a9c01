using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;

namespace Slovo.Serving.Tests;

/// <summary>The server with every kind of model, hosted in process (TestServer) — and, for real clients, on a loopback port.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServedModels Models { get; } = TestModels.All();
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public CompletionScheduler Scheduler => (CompletionScheduler)App.Services.GetService(typeof(CompletionScheduler))!;

    public static readonly ServerOptions Options = new()
    {
        MaxBodyBytes = 64 * 1024,
        Scheduler = new SchedulerOptions { MaxBatch = 8, QueueCapacity = 32 },
    };

    public async Task InitializeAsync()
    {
        App = SlovoServer.Create(Models, Options, b => b.WebHost.UseTestServer());
        await App.StartAsync();
        Client = App.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Models.Dispose();
    }
}

/// <summary>The same server on 127.0.0.1 (any free port), for clients that open their own connections.</summary>
public sealed class LoopbackFixture : IAsyncLifetime
{
    public ServedModels Models { get; } = TestModels.All();
    public WebApplication App { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = SlovoServer.Create(Models, ServerFixture.Options with { Port = 0 });
        await App.StartAsync();
        Address = new Uri(App.Urls.First());
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Models.Dispose();
    }
}

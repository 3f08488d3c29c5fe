using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;

namespace Breadboard.Web.Tests;

/// <summary>A web server of its own on a free loopback port, for tests that need other options or another store than <see cref="WebFixture"/>'s.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(WebApplication app, LiveHub hub, CapturedLogs logs)
    {
        App = app;
        Hub = hub;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First());
        Http = new HttpClient { BaseAddress = BaseAddress };
    }

    public WebApplication App { get; }

    public LiveHub Hub { get; }

    public CapturedLogs Logs { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    /// <summary>The stream's URL on this server.</summary>
    public Uri StreamUri => new UriBuilder(BaseAddress) { Scheme = "ws", Path = "/api/stream" }.Uri;

    /// <summary>Options as the tests' servers use them: loopback, a free port, the default pipeline.</summary>
    public static WebOptions Options(string storeUrl = "scripted://test") =>
        new() { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = storeUrl };

    public static async Task<RunningServer> StartAsync(IMarketStore store, WebOptions? options = null, LiveHub? hub = null)
    {
        var logs = new CapturedLogs();
        hub ??= new LiveHub();
        var app = WebServer.Build(options ?? Options(), store, hub, logging: logs.AddTo);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new RunningServer(app, hub, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Logs.Dispose();
    }
}

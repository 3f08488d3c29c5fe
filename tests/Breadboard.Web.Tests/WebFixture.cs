using Breadboard.Core.Engine;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Runtime;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;

namespace Breadboard.Web.Tests;

/// <summary>
/// A real pipeline run into a real DuckDB store (synthetic feed → engine → store sink), and the web server over
/// it on a free loopback port. Shared by the API tests, which only read.
/// </summary>
public sealed class WebFixture : IAsyncLifetime
{
    public const int MaxLimit = 300;

    private readonly string _dir = Directory.CreateTempSubdirectory("breadboard-web-").FullName;

    public DuckDbStore Store { get; private set; } = null!;

    public LiveHub Hub { get; } = new();

    public WebApplication App { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Everything the engine emitted, to compare the API's answers with.</summary>
    public List<Core.Model.Bar> Bars { get; } = [];

    public List<Core.Model.Alert> Alerts { get; } = [];

    public long TickCount { get; private set; }

    public async ValueTask InitializeAsync()
    {
        Store = DuckDbStore.Open(Path.Combine(_dir, "web.duckdb"));
        await Store.InitializeAsync();

        // Two hours of three symbols with the synthetic feed's shocks: bars in every window and some alerts.
        var options = SyntheticFeedOptions.Default with { Symbols = ["AAPL", "BTC-USD", "ETH-USD"], StartTime = 1_767_312_000_000, RatePerSecond = 12, Seed = 5, ShockProbability = 1.0 / 2_000 };
        var run = EngineRun.Start(PipelineDefinition.Default, EngineRunOptions.Default with { Tap = new Collecting(Bars, Alerts) });
        foreach (var tick in new SyntheticFeed(options).Generate(86_400))
        {
            run.Process(in tick, TickCount++);
            if (run.Pending >= 20_000)
            {
                await Store.WriteAsync(run.TakeBatch());
            }
        }

        run.Engine.CloseAll();
        await Store.WriteAsync(run.TakeBatch());

        App = WebServer.Build(new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = "duckdb://test", MaxLimit = MaxLimit, MaxTickLimit = MaxLimit }, Store, Hub);
        await App.StartAsync();
        BaseAddress = new Uri(App.Urls.First());
        Http = new HttpClient { BaseAddress = BaseAddress };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Collecting(List<Core.Model.Bar> bars, List<Core.Model.Alert> alerts) : IEngineOutput
    {
        public void OnBar(Core.Model.Bar bar) => bars.Add(bar);

        public void OnAlert(Core.Model.Alert alert) => alerts.Add(alert);

        public void OnLate(in Core.Model.Tick tick, long watermark)
        {
        }

        public void OnTick(in Core.Model.Tick tick, long position)
        {
        }

        public void OnReject(in Core.Model.Tick tick, long position, string reason)
        {
        }
    }
}

[CollectionDefinition(nameof(WebServerGroup))]
public sealed class WebServerGroup : ICollectionFixture<WebFixture>;

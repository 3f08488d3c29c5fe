using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Runtime;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;

namespace Breadboard.Web.Tests.Indicators;

/// <summary>
/// A pipeline with issue 20's indicators and expression rules (and a chained indicator, and one of the hopping
/// 5m window), run over eight hours of three synthetic symbols into a real DuckDB store, and the web server over it.
/// </summary>
public sealed class IndicatorFixture : IAsyncLifetime
{
    public const string PipelineYaml = """
        version: 1
        out_of_orderness: 5s
        dedup_horizon: 10m
        windows:
          - { name: "1m", type: tumbling, size: 60s }
          - { name: "5m", type: hopping, size: 5m, slide: 60s }
          - { name: "session", type: session, gap: 30s }
        aggregates: [open, high, low, close, volume, vwap, trades]
        indicators:
          - { name: sma_fast, window: "1m", type: sma, of: close, period: 5 }
          - { name: sma_slow, window: "1m", type: sma, of: close, period: 20 }
          - { name: ema12, window: "1m", type: ema, of: close, period: 12 }
          - { name: rsi14, window: "1m", type: rsi, of: close, period: 14 }
          - { name: vol_z, window: "1m", type: zscore, of: volume, period: 20 }
          - { name: bb, window: "1m", type: bollinger, of: close, period: 20, k: 2 }
          - { name: atr14, window: "1m", type: atr, period: 14 }
          - { name: rsi_smooth, window: "1m", type: sma, of: rsi14, period: 5 }
          - { name: vol_avg, window: "1m", type: sma, of: volume, period: 10 }
          - { name: ema5m, window: "5m", type: ema, of: close, period: 3 }
        rules:
          - { name: price_drop, window: "5m", type: price_change, op: "<=", threshold_percent: -5 }
          - { name: golden_cross, window: "1m", when: "crosses_above(sma_fast, sma_slow)" }
          - { name: rsi_hot, window: "1m", when: "rsi14 > 60", for: 2 }
          - { name: band_break, window: "1m", when: "crosses_below(close, bb.lower)" }
          - { name: above_ema5m, window: "5m", when: "crosses_above(close, ema5m)" }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("breadboard-indicators-").FullName;

    public PipelineDefinition Pipeline { get; } = PipelineLoader.Parse(PipelineYaml, "indicators.yaml");

    public DuckDbStore Store { get; private set; } = null!;

    public WebApplication App { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every bar the engine emitted, in the order it emitted them (the order it updated its indicators in).</summary>
    public List<Bar> Bars { get; } = [];

    public List<Alert> Alerts { get; } = [];

    /// <summary>The ticks of the run: eight hours of AAPL, BTC-USD and ETH-USD at two ticks a second in all.</summary>
    public static IEnumerable<Tick> Ticks()
    {
        var options = SyntheticFeedOptions.Default with { Symbols = ["AAPL", "BTC-USD", "ETH-USD"], StartTime = 1_767_312_000_000, RatePerSecond = 2, Seed = 20 };
        return new SyntheticFeed(options).Generate(57_600);
    }

    /// <summary>Runs the engine over <see cref="Ticks"/> with <paramref name="tap"/> seeing everything it emits; <paramref name="afterTick"/> after each tick.</summary>
    public EngineRun Run(IEngineOutput tap, Action<long>? afterTick = null)
    {
        var run = EngineRun.Start(Pipeline, EngineRunOptions.Default with { Tap = tap });
        var position = 0L;
        foreach (var tick in Ticks())
        {
            run.Process(in tick, position++);
            afterTick?.Invoke(position);
        }

        run.Engine.CloseAll();
        return run;
    }

    public async ValueTask InitializeAsync()
    {
        Store = DuckDbStore.Open(Path.Combine(_dir, "indicators.duckdb"));
        await Store.InitializeAsync();
        var run = Run(new Collecting(Bars, Alerts));
        await Store.WriteAsync(run.TakeBatch());

        App = WebServer.Build(new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = Pipeline, StoreUrl = "duckdb://test" }, Store, new LiveHub());
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

    /// <summary>Collects what the engine emits.</summary>
    public sealed class Collecting(List<Bar> bars, List<Alert> alerts) : IEngineOutput
    {
        public void OnBar(Bar bar) => bars.Add(bar);

        public void OnAlert(Alert alert) => alerts.Add(alert);

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }
}

[CollectionDefinition(nameof(IndicatorServerGroup))]
public sealed class IndicatorServerGroup : ICollectionFixture<IndicatorFixture>;

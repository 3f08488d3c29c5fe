using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Streaming;
using Breadboard.Runtime.Faces;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests;

/// <summary>The freshness histograms on /metrics, fed by the embedded face: ticks from a live feed through the engine to the stream, alerts through the bus.</summary>
public partial class FreshnessMetricsTests
{
    /// <summary>One rule that fires on every 1 s bar, so alerts come within seconds.</summary>
    private const string FiringPipeline = """
        version: 1
        out_of_orderness: 0s
        windows:
          - name: "1s"
            type: tumbling
            size: 1s
        aggregates: [open, high, low, close, volume, vwap, trades]
        rules:
          - name: every_bar
            window: "1s"
            type: price_change
            op: ">="
            threshold_percent: -100
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_AfterTicksFlowThroughTheEmbeddedPipeline_HaveFreshnessHistogramsWithCounts()
    {
        var definition = PipelineLoader.Parse(FiringPipeline, "test");
        var store = new ScriptedStore();
        var hub = new LiveHub();
        await using var web = await RunningServer.StartAsync(store, RunningServer.Options() with { Pipeline = definition }, hub);
        var bus = new MemoryAlertBus();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var watching = WatchAsync(bus.SubscribeAsync(cancellationToken: stop.Token), hub);
        var pipeline = new EmbeddedPipeline(definition, store, bus, EmbeddedPipelineOptions.Default, hub);
        var running = pipeline.RunAsync(LiveTicksAsync(stop.Token), stop.Token);

        try
        {
            string text;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            do
            {
                await Task.Delay(200, Ct);
                text = await web.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);
            }
            while ((Count(text, TickCount()) == 0 || Count(text, StreamAlertCount()) == 0 || Count(text, StoreAlertCount()) == 0) && DateTime.UtcNow < deadline);

            Assert.True(Count(text, TickCount()) > 0, "no tick → stream measurements on /metrics");
            Assert.True(Count(text, StreamAlertCount()) > 0, "no alert → stream measurements on /metrics");
            Assert.True(Count(text, StoreAlertCount()) > 0, "no alert → store measurements on /metrics");
            Assert.Matches(@"(?m)^breadboard_freshness_tick_to_stream_seconds_bucket\{[^}]*le=""0\.25""", text);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            try
            {
                await watching;
            }
            catch (OperationCanceledException)
            {
                // Stopped with the pipeline.
            }
        }
    }

    private static long Count(string metrics, Regex line) =>
        line.Match(metrics) is { Success: true } m ? (long)double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"(?m)^breadboard_freshness_tick_to_stream_seconds_count(\{[^}]*\})? (?<n>\S+)")]
    private static partial Regex TickCount();

    [GeneratedRegex(@"(?m)^breadboard_freshness_alert_seconds_count\{[^}]*stage=""stream""[^}]*\} (?<n>\S+)")]
    private static partial Regex StreamAlertCount();

    [GeneratedRegex(@"(?m)^breadboard_freshness_alert_seconds_count\{[^}]*stage=""store""[^}]*\} (?<n>\S+)")]
    private static partial Regex StoreAlertCount();

    private static async Task WatchAsync(IAsyncEnumerable<Alert> alerts, LiveHub hub)
    {
        await foreach (var alert in alerts)
        {
            hub.OnAlert(alert);
        }
    }

    /// <summary>Two symbols' trades every 10 ms, stamped with the wall clock, until stopped.</summary>
    private static async IAsyncEnumerable<Tick> LiveTicksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var n = 0L;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            yield return new Tick("BTC-USD", now, 40_000 + (n % 7), 0.1, TradeId.FromNumber(++n), "test", AssetClass.Crypto);
            yield return new Tick("ETH-USD", now, 2_000 + (n % 5), 1, TradeId.FromNumber(++n), "test", AssetClass.Crypto);
            try
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }
}

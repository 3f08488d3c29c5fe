using System.Runtime.CompilerServices;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Runtime.Faces;

namespace Breadboard.Runtime.Tests.Faces;

public sealed class EmbeddedPipelineTests : IAsyncLifetime
{
    private static readonly SyntheticFeedOptions Feed = SyntheticFeedOptions.Default with { Symbols = ["AAPL", "BTC-USD"], StartTime = 1_767_312_000_000, RatePerSecond = 5, Seed = 11, ShockProbability = 1.0 / 300 };
    private readonly string _dir = Directory.CreateTempSubdirectory("bb-embedded-").FullName;
    private DuckDbStore _store = null!;

    public async ValueTask InitializeAsync()
    {
        _store = DuckDbStore.Open(Path.Combine(_dir, "embedded.duckdb"));
        await _store.InitializeAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Run_AFeedThatEnds_StoresEveryBarAndAlertTheEngineEmits()
    {
        var ticks = new SyntheticFeed(Feed).Generate(20_000).ToList();
        var expected = Expected(ticks);
        await using var bus = new CheckingBus(_store);
        var pipeline = new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, EmbeddedPipelineOptions.Default with { CloseAtEndOfInput = true, BatchSize = 1_000 });

        await pipeline.RunAsync(AsFeed(ticks), TestContext.Current.CancellationToken);

        Assert.Equal(expected.Bars.Select(Key).Order(), (await Bars()).Select(Key).Order());
        Assert.Equal(expected.Alerts.Select(a => a.Id).Order(), bus.Published.Select(a => a.Id).Order());
        Assert.NotEmpty(bus.Published);
        Assert.Equal(ticks.Count, pipeline.Stats.Ticks);
    }

    /// <summary>Alerts go to the bus as they fire, before the store write of the bar that fired them (as through Kafka).</summary>
    [Fact]
    public async Task Run_PublishesEachAlert_BeforeItsBarIsStored()
    {
        var ticks = new SyntheticFeed(Feed).Generate(20_000).ToList();
        await using var bus = new CheckingBus(_store);
        var pipeline = new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, EmbeddedPipelineOptions.Default with { CloseAtEndOfInput = true, BatchSize = 500 });

        await pipeline.RunAsync(AsFeed(ticks), TestContext.Current.CancellationToken);

        Assert.NotEmpty(bus.Published);
        Assert.Equal(bus.Published.Select(a => a.Id), bus.WithoutBar.Select(a => a.Id));
        Assert.Equal(bus.Published.Count, bus.Flushed);
    }

    /// <summary>The live view gets each alert as it fires: before the bus and the store have it.</summary>
    [Fact]
    public async Task Run_HandsEachAlertToTheLiveView_BeforeTheBus()
    {
        var ticks = new SyntheticFeed(Feed).Generate(20_000).ToList();
        await using var bus = new CheckingBus(_store);
        var live = new AlertsSeen(bus);
        var pipeline = new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, EmbeddedPipelineOptions.Default with { CloseAtEndOfInput = true, BatchSize = 1_000 }, live);

        await pipeline.RunAsync(AsFeed(ticks), TestContext.Current.CancellationToken);

        Assert.NotEmpty(live.Alerts);
        Assert.Equal(bus.Published.Select(a => a.Id).Order(), live.Alerts.Select(a => a.Id).Order());
        Assert.Empty(live.AlreadyOnTheBus);
    }

    /// <summary>Stopped halfway and started again from its checkpoint, the pipeline stores what one uninterrupted run stores.</summary>
    [Fact]
    public async Task Run_StoppedAndStartedAgainFromItsCheckpoint_StoresWhatOneRunStores()
    {
        var ticks = new SyntheticFeed(Feed).Generate(20_000).ToList();
        var options = EmbeddedPipelineOptions.Default with { CheckpointPath = Path.Combine(_dir, "engine.checkpoint"), BatchSize = 1_000 };
        await using var bus = new CheckingBus(_store);

        await new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, options).RunAsync(AsFeed(ticks[..12_345]), TestContext.Current.CancellationToken);
        var second = new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, options with { CloseAtEndOfInput = true });
        await second.RunAsync(AsFeed(ticks[12_345..]), TestContext.Current.CancellationToken);

        Assert.True(second.Restored);
        Assert.Equal(Expected(ticks).Bars.Select(Key).Order(), (await Bars()).Select(Key).Order());
    }

    [Fact]
    public async Task Run_WithACheckpointOfAnotherPipeline_StartsFreshAndSaysWhy()
    {
        var path = Path.Combine(_dir, "engine.checkpoint");
        await File.WriteAllTextAsync(path, "damaged", TestContext.Current.CancellationToken);
        await using var bus = new CheckingBus(_store);
        var pipeline = new EmbeddedPipeline(PipelineDefinition.Default, _store, bus, EmbeddedPipelineOptions.Default with { CheckpointPath = path });

        await pipeline.RunAsync(AsFeed(new SyntheticFeed(Feed).Generate(100).ToList()), TestContext.Current.CancellationToken);

        Assert.False(pipeline.Restored);
        Assert.Contains(path, pipeline.CheckpointProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WhenTheStoreFails_EndsWithTheStoresError()
    {
        var broken = DuckDbStore.Open(Path.Combine(_dir, "broken.duckdb"));
        await broken.InitializeAsync(TestContext.Current.CancellationToken);
        await broken.DisposeAsync();
        await using var bus = new CheckingBus(_store);
        var pipeline = new EmbeddedPipeline(PipelineDefinition.Default, broken, bus, EmbeddedPipelineOptions.Default with { BatchSize = 100 });

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pipeline.RunAsync(Endless(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken));
    }

    private static (List<Bar> Bars, List<Alert> Alerts) Expected(List<Tick> ticks)
    {
        var output = new Collect();
        var engine = new WindowEngine(PipelineDefinition.Default, output);
        foreach (var tick in ticks)
        {
            engine.Process(in tick);
        }

        engine.CloseAll();
        return (output.Bars, output.Alerts);
    }

    private static string Key(Bar b) => $"{b.Symbol}|{b.Window}|{b.WindowStart}|{b.Close}|{b.Volume}|{b.Trades}";

    private async Task<List<Bar>> Bars()
    {
        var bars = new List<Bar>();
        await foreach (var bar in _store.QueryBarsAsync(new BarQuery(Limit: 1_000_000), TestContext.Current.CancellationToken))
        {
            bars.Add(bar);
        }

        return bars;
    }

#pragma warning disable CS1998 // a feed that never waits
    private static async IAsyncEnumerable<Tick> AsFeed(IEnumerable<Tick> ticks)
    {
        foreach (var tick in ticks)
        {
            yield return tick;
        }
    }
#pragma warning restore CS1998

    private static async IAsyncEnumerable<Tick> Endless([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var tick in new SyntheticFeed(Feed).Generate(long.MaxValue))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return tick;
            await Task.Yield();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A live view that records the alerts it gets, and those the bus had already.</summary>
    private sealed class AlertsSeen(CheckingBus bus) : ILiveObserver
    {
        public List<Alert> Alerts { get; } = [];

        public List<Alert> AlreadyOnTheBus { get; } = [];

        public void OnTick(in Tick tick)
        {
        }

        public void OnClosedBar(Bar bar)
        {
        }

        public void OnAlert(Alert alert)
        {
            Alerts.Add(alert);
            if (bus.Has(alert.Id))
            {
                AlreadyOnTheBus.Add(alert);
            }
        }
    }

    /// <summary>An alert bus that records what it is given, whether the store had the alert's bar by then, and how many it had when last flushed.</summary>
    private sealed class CheckingBus(IMarketStore store) : IAlertBus
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Alert> _ids = new(StringComparer.Ordinal);

        public List<Alert> Published { get; } = [];

        public List<Alert> WithoutBar { get; } = [];

        /// <summary>Whether the alert was published; safe from another thread than the writer's.</summary>
        public bool Has(string id) => _ids.ContainsKey(id);

        public async ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default)
        {
            _ids[alert.Id] = alert;
            Published.Add(alert);
            var found = false;
            await foreach (var _ in store.QueryBarsAsync(new BarQuery(alert.Symbol, alert.Window, alert.WindowStart, alert.WindowStart + 1), cancellationToken))
            {
                found = true;
            }

            if (!found)
            {
                WithoutBar.Add(alert);
            }
        }

        public int Flushed { get; private set; }

        public ValueTask FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushed = Published.Count;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Collect : IEngineOutput
    {
        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        public void OnBar(Bar bar) => Bars.Add(bar);

        public void OnAlert(Alert alert) => Alerts.Add(alert);

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

using System.Diagnostics;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using DuckDB.NET.Data;
using static Breadboard.DuckDb.Tests.Make;

namespace Breadboard.DuckDb.Tests;

public class DuckDbStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Open_WithMissingParentDirectory_CreatesIt()
    {
        await using var temp = await TempStore.CreateAsync();
        Assert.True(File.Exists(temp.FilePath));
        Assert.Equal(temp.FilePath, temp.Store.DataSource);
    }

    [Fact]
    public async Task InitializeAsync_Twice_KeepsTheSchemaAndTheData()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 190)], bars: [Bar("AAPL", "1m", T0)], counts: new(1, 2, 3)), Ct);

        await temp.Store.InitializeAsync(Ct);
        var reopened = await temp.ReopenAsync();
        await reopened.InitializeAsync(Ct);

        Assert.Single(await reopened.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Single(await reopened.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(new PipelineCounts(1, 2, 3), await reopened.ReadCountsAsync(Ct));

        await reopened.DisposeAsync();
        await using var connection = new DuckDBConnection($"DataSource={temp.FilePath}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT list(version) FROM schema_version";
        Assert.Equal([4], (List<int>)(await command.ExecuteScalarAsync(Ct))!); // one row: the latest migration
    }

    [Fact]
    public async Task BatchRuns_ReplacedByJobAndRunId_ReadNewestFirst()
    {
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        await store.WriteBatchRunAsync(new BatchRun("r1", "historical_fetch", T0, null, "running", 0, ""), Ct);
        await store.WriteBatchRunAsync(new BatchRun("r2", "historical_fetch", T0 + 10, T0 + 20, "failed", 0, "provider down", 4), Ct);
        await store.WriteBatchRunAsync(new BatchRun("r1", "historical_fetch", T0, T0 + 5, "succeeded", 120, ""), Ct);

        Assert.Equal(
            [new BatchRun("r2", "historical_fetch", T0 + 10, T0 + 20, "failed", 0, "provider down", 4), new BatchRun("r1", "historical_fetch", T0, T0 + 5, "succeeded", 120, "")],
            await store.QueryBatchRunsAsync(10, Ct).ToListAsync(Ct));
        Assert.Single(await store.QueryBatchRunsAsync(1, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_BeforeInitialize_Throws()
    {
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)]), Ct));
    }

    [Fact]
    public async Task InMemoryStore_WritesAndQueries()
    {
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        await store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 190)], bars: [Bar("AAPL", "1m", T0)]), Ct);

        Assert.Single(await store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Single(await store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_Ticks_RoundTripExactMillisecondsAndNullableFields()
    {
        await using var temp = await TempStore.CreateAsync();
        Tick[] ticks =
        [
            new("BTC-USD", 1767364200123, 43125.5, 0.25, TradeId.FromText("9"), "coinbase", AssetClass.Crypto),
            new("AAPL", 1767364200124, 190.01, 100, TradeId.None, null, AssetClass.Stock),
            new("ETH-USD", 1767364200125, 2300.75, 1.5, TradeId.FromText("0xABC-01"), "kraken", AssetClass.Crypto),
            new("EARLY", EventTime.MinMs, 1, 0, TradeId.None, null, AssetClass.Stock),
            new("LATE", EventTime.MaxMs, 1e-9, double.Epsilon, TradeId.FromNumber(123456789012345678), null, AssetClass.Stock),
        ];
        await temp.Store.WriteAsync(Batch(ticks: ticks), Ct);

        var read = await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct);

        Assert.Equal([ticks[3], ticks[0], ticks[1], ticks[2], ticks[4]], read);
    }

    [Fact]
    public async Task WriteAsync_Bars_RoundTripWithNullVwap()
    {
        await using var temp = await TempStore.CreateAsync();
        Bar[] bars =
        [
            new("BTC-USD", "1m", 1767364200123, 1767364260123, 1.5, 2.25, 0.125, 2, 10.5, 1.75, 7),
            new("AAPL", "session", T0, T0 + 45_001, 190, 191, 189, 190.5, 0, null, 3),
        ];
        await temp.Store.WriteAsync(Batch(bars: bars), Ct);

        var read = await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct);

        Assert.Equal([bars[1], bars[0]], read);
    }

    [Fact]
    public async Task WriteAsync_Alerts_RoundTrip()
    {
        await using var temp = await TempStore.CreateAsync();
        var alert = new Alert("price_drop:BTC-USD:5m:1767363900123", "price_drop", "BTC-USD", "5m", 1767363900123, 1767364200123, -5.25, -5, 1767364200123);
        await temp.Store.WriteAsync(Batch(alerts: [alert]), Ct);

        Assert.Equal([alert], await temp.Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_SameBarTwiceInOneBatch_KeepsTheLast()
    {
        await using var temp = await TempStore.CreateAsync();
        var first = Bar("AAPL", "1m", T0, close: 101, trades: 1);
        var second = Bar("AAPL", "1m", T0, close: 102, trades: 2);
        var third = Bar("AAPL", "1m", T0, close: 103, vwap: null, trades: 3);
        var other = Bar("MSFT", "1m", T0, close: 400);

        await temp.Store.WriteAsync(Batch(bars: [first, other, second, third]), Ct);

        Assert.Equal([third, other], await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_LaterBatch_ReplacesTheBarOfTheSameKey()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(bars: [Bar("AAPL", "1m", T0, close: 101)]), Ct);
        var update = Bar("AAPL", "1m", T0, close: 99, vwap: null, trades: 5);

        await temp.Store.WriteAsync(Batch(bars: [update]), Ct);

        Assert.Equal([update], await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_SameBatchTwice_LeavesTheSameBarsAndAlertsAndAppendsTicksAgain()
    {
        await using var temp = await TempStore.CreateAsync();
        var batch = Batch(
            ticks: [Tick("AAPL", T0, 190), Tick("AAPL", T0 + 1, 191)],
            bars: [Bar("AAPL", "1m", T0, close: 101), Bar("AAPL", "1m", T0, close: 102), Bar("AAPL", "5m", T0)],
            alerts: [Alert("price_drop", "AAPL", T0, -6), Alert("price_drop", "AAPL", T0, -7)]);

        await temp.Store.WriteAsync(batch, Ct);
        var barsOnce = await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct);
        var alertsOnce = await temp.Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct);
        await temp.Store.WriteAsync(batch, Ct);

        Assert.Equal(2, barsOnce.Count);
        Assert.Equal(barsOnce, await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(-7, Assert.Single(alertsOnce).Value);
        Assert.Equal(alertsOnce, await temp.Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(4, (await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct)).Count);
    }

    [Fact]
    public async Task WriteAsync_SameAlertId_KeepsTheLastWithinAndAcrossBatches()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(alerts: [Alert("price_drop", "AAPL", T0, -6), Alert("price_drop", "AAPL", T0, -8)]), Ct);
        Assert.Equal(-8, Assert.Single(await temp.Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct)).Value);

        var later = Alert("price_drop", "AAPL", T0, -9);
        await temp.Store.WriteAsync(Batch(alerts: [later]), Ct);

        Assert.Equal([later], await temp.Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_Counts_AccumulateAcrossBatches()
    {
        await using var temp = await TempStore.CreateAsync();
        Assert.Equal(default, await temp.Store.ReadCountsAsync(Ct));

        await temp.Store.WriteAsync(Batch(counts: new(1, 2, 3)), Ct);
        await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)], counts: new(10, 0, 5)), Ct);
        await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)]), Ct);

        Assert.Equal(new PipelineCounts(11, 2, 8), await temp.Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_WhenCancelled_StoresNothing()
    {
        await using var temp = await TempStore.CreateAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)], counts: new(1, 0, 0)), cancelled.Token));

        Assert.Empty(await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(default, await temp.Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_WhenAPartFails_StoresNothingAndTheStoreStaysUsable()
    {
        await using var temp = await TempStore.CreateAsync();
        var broken = Bar(null!, "1m", T0);

        await Assert.ThrowsAsync<DuckDBException>(async () =>
            await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)], bars: [Bar("AAPL", "1m", T0), broken], counts: new(1, 0, 0)), Ct));

        Assert.Empty(await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Empty(await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(default, await temp.Store.ReadCountsAsync(Ct));

        await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)], bars: [Bar("AAPL", "1m", T0)], counts: new(1, 0, 0)), Ct);
        Assert.Single(await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Single(await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(new PipelineCounts(1, 0, 0), await temp.Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task QueryBarsAsync_FiltersBySymbolWindowAndStartRange()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(bars:
        [
            Bar("AAPL", "1m", T0), Bar("AAPL", "1m", T0 + 60_000), Bar("AAPL", "1m", T0 + 120_000),
            Bar("AAPL", "5m", T0 + 60_000), Bar("MSFT", "1m", T0 + 60_000),
        ]), Ct);

        async Task<List<(string, string, long)>> Keys(BarQuery query) =>
            (await temp.Store.QueryBarsAsync(query, Ct).ToListAsync(Ct)).Select(b => (b.Symbol, b.Window, b.WindowStart - T0)).ToList();

        Assert.Equal([("AAPL", "1m", 0), ("AAPL", "1m", 60_000), ("AAPL", "1m", 120_000)], await Keys(new BarQuery("AAPL", "1m")));
        Assert.Equal([("AAPL", "1m", 60_000), ("MSFT", "1m", 60_000), ("AAPL", "5m", 60_000)], await Keys(new BarQuery(From: T0 + 60_000, To: T0 + 120_000)));
        Assert.Equal([("AAPL", "5m", 60_000)], await Keys(new BarQuery(Window: "5m")));
        Assert.Equal([("AAPL", "1m", 120_000)], await Keys(new BarQuery("AAPL", "1m", From: T0 + 60_001)));
        Assert.Empty(await Keys(new BarQuery("AAPL' OR '1'='1")));
    }

    [Fact]
    public async Task QueryBarsAsync_OrdersByStartThenWindowThenSymbol()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(bars:
        [
            Bar("MSFT", "5m", T0), Bar("AAPL", "5m", T0), Bar("MSFT", "1m", T0 + 60_000), Bar("AAPL", "1m", T0), Bar("MSFT", "1m", T0),
        ]), Ct);

        var keys = (await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct)).Select(b => (b.WindowStart - T0, b.Window, b.Symbol));

        Assert.Equal([(0L, "1m", "AAPL"), (0L, "1m", "MSFT"), (0L, "5m", "AAPL"), (0L, "5m", "MSFT"), (60_000L, "1m", "MSFT")], keys);
    }

    [Fact]
    public async Task QueryBarsAsync_WithLimit_KeepsTheLatestInAscendingOrder()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(bars: Enumerable.Range(0, 10).Select(i => Bar("AAPL", "1m", T0 + (i * 60_000L)))), Ct);

        var latest = await temp.Store.QueryBarsAsync(new BarQuery(Limit: 3), Ct).ToListAsync(Ct);
        var latestBeforeFive = await temp.Store.QueryBarsAsync(new BarQuery(To: T0 + 300_000, Limit: 2), Ct).ToListAsync(Ct);

        Assert.Equal([420_000L, 480_000L, 540_000L], latest.Select(b => b.WindowStart - T0));
        Assert.Equal([180_000L, 240_000L], latestBeforeFive.Select(b => b.WindowStart - T0));
        Assert.Empty(await temp.Store.QueryBarsAsync(new BarQuery(Limit: 0), Ct).ToListAsync(Ct));
        Assert.Equal(10, (await temp.Store.QueryBarsAsync(new BarQuery(Limit: 100), Ct).ToListAsync(Ct)).Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await temp.Store.QueryBarsAsync(new BarQuery(Limit: -1), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task QueryAlertsAsync_FiltersOrdersByTsThenIdAndLimitsToTheLatest()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(alerts:
        [
            Alert("price_spike", "AAPL", T0 + 120_000), Alert("price_drop", "MSFT", T0), Alert("price_drop", "AAPL", T0),
            Alert("volume_surge", "AAPL", T0 + 60_000), Alert("price_drop", "AAPL", T0 + 180_000),
        ]), Ct);

        async Task<List<(long, string, string)>> Keys(AlertQuery query) =>
            (await temp.Store.QueryAlertsAsync(query, Ct).ToListAsync(Ct)).Select(a => (a.Ts - T0, a.Rule, a.Symbol)).ToList();

        Assert.Equal(
            [(0L, "price_drop", "AAPL"), (0L, "price_drop", "MSFT"), (60_000L, "volume_surge", "AAPL"), (120_000L, "price_spike", "AAPL"), (180_000L, "price_drop", "AAPL")],
            await Keys(new AlertQuery()));
        Assert.Equal([(0L, "price_drop", "MSFT")], await Keys(new AlertQuery(Symbol: "MSFT")));
        Assert.Equal([(0L, "price_drop", "AAPL"), (180_000L, "price_drop", "AAPL")], await Keys(new AlertQuery("AAPL", "price_drop")));
        Assert.Equal([(60_000L, "volume_surge", "AAPL"), (120_000L, "price_spike", "AAPL")], await Keys(new AlertQuery(Since: T0 + 60_000, To: T0 + 180_000)));
        Assert.Equal([(120_000L, "price_spike", "AAPL"), (180_000L, "price_drop", "AAPL")], await Keys(new AlertQuery(Limit: 2)));
        Assert.Equal([(0L, "price_drop", "MSFT"), (60_000L, "volume_surge", "AAPL")], await Keys(new AlertQuery(To: T0 + 120_000, Limit: 2)));
    }

    [Fact]
    public async Task QueryTicksAsync_FiltersOrdersByTsAndLimitsToTheLatest()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(ticks:
        [
            Tick("AAPL", T0 + 2, 3), Tick("AAPL", T0, 1), Tick("MSFT", T0 + 1, 400), Tick("AAPL", T0 + 1, 2), Tick("AAPL", T0 + 1, 2.5),
        ]), Ct);
        await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0 + 1, 2.75)]), Ct);

        async Task<List<double>> Prices(TickQuery query) =>
            (await temp.Store.QueryTicksAsync(query, Ct).ToListAsync(Ct)).Select(t => t.Price).ToList();

        // Ticks of the same ms keep the order they were written in.
        Assert.Equal([1, 400, 2, 2.5, 2.75, 3], await Prices(new TickQuery()));
        Assert.Equal([1, 2, 2.5, 2.75, 3], await Prices(new TickQuery("AAPL")));
        Assert.Equal([400, 2, 2.5, 2.75], await Prices(new TickQuery(From: T0 + 1, To: T0 + 2)));
        Assert.Equal([2.5, 2.75, 3], await Prices(new TickQuery("AAPL", Limit: 3)));
        Assert.Equal([1], await Prices(new TickQuery("AAPL", To: T0 + 1, Limit: 5)));
    }

    [Fact]
    public async Task QuerySymbolsAsync_GivesTheLastTickAndTheFirstPriceOfTheTrailing24Hours()
    {
        const long Day = 86_400_000;
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.WriteAsync(Batch(ticks:
        [
            Tick("BTC-USD", T0 - Day - 1, 90),
            Tick("BTC-USD", T0 - Day, 100),
            Tick("BTC-USD", T0 - Day, 101),
            Tick("BTC-USD", T0 - 5, 108),
            Tick("AAPL", T0 + 10, 190),
        ]), Ct);
        await temp.Store.WriteAsync(Batch(ticks: [Tick("BTC-USD", T0, 110), Tick("BTC-USD", T0, 111)]), Ct);

        var symbols = await temp.Store.QuerySymbolsAsync(Ct).ToListAsync(Ct);

        Assert.Equal(
            [
                new SymbolSummary("AAPL", AssetClass.Stock, T0 + 10, 190, 190),
                new SymbolSummary("BTC-USD", AssetClass.Crypto, T0, 111, 100),
            ],
            symbols);
        Assert.Equal(11, symbols[1].ChangePercent, precision: 9);
    }

    [Fact]
    public async Task QueryAsync_WhileBatchesAreWritten_SeesOnlyWholeBatches()
    {
        const int Batches = 40;
        const int BarsPerBatch = 10;
        await using var temp = await TempStore.CreateAsync();
        var store = temp.Store;

        var writer = Task.Run(
            async () =>
            {
                for (var b = 0; b < Batches; b++)
                {
                    var ticks = Enumerable.Range(0, 1_000).Select(i => Tick(i % 2 == 0 ? "AAPL" : "BTC-USD", T0 + (b * 1_000L) + i, 100 + i));
                    var bars = Enumerable.Range(0, BarsPerBatch).Select(i => Bar("AAPL", "1m", T0 + (((b * BarsPerBatch) + i) * 60_000L)));
                    await store.WriteAsync(Batch(ticks, bars, counts: new(1, 0, 0)), Ct);
                }
            },
            Ct);

        var reads = 0;
        while (!writer.IsCompleted)
        {
            var bars = await store.QueryBarsAsync(new BarQuery("AAPL"), Ct).ToListAsync(Ct);
            Assert.Equal(0, bars.Count % BarsPerBatch);
            await store.QueryTicksAsync(new TickQuery("BTC-USD", Limit: 100), Ct).ToListAsync(Ct);
            await store.QuerySymbolsAsync(Ct).ToListAsync(Ct);
            await store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct);
            await store.ReadCountsAsync(Ct);
            reads++;
        }

        await writer;
        Assert.True(reads > 0);
        Assert.Equal(Batches * BarsPerBatch, (await store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct)).Count);
        Assert.Equal(new PipelineCounts(Batches, 0, 0), await store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_BatchOf100KTicks_StoresThemAll()
    {
        const int Count = 100_000;
        await using var temp = await TempStore.CreateAsync();
        string[] symbols = ["AAPL", "MSFT", "BTC-USD", "ETH-USD", "SOL-USD"];
        var batch = Batch(
            ticks: Enumerable.Range(0, Count).Select(i => Tick(symbols[i % symbols.Length], T0 + i, 100 + (i % 1000), 0.5, tradeId: i.ToString(System.Globalization.CultureInfo.InvariantCulture), exchange: "coinbase")),
            counts: new(0, 0, 7));

        var stopwatch = Stopwatch.StartNew();
        await temp.Store.WriteAsync(batch, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"100K ticks written in {stopwatch.ElapsedMilliseconds} ms");

        var summaries = await temp.Store.QuerySymbolsAsync(Ct).ToListAsync(Ct);
        Assert.Equal(symbols.Order(StringComparer.Ordinal), summaries.Select(s => s.Symbol));
        Assert.Equal(T0 + Count - 1, summaries.Max(s => s.LastTs));
        Assert.Equal(Count, (await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct)).Count);
        Assert.Equal(new PipelineCounts(0, 0, 7), await temp.Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task DisposeAsync_ThenWrite_ThrowsObjectDisposed()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.DisposeAsync();
        await temp.Store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await temp.Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)]), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await temp.Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }
}

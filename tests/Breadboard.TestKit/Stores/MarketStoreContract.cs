using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Xunit;
using static Breadboard.TestKit.Stores.StoreRecords;

namespace Breadboard.TestKit.Stores;

/// <summary>
/// Every promise of <see cref="IMarketStore"/> as a test. Each store's test project derives a class from it that
/// opens that store; readers (API, export, restore) rely on exactly these, whichever store they have.
/// </summary>
/// <remarks>xunit makes a new instance per test, and every <see cref="OpenStoreAsync"/> gives a store over data of
/// its own (a new file, a new database), so tests never see each other's rows.</remarks>
public abstract class MarketStoreContract : IAsyncLifetime
{
    private const long Day = 86_400_000;

    /// <summary>A <c>PipelineDefinition.Digest()</c>: 16 hex digits.</summary>
    private const string Digest = "0123456789abcdef";

    private IMarketStore? _store;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The store under test: initialised, empty.</summary>
    protected IMarketStore Store => _store ?? throw new InvalidOperationException("InitializeAsync has not run");

    /// <summary>Opens and initialises a store over new, empty data of this test's own.</summary>
    protected abstract Task<IMarketStore> OpenStoreAsync(CancellationToken cancellationToken);

    /// <summary>Closes <paramref name="store"/> and opens its data again (not initialised), as a restarted process would.</summary>
    protected abstract Task<IMarketStore> ReopenAsync(IMarketStore store, CancellationToken cancellationToken);

    public virtual async ValueTask InitializeAsync() => _store = await OpenStoreAsync(Ct);

    public virtual async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Initialize_AgainAndAfterAReopen_KeepsEveryRow()
    {
        var batch = Batch(ticks: [Tick("AAPL", T0, 190)], bars: [Bar("AAPL", "1m", T0)], alerts: [Alert("price_drop", "AAPL", T0) with { Pipeline = Digest }], counts: new(1, 2, 3));
        batch.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 10, [1, 2], new(4, 5, 6)));
        await Store.WriteAsync(batch, Ct);
        await Store.WriteBatchRunAsync(new BatchRun("r1", "historical_fetch", T0, T0 + 5, "succeeded", 1, ""), Ct);
        var pipeline = new StoredPipeline(Digest, "version: 1\n", T0, "up");
        await Store.WritePipelineAsync(pipeline, Ct);

        await Store.InitializeAsync(Ct);
        _store = await ReopenAsync(Store, Ct);
        await Store.InitializeAsync(Ct);

        Assert.Equal(batch.Ticks, await Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(batch.Bars, await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(batch.Alerts, await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(new PipelineCounts(5, 7, 9), await Store.ReadCountsAsync(Ct));
        var checkpoint = await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);
        Assert.Equal((10L, new PipelineCounts(4, 5, 6)), (checkpoint!.Position, checkpoint.Counts));
        Assert.Equal([1, 2], checkpoint.State);
        Assert.Single(await Store.QueryBatchRunsAsync(10, Ct).ToListAsync(Ct));
        Assert.Equal(pipeline, await Store.LoadPipelineAsync(Ct));
    }

    [Fact]
    public async Task EmptyStore_ReadsNothingAndZeroCounts()
    {
        await Store.WriteAsync(new StoreBatch(), Ct);

        Assert.Empty(await Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Empty(await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Empty(await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
        Assert.Empty(await Store.QuerySymbolsAsync(Ct).ToListAsync(Ct));
        Assert.Empty(await Store.QueryBatchRunsAsync(10, Ct).ToListAsync(Ct));
        Assert.Equal(default, await Store.ReadCountsAsync(Ct));
        Assert.Null(await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct));
        Assert.Null(await Store.LoadPipelineAsync(Ct));
    }

    [Fact]
    public async Task Ticks_RoundTripExactMillisecondsTradeIdsExchangesAndAssetClasses()
    {
        Tick[] ticks =
        [
            new("BTC-USD", 1767364200123, 43125.5, 0.25, TradeId.FromText("9"), "coinbase", AssetClass.Crypto),
            new("AAPL", 1767364200124, 190.01, 100, TradeId.None, null, AssetClass.Stock),
            new("ETH-USD", 1767364200125, 2300.75, 1.5, TradeId.FromText("0xABC-01"), "kraken", AssetClass.Crypto),
            new("EARLY", EventTime.MinMs, 1, 0, TradeId.None, null, AssetClass.Stock),
            new("LATE", EventTime.MaxMs, 1e-9, double.Epsilon, TradeId.FromNumber(123456789012345678), null, AssetClass.Stock),
            new("O'REILLY\\X", 1767364200126, 76.0695184292994, 0.1 + 0.2, TradeId.FromText("é'\\\"x"), "ünï", AssetClass.Stock),
        ];
        await Store.WriteAsync(Batch(ticks: ticks), Ct);

        var read = await Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct);

        Assert.Equal([ticks[3], ticks[0], ticks[1], ticks[2], ticks[5], ticks[4]], read);
        Assert.Equal([ticks[5]], await Store.QueryTicksAsync(new TickQuery("O'REILLY\\X"), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task BarsAndAlerts_RoundTripEveryDoubleBitForBit_AndANullVwap()
    {
        // Values that text parsing can get one unit in the last place wrong, and edge cases of decimal parsing.
        double[] values = [76.0695184292994, 0.1 + 0.2, 5e-324, 2.2250738585072014E-308, double.MaxValue, 123456789.12345679, 1.0 / 3, -0.0];
        var batch = new StoreBatch();
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            var start = T0 + (i * 60_000L);
            batch.Bars.Add(new Bar("X", "1m", start, start + 60_000, v, v, v, v, v, i % 2 == 0 ? v : null, i));
            batch.Alerts.Add(new Alert(Core.Model.Alert.MakeId("price_drop", "X", "1m", start), "price_drop", "X", "1m", start, start + 60_000, v, -v, start + 60_000));
        }

        await Store.WriteAsync(batch, Ct);

        Assert.Equal(batch.Bars, await Store.QueryBarsAsync(new BarQuery("X"), Ct).ToListAsync(Ct));
        Assert.Equal(batch.Alerts, await Store.QueryAlertsAsync(new AlertQuery("X"), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Alerts_RoundTripTheirPipelineDigest_AndNullForOnesWithout()
    {
        Alert[] alerts =
        [
            Alert("price_drop", "AAPL", T0) with { Pipeline = Digest },
            Alert("price_drop", "MSFT", T0),
            Alert("price_spike", "AAPL", T0 + 60_000) with { Pipeline = "fedcba9876543210" },
        ];
        await Store.WriteAsync(Batch(alerts: alerts), Ct);

        Assert.Equal(alerts, await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));

        // A definition reloaded with new values re-fires under the same id: the later alert and its digest replace the first.
        var refired = alerts[1] with { Value = -9, Pipeline = "fedcba9876543210" };
        await Store.WriteAsync(Batch(alerts: [refired]), Ct);
        Assert.Equal([refired], await Store.QueryAlertsAsync(new AlertQuery("MSFT"), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Bars_SameKeyTwiceInOneBatch_KeepsTheLast()
    {
        var first = Bar("AAPL", "1m", T0, close: 101, trades: 1);
        var second = Bar("AAPL", "1m", T0, close: 102, trades: 2);
        var third = Bar("AAPL", "1m", T0, close: 103, vwap: null, trades: 3);
        var other = Bar("MSFT", "1m", T0, close: 400);

        await Store.WriteAsync(Batch(bars: [first, other, second, third]), Ct);

        Assert.Equal([third, other], await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Bars_LaterBatch_ReplacesTheBarOfTheSameSymbolWindowAndStart()
    {
        await Store.WriteAsync(Batch(bars: [Bar("AAPL", "1m", T0, close: 101), Bar("AAPL", "5m", T0, close: 101)]), Ct);
        var update = Bar("AAPL", "1m", T0, close: 99, vwap: null, trades: 5) with { WindowEnd = T0 + 59_999 };

        await Store.WriteAsync(Batch(bars: [update]), Ct);

        Assert.Equal([update, Bar("AAPL", "5m", T0, close: 101)], await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Alerts_SameIdWithinAndAcrossBatches_KeepsTheLast()
    {
        await Store.WriteAsync(Batch(alerts: [Alert("price_drop", "AAPL", T0, -6), Alert("price_drop", "MSFT", T0, -7), Alert("price_drop", "AAPL", T0, -8)]), Ct);
        Assert.Equal([-8, -7], (await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct)).Select(a => a.Value));

        var later = Alert("price_drop", "AAPL", T0, -9);
        await Store.WriteAsync(Batch(alerts: [later]), Ct);

        Assert.Equal([later], await Store.QueryAlertsAsync(new AlertQuery("AAPL"), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Write_SameBatchTwice_LeavesTheSameBarsAlertsCheckpointAndCounts()
    {
        // A retry or a replay after a crash: the outputs again, under a checkpoint carrying the same totals.
        var batch = Batch(
            ticks: [Tick("AAPL", T0, 190, tradeId: "1"), Tick("AAPL", T0 + 1, 191, tradeId: "2")],
            bars: [Bar("AAPL", "1m", T0, close: 101), Bar("AAPL", "1m", T0, close: 102), Bar("AAPL", "5m", T0)],
            alerts: [Alert("price_drop", "AAPL", T0, -6), Alert("price_drop", "AAPL", T0, -7)]);
        batch.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 2, [7], new(1, 0, 2)));

        await Store.WriteAsync(batch, Ct);
        var bars = await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct);
        var alerts = await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct);
        await Store.WriteAsync(batch, Ct);

        Assert.Equal([Bar("AAPL", "1m", T0, close: 102), Bar("AAPL", "5m", T0)], bars);
        Assert.Equal(bars, await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(-7, Assert.Single(alerts).Value);
        Assert.Equal(alerts, await Store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(2, (await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct))!.Position);
        Assert.Equal(new PipelineCounts(1, 0, 2), await Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task Counts_IncrementsOfBatches_AddUpWithAndWithoutCheckpointsOrOtherRows()
    {
        await Store.WriteAsync(Batch(counts: new(1, 2, 3)), Ct);
        await Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)], counts: new(10, 0, 5)), Ct);
        await Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0 + 1, 1)]), Ct);
        var withCheckpoint = Batch(counts: new(100, 100, 100));
        withCheckpoint.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 1, []));
        await Store.WriteAsync(withCheckpoint, Ct);

        Assert.Equal(new PipelineCounts(111, 102, 108), await Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task Counts_OfACheckpoint_AreTotalsThatTheNextCheckpointOfItsKeyReplaces()
    {
        static StoreBatch At(string key, long position, PipelineCounts totals, PipelineCounts increments = default)
        {
            var batch = new StoreBatch { Counts = increments };
            batch.Checkpoints.Add(new Checkpoint(key, position, [7], totals));
            return batch;
        }

        await Store.WriteAsync(At("kafka:stock-prices:0", 10, new(1, 2, 3), increments: new(5, 0, 0)), Ct);
        await Store.WriteAsync(At("kafka:stock-prices:1", 4, new(0, 1, 0)), Ct);
        await Store.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), Ct);
        await Store.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), Ct); // the same input stored again
        Assert.Equal(new PipelineCounts(6, 4, 5), await Store.ReadCountsAsync(Ct));

        await Store.WriteAsync(At("kafka:stock-prices:0", 30, new(2, 3, 9)), Ct);
        Assert.Equal(new PipelineCounts(7, 4, 9), await Store.ReadCountsAsync(Ct));
        Assert.Equal(new PipelineCounts(2, 3, 9), (await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct))!.Counts);
        Assert.Equal(new PipelineCounts(0, 1, 0), (await Store.LoadCheckpointAsync("kafka:stock-prices:1", Ct))!.Counts);
    }

    [Fact]
    public async Task Checkpoints_LoadTheLastWrittenUnderTheirKeyWithEveryStateByte()
    {
        byte[] state = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        var first = Batch(ticks: [Tick("AAPL", T0, 1)]);
        first.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 10, [1, 2, 3]));
        first.Checkpoints.Add(new Checkpoint("replay:'quoted\\key'", 3, []));
        await Store.WriteAsync(first, Ct);
        var second = new StoreBatch();
        second.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 25, state));
        await Store.WriteAsync(second, Ct);

        var loaded = await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);
        var quoted = await Store.LoadCheckpointAsync("replay:'quoted\\key'", Ct);

        Assert.Equal(("kafka:stock-prices:0", 25L), (loaded!.Key, loaded.Position));
        Assert.Equal(state, loaded.State);
        Assert.Equal(("replay:'quoted\\key'", 3L, 0), (quoted!.Key, quoted.Position, quoted.State.Length));
        Assert.Null(await Store.LoadCheckpointAsync("kafka:stock-prices:1", Ct));
        Assert.Null(await Store.LoadCheckpointAsync("kafka:stock-prices:", Ct));
    }

    [Fact]
    public async Task QueryBars_FiltersBySymbolWindowAndStartFromInclusiveToExclusive()
    {
        await Store.WriteAsync(Batch(bars:
        [
            Bar("AAPL", "1m", T0), Bar("AAPL", "1m", T0 + 60_000), Bar("AAPL", "1m", T0 + 120_000),
            Bar("AAPL", "5m", T0 + 60_000), Bar("MSFT", "1m", T0 + 60_000),
        ]), Ct);

        async Task<List<(string, string, long)>> Keys(BarQuery query) =>
            (await Store.QueryBarsAsync(query, Ct).ToListAsync(Ct)).Select(b => (b.Symbol, b.Window, b.WindowStart - T0)).ToList();

        Assert.Equal([("AAPL", "1m", 0), ("AAPL", "1m", 60_000), ("AAPL", "1m", 120_000)], await Keys(new BarQuery("AAPL", "1m")));
        Assert.Equal([("AAPL", "1m", 60_000), ("MSFT", "1m", 60_000), ("AAPL", "5m", 60_000)], await Keys(new BarQuery(From: T0 + 60_000, To: T0 + 120_000)));
        Assert.Equal([("AAPL", "5m", 60_000)], await Keys(new BarQuery(Window: "5m")));
        Assert.Equal([("AAPL", "1m", 120_000)], await Keys(new BarQuery("AAPL", "1m", From: T0 + 60_001)));
        Assert.Empty(await Keys(new BarQuery("AAPL' OR '1'='1")));
        Assert.Empty(await Keys(new BarQuery("aapl")));
    }

    [Fact]
    public async Task QueryBars_OrdersByStartThenWindowThenSymbol()
    {
        await Store.WriteAsync(Batch(bars:
        [
            Bar("MSFT", "5m", T0), Bar("AAPL", "5m", T0), Bar("MSFT", "1m", T0 + 60_000), Bar("AAPL", "1m", T0), Bar("MSFT", "1m", T0),
        ]), Ct);

        var keys = (await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct)).Select(b => (b.WindowStart - T0, b.Window, b.Symbol));

        Assert.Equal([(0L, "1m", "AAPL"), (0L, "1m", "MSFT"), (0L, "5m", "AAPL"), (0L, "5m", "MSFT"), (60_000L, "1m", "MSFT")], keys);
    }

    [Fact]
    public async Task QueryBars_WithLimit_KeepsTheLatestInAscendingOrder()
    {
        await Store.WriteAsync(Batch(bars: Enumerable.Range(0, 10).Select(i => Bar("AAPL", "1m", T0 + (i * 60_000L)))), Ct);

        async Task<List<long>> Starts(BarQuery query) => (await Store.QueryBarsAsync(query, Ct).ToListAsync(Ct)).Select(b => b.WindowStart - T0).ToList();

        Assert.Equal([420_000L, 480_000L, 540_000L], await Starts(new BarQuery(Limit: 3)));
        Assert.Equal([180_000L, 240_000L], await Starts(new BarQuery(To: T0 + 300_000, Limit: 2)));
        Assert.Empty(await Starts(new BarQuery(Limit: 0)));
        Assert.Equal(10, (await Starts(new BarQuery(Limit: 100))).Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.QueryBarsAsync(new BarQuery(Limit: -1), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task QueryAlerts_FiltersBySymbolRuleAndTs_OrdersByTsThenId_AndLimitsToTheLatest()
    {
        await Store.WriteAsync(Batch(alerts:
        [
            Alert("price_spike", "AAPL", T0 + 120_000), Alert("price_drop", "MSFT", T0), Alert("price_drop", "AAPL", T0),
            Alert("volume_surge", "AAPL", T0 + 60_000), Alert("price_drop", "AAPL", T0 + 180_000),
        ]), Ct);

        async Task<List<(long, string, string)>> Keys(AlertQuery query) =>
            (await Store.QueryAlertsAsync(query, Ct).ToListAsync(Ct)).Select(a => (a.Ts - T0, a.Rule, a.Symbol)).ToList();

        // Ties on ts go by id, which starts with the rule and then the symbol.
        Assert.Equal(
            [(0L, "price_drop", "AAPL"), (0L, "price_drop", "MSFT"), (60_000L, "volume_surge", "AAPL"), (120_000L, "price_spike", "AAPL"), (180_000L, "price_drop", "AAPL")],
            await Keys(new AlertQuery()));
        Assert.Equal([(0L, "price_drop", "MSFT")], await Keys(new AlertQuery(Symbol: "MSFT")));
        Assert.Equal([(0L, "price_drop", "AAPL"), (180_000L, "price_drop", "AAPL")], await Keys(new AlertQuery("AAPL", "price_drop")));
        Assert.Equal([(60_000L, "volume_surge", "AAPL"), (120_000L, "price_spike", "AAPL")], await Keys(new AlertQuery(Since: T0 + 60_000, To: T0 + 180_000)));
        Assert.Equal([(120_000L, "price_spike", "AAPL"), (180_000L, "price_drop", "AAPL")], await Keys(new AlertQuery(Limit: 2)));
        Assert.Equal([(0L, "price_drop", "MSFT"), (60_000L, "volume_surge", "AAPL")], await Keys(new AlertQuery(To: T0 + 120_000, Limit: 2)));
        Assert.Empty(await Keys(new AlertQuery(Limit: 0)));
        Assert.Empty(await Keys(new AlertQuery("AAPL", "price_drop' OR '1'='1")));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.QueryAlertsAsync(new AlertQuery(Limit: -1), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task QueryTicks_FiltersBySymbolAndTs_OrdersByTsThenAsWritten_AndLimitsToTheLatest()
    {
        await Store.WriteAsync(Batch(ticks:
        [
            Tick("AAPL", T0 + 2, 3), Tick("AAPL", T0, 1), Tick("MSFT", T0 + 1, 400), Tick("AAPL", T0 + 1, 2), Tick("AAPL", T0 + 1, 2.5),
        ]), Ct);
        await Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0 + 1, 2.75)]), Ct);

        async Task<List<double>> Prices(TickQuery query) =>
            (await Store.QueryTicksAsync(query, Ct).ToListAsync(Ct)).Select(t => t.Price).ToList();

        Assert.Equal([1, 400, 2, 2.5, 2.75, 3], await Prices(new TickQuery()));
        Assert.Equal([1, 2, 2.5, 2.75, 3], await Prices(new TickQuery("AAPL")));
        Assert.Equal([400, 2, 2.5, 2.75], await Prices(new TickQuery(From: T0 + 1, To: T0 + 2)));
        Assert.Equal([2.5, 2.75, 3], await Prices(new TickQuery("AAPL", Limit: 3)));
        Assert.Equal([1], await Prices(new TickQuery("AAPL", To: T0 + 1, Limit: 5)));
        Assert.Empty(await Prices(new TickQuery(Limit: 0)));
        Assert.Empty(await Prices(new TickQuery("AAPL' OR '1'='1")));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.QueryTicksAsync(new TickQuery(Limit: -1), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task QueryTicks_Before_KeepsEveryTickItsCheckpointCovers()
    {
        // As a consumer writes: each batch's ticks with their origins, and the checkpoint after them. A store that
        // writes a batch in one transaction holds nothing else, so these ticks are what every store must return.
        var batch = new StoreBatch();
        for (var i = 0; i < 4; i++)
        {
            batch.Ticks.Add(Tick("BTC-USD", T0 + i, 100 + i, tradeId: $"{i}"));
            batch.TickOrigins.Add(new TickOrigin(i % 2 == 0 ? "kafka:crypto-prices:0" : "kafka:crypto-prices:1", 10 + i));
        }

        batch.Checkpoints.Add(new Checkpoint("kafka:crypto-prices:0", 13, [1]));
        batch.Checkpoints.Add(new Checkpoint("kafka:crypto-prices:1", 14, [2]));
        await Store.WriteAsync(batch, Ct);
        await Store.WriteAsync(Batch(ticks: [Tick("BTC-USD", T0 + 9, 99, tradeId: "9")]), Ct); // input without positions

        var before = await Store.QueryTicksAsync(new TickQuery("BTC-USD", Before: new TickOrigin("kafka:crypto-prices:0", 13)), Ct).ToListAsync(Ct);
        var otherSource = await Store.QueryTicksAsync(new TickQuery(Before: new TickOrigin("kafka:stock-prices:0", 0)), Ct).ToListAsync(Ct);

        Assert.Equal([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 9], before.Select(t => t.Ts));
        Assert.Equal(5, otherSource.Count);
        Assert.Equal([T0 + 3, T0 + 9], (await Store.QueryTicksAsync(new TickQuery(Limit: 2, Before: new TickOrigin("kafka:crypto-prices:1", 14)), Ct).ToListAsync(Ct)).Select(t => t.Ts));
    }

    [Fact]
    public async Task QueryTradeIds_GivesEachSelectedTicksSymbolIdAndTime_InTheTicksOrder()
    {
        // What a restored processor reads back: the same selection as QueryTicksAsync (symbols, from, before), ids
        // of every shape, in the order the ticks come; a tick without a trade id may be left out.
        var batch = new StoreBatch();
        Tick[] ticks =
        [
            Tick("BTC-USD", T0 + 2, 1, tradeId: "7"), Tick("O'REILLY", T0 + 1, 2, tradeId: "é'\\\"x"), Tick("BTC-USD", T0 + 1, 3, tradeId: "0xABC-01"),
            Tick("ETH-USD", T0 + 1, 4, tradeId: "1"), Tick("BTC-USD", T0 + 3, 5), Tick("BTC-USD", T0, 6, tradeId: "123456789012345678"),
            Tick("BTC-USD", T0 + 4, 7, tradeId: "8"),
        ];
        for (var i = 0; i < ticks.Length; i++)
        {
            batch.Ticks.Add(ticks[i]);
            batch.TickOrigins.Add(new TickOrigin("kafka:crypto-prices:0", 10 + i));
        }

        batch.Checkpoints.Add(new Checkpoint("kafka:crypto-prices:0", 17, [1]));
        await Store.WriteAsync(batch, Ct);

        var query = new TickQuery(From: T0 + 1, Before: new TickOrigin("kafka:crypto-prices:0", 17)) { Symbols = ["BTC-USD", "O'REILLY"] };
        var ids = await Store.QueryTradeIdsAsync(query, Ct).Where(t => t.TradeId.HasValue).ToListAsync(Ct);
        var expected = await Store.QueryTicksAsync(query, Ct).Where(t => t.TradeId.HasValue).Select(t => new StoredTradeId(t.Symbol, t.TradeId, t.Ts)).ToListAsync(Ct);

        Assert.Equal(
        [
            new StoredTradeId("O'REILLY", TradeId.FromText("é'\\\"x"), T0 + 1), new StoredTradeId("BTC-USD", TradeId.FromText("0xABC-01"), T0 + 1),
            new StoredTradeId("BTC-USD", TradeId.FromNumber(7), T0 + 2), new StoredTradeId("BTC-USD", TradeId.FromNumber(8), T0 + 4),
        ], ids);
        Assert.Equal(expected, ids);
        Assert.Empty(await Store.QueryTradeIdsAsync(new TickQuery("AAPL' OR '1'='1"), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task QuerySymbols_GivesTheLastTickAndTheFirstPriceOfTheTrailing24HoursOfEventTime()
    {
        await Store.WriteAsync(Batch(ticks:
        [
            Tick("BTC-USD", T0 - Day - 1, 90),
            Tick("BTC-USD", T0 - Day, 100),
            Tick("BTC-USD", T0 - Day, 101),
            Tick("BTC-USD", T0 - 5, 108),
            Tick("AAPL", T0 + 10, 190),
        ]), Ct);
        await Store.WriteAsync(Batch(ticks: [Tick("BTC-USD", T0, 110), Tick("BTC-USD", T0, 111), Tick("BTC-USD", T0 - 1, 120)]), Ct);

        var symbols = await Store.QuerySymbolsAsync(Ct).ToListAsync(Ct);

        // Ties on time go to the tick written last (the last trade) and the one written first (the first trade).
        Assert.Equal(
            [
                new SymbolSummary("AAPL", AssetClass.Stock, T0 + 10, 190, 190),
                new SymbolSummary("BTC-USD", AssetClass.Crypto, T0, 111, 100),
            ],
            symbols);
        Assert.Equal(11, symbols[1].ChangePercent, precision: 9);
    }

    [Fact]
    public async Task BatchRuns_ReplacedByJobAndRunId_ReadNewestFirstUpToTheLimit()
    {
        await Store.WriteBatchRunAsync(new BatchRun("r1", "historical_fetch", T0, null, "running", 0, ""), Ct);
        await Store.WriteBatchRunAsync(new BatchRun("r2", "historical_fetch", T0 + 10, T0 + 20, "failed", 0, "provider down: 'x' \\ y", 4), Ct);
        await Store.WriteBatchRunAsync(new BatchRun("r1", "historical_fetch", T0, T0 + 5, "succeeded", 120, ""), Ct);
        await Store.WriteBatchRunAsync(new BatchRun("r1", "gap_backfill", T0 + 10, null, "retrying", 0, "", 2), Ct);

        Assert.Equal(
            [
                new BatchRun("r2", "historical_fetch", T0 + 10, T0 + 20, "failed", 0, "provider down: 'x' \\ y", 4),
                new BatchRun("r1", "gap_backfill", T0 + 10, null, "retrying", 0, "", 2),
                new BatchRun("r1", "historical_fetch", T0, T0 + 5, "succeeded", 120, ""),
            ],
            await Store.QueryBatchRunsAsync(10, Ct).ToListAsync(Ct));
        Assert.Equal(2, await Store.QueryBatchRunsAsync(2, Ct).CountAsync(Ct));
        Assert.Empty(await Store.QueryBatchRunsAsync(0, Ct).ToListAsync(Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.QueryBatchRunsAsync(-1, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task Pipelines_TheLatestLoadedAtIsTheRunningOne_WhicheverWasWrittenLast()
    {
        var later = new StoredPipeline(Digest, "version: 1\n", T0 + 1_000, "process host-b:7");
        var earlier = new StoredPipeline("fedcba9876543210", "version: 1\n", T0, "up");

        await Store.WritePipelineAsync(later, Ct);
        await Store.WritePipelineAsync(earlier, Ct);

        Assert.Equal(later, await Store.LoadPipelineAsync(Ct));

        var reload = new StoredPipeline("0000000000000001", "version: 1\n", T0 + 2_000, "process host-b:7");
        await Store.WritePipelineAsync(reload, Ct);
        Assert.Equal(reload, await Store.LoadPipelineAsync(Ct));
    }

    [Fact]
    public async Task Pipelines_WithTheSameLoadedAt_TheLastWrittenIsTheRunningOne()
    {
        var first = new StoredPipeline(Digest, "version: 1\n", T0, "process host-a:1");
        var second = new StoredPipeline("fedcba9876543210", "version: 1\n", T0, "process host-b:2");

        await Store.WritePipelineAsync(first, Ct);
        await Store.WritePipelineAsync(second, Ct);

        Assert.Equal(second, await Store.LoadPipelineAsync(Ct));
    }

    [Fact]
    public async Task Pipelines_KeepTheYamlByteForByte()
    {
        // Quotes, escapes, blank lines, CRLF, tabs, a trailing space, unicode in and beyond the BMP, no final newline.
        const string yaml = "version: 1\nwindows:\n  - name: \"1m\"\n    type: tumbling\n\nrules:\n  - name: 'it''s \\ \"drop\"' \r\n\t# Zürich 東京 📉\n  - x: \"\\u00e9\"";
        var pipeline = new StoredPipeline(Digest, yaml, T0, "process höst:42 'x' \\");

        await Store.WritePipelineAsync(pipeline, Ct);

        var loaded = await Store.LoadPipelineAsync(Ct);
        Assert.Equal(pipeline, loaded);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(yaml), System.Text.Encoding.UTF8.GetBytes(loaded!.Yaml));
    }

    [Fact]
    public async Task Write_CancelledBeforeItStarts_StoresNothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var batch = Batch(ticks: [Tick("AAPL", T0, 1)], bars: [Bar("AAPL", "1m", T0)], counts: new(1, 0, 0));
        batch.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 1, [9]));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Store.WriteAsync(batch, cancelled.Token));

        Assert.Empty(await Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Empty(await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        Assert.Null(await Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct));
        Assert.Equal(default, await Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task Write_BatchOf50KTicks_StoresThemAll()
    {
        const int Count = 50_000;
        string[] symbols = ["AAPL", "MSFT", "BTC-USD", "ETH-USD", "SOL-USD"];
        var batch = Batch(
            ticks: Enumerable.Range(0, Count).Select(i => Tick(symbols[i % symbols.Length], T0 + i, 100 + (i % 1000), 0.5, tradeId: $"{i}", exchange: "coinbase")),
            counts: new(0, 0, 7));

        await Store.WriteAsync(batch, Ct);

        var summaries = await Store.QuerySymbolsAsync(Ct).ToListAsync(Ct);
        Assert.Equal(symbols.Order(StringComparer.Ordinal), summaries.Select(s => s.Symbol));
        Assert.Equal(T0 + Count - 1, summaries.Max(s => s.LastTs));
        Assert.Equal(batch.Ticks, await Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct));
        Assert.Equal(new PipelineCounts(0, 0, 7), await Store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task Dispose_TwiceIsHarmless_AndThenWritesAndQueriesThrowObjectDisposed()
    {
        await Store.DisposeAsync();
        await Store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.WriteAsync(Batch(ticks: [Tick("AAPL", T0, 1)]), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.ReadCountsAsync(Ct));
    }
}

using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.TestKit.Logging;
using DuckDB.NET.Data;
using static Breadboard.TestKit.Stores.StoreRecords;

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
    public async Task InitializeAsync_AgainAndAfterAReopen_RecordsTheLatestSchemaVersionOnce()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.InitializeAsync(Ct);
        var reopened = await temp.ReopenAsync();
        await reopened.DisposeAsync();

        await using var connection = new DuckDBConnection($"DataSource={temp.FilePath}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT list(version) FROM schema_version";
        Assert.Equal([5], (List<int>)(await command.ExecuteScalarAsync(Ct))!); // one row: the latest migration
    }

    [Fact]
    public async Task Initialize_AFileOfSchemaVersion4WithAlerts_ReadsThemWithoutPipelineAndStoresNewOnesWithIt()
    {
        await using var temp = await TempStore.CreateAsync();
        var old = Alert("price_drop", "AAPL", T0);
        await temp.Store.WriteAsync(Batch(alerts: [old]), Ct);
        await temp.ExecuteOnFileAsync(TempStore.BackToVersion4);

        var log = new ListLogger();
        var store = await temp.ReopenAsync(log);
        var stamped = Alert("price_drop", "MSFT", T0) with { Pipeline = "0123456789abcdef" };
        await store.WriteAsync(Batch(alerts: [stamped]), Ct);

        Assert.Equal($"store: DuckDB {temp.FilePath} upgraded from schema version 4 to 5", Assert.Single(log.Lines));
        Assert.Equal([old, stamped], await store.QueryAlertsAsync(new AlertQuery(), Ct).ToListAsync(Ct));
        Assert.Null(await store.LoadPipelineAsync(Ct));
    }

    [Fact]
    public async Task QueryTicks_OfMoreThanOneSlice_ComeInEventTimeOrder_TiesAsWritten_WithEveryField()
    {
        await using var temp = await TempStore.CreateAsync();
        var random = new Random(7);
        var written = new List<Tick>();
        for (var batchNo = 0; batchNo < 6; batchNo++)
        {
            var batch = new StoreBatch();
            for (var i = 0; i < 100_000; i++)
            {
                // Out of order across batches, with many ticks of one millisecond; text and numeric ids; two exchanges.
                var n = written.Count;
                var id = n % 7 == 0 ? TradeId.FromText($"x-{n}") : n % 11 == 0 ? TradeId.None : TradeId.FromNumber(n);
                var tick = new Tick(n % 3 == 0 ? "BTC-USD" : "AAPL", 1_767_225_600_000 + random.Next(0, 200_000), 100 + (n % 50), 1 + (n % 3), id, n % 2 == 0 ? "x" : null, n % 3 == 0 ? AssetClass.Crypto : AssetClass.Stock);
                batch.Ticks.Add(tick);
                written.Add(tick);
            }

            await temp.Store.WriteAsync(batch, Ct);
        }

        var expected = written.Select((t, i) => (t, i)).OrderBy(x => x.t.Ts).ThenBy(x => x.i).Select(x => x.t).ToList();
        var read = new List<Tick>();
        await foreach (var t in temp.Store.QueryTicksAsync(new TickQuery(), Ct))
        {
            read.Add(t);
        }

        Assert.Equal(expected, read);
        var from = 1_767_225_600_000 + 50_000;
        var some = new List<Tick>();
        await foreach (var t in temp.Store.QueryTicksAsync(new TickQuery(From: from, To: from + 100_000) { Symbols = ["BTC-USD"] }, Ct))
        {
            some.Add(t);
        }

        Assert.Equal(expected.Where(t => t.Symbol == "BTC-USD" && t.Ts >= from && t.Ts < from + 100_000), some);
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

    /// <remarks>Bars and alerts stay the same (the store contract); ticks are appended as they come, without an
    /// index to check them against, where ClickHouse collapses identical ones.</remarks>
    [Fact]
    public async Task WriteAsync_SameBatchTwice_AppendsItsTicksAgain()
    {
        await using var temp = await TempStore.CreateAsync();
        var batch = Batch(ticks: [Tick("AAPL", T0, 190), Tick("AAPL", T0 + 1, 191)]);

        await temp.Store.WriteAsync(batch, Ct);
        await temp.Store.WriteAsync(batch, Ct);

        Assert.Equal(4, (await temp.Store.QueryTicksAsync(new TickQuery(), Ct).ToListAsync(Ct)).Count);
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

}

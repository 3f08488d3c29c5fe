using System.Text.RegularExpressions;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.ClickHouse.Tests;

/// <summary>The store seam on a real ClickHouse 18.16: what is written is what the API's queries read, once.</summary>
[Slow]
public sealed class ClickHouseStoreTests(ClickHouseServerFixture fixture) : IClassFixture<ClickHouseServerFixture>
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    private async Task<ClickHouseStore> OpenAsync(CancellationToken ct)
    {
        var store = ClickHouseStore.Open($"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/store_{Guid.NewGuid():N}");
        await store.InitializeAsync(ct);
        return store;
    }

    private static StoreBatch Batch()
    {
        var batch = new StoreBatch();
        batch.Ticks.Add(new Tick("BTC-USD", T0, 100, 1, TradeId.FromNumber(1), "coinbase", AssetClass.Crypto));
        batch.Ticks.Add(new Tick("BTC-USD", T0 + 10, 101.5, 0.5, TradeId.FromText("a-2"), "coinbase", AssetClass.Crypto));
        batch.Ticks.Add(new Tick("BTC-USD", T0 + 10, 99.25, 2, TradeId.FromNumber(3), null, AssetClass.Crypto));
        batch.Ticks.Add(new Tick("O'REILLY\\X", T0 + 5, 50, 10, TradeId.None, null, AssetClass.Stock));
        batch.Bars.Add(new Bar("BTC-USD", "1m", T0, T0 + 60_000, 100, 101.5, 99.25, 99.25, 3.5, 99.9, 3));
        batch.Bars.Add(new Bar("BTC-USD", "5m", T0, T0 + 300_000, 100, 101.5, 99.25, 99.25, 3.5, null, 3));
        batch.Alerts.Add(new Alert(Alert.MakeId("price_drop", "BTC-USD", "5m", T0), "price_drop", "BTC-USD", "5m", T0, T0 + 300_000, -5.5, -5, T0 + 300_000));
        batch.Checkpoints.Add(new Checkpoint("kafka:stock-prices:3", 42, [0, 1, 2, 255, 128]));
        batch.Counts = new PipelineCounts(2, 1, 3);
        return batch;
    }

    /// <remarks>Bars, alerts, checkpoints and counts are the store contract's; ticks are ClickHouse's own: without
    /// transactions a retried insert or re-read input writes them again, and the table collapses identical ones.</remarks>
    [Fact]
    public async Task Write_SameBatchTwice_CollapsesItsTicks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = await OpenAsync(ct);
        await store.WriteAsync(Batch(), ct);
        await store.WriteAsync(Batch(), ct);

        Assert.Equal(4, (await store.QueryTicksAsync(new TickQuery(), ct).ToListAsync(ct)).Count);
    }

    [Fact]
    public async Task Write_ACheckpointUnderTheStoresOwnCountsKeys_IsRefused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = await OpenAsync(ct);

        var reserved = new StoreBatch();
        reserved.Checkpoints.Add(new Checkpoint("counts:1", 0, []));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(reserved, ct).AsTask());
        Assert.Contains("'counts:1'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_FourWritersAtOnce_OverlappingBatches_EveryRowOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = $"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/writers_{Guid.NewGuid():N}";
        await using (var first = ClickHouseStore.Open(url))
        {
            await first.InitializeAsync(ct);
        }

        // Each writer has its own connection pool and versions; writer w writes symbols w and w+1, so every
        // symbol's rows arrive from two writers at once.
        var writers = Enumerable.Range(0, 4).Select(async w =>
        {
            await using var store = ClickHouseStore.Open(url);
            for (var round = 0; round < 5; round++)
            {
                var batch = new StoreBatch();
                foreach (var s in new[] { w, (w + 1) % 4 })
                {
                    for (var i = 0; i < 2_000; i++)
                    {
                        var ts = T0 + (round * 2_000) + i;
                        batch.Ticks.Add(new Tick($"SYM{s}", ts, 100 + i, 1, TradeId.FromNumber(ts), "x", AssetClass.Stock));
                    }

                    batch.Bars.Add(new Bar($"SYM{s}", "1m", T0 + (round * 60_000), T0 + ((round + 1) * 60_000), 100, 101, 99, 100, 2_000, 100, 2_000));
                }

                await store.WriteAsync(batch, ct);
            }
        });
        await Task.WhenAll(writers);

        await using var reader = ClickHouseStore.Open(url);
        var ticks = await reader.QueryTicksAsync(new TickQuery(), ct).ToListAsync(ct);
        Assert.Equal(4 * 5 * 2_000, ticks.Count);
        Assert.Equal(ticks.Count, ticks.Select(t => (t.Symbol, t.Ts)).Distinct().Count());
        Assert.Equal(4 * 5, (await reader.QueryBarsAsync(new BarQuery(), ct).ToListAsync(ct)).Count);
    }

    [Fact]
    public async Task QueryTicks_BeforeAPosition_LeavesOutThatInputsLaterTicksOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = await OpenAsync(ct);
        var batch = new StoreBatch();
        for (var i = 0; i < 4; i++)
        {
            batch.Ticks.Add(new Tick("BTC-USD", T0 + i, 100 + i, 1, TradeId.FromNumber(i), null, AssetClass.Crypto));
            batch.TickOrigins.Add(new TickOrigin(i % 2 == 0 ? "kafka:crypto-prices:0" : "kafka:crypto-prices:1", 10 + i));
        }

        await store.WriteAsync(batch, ct);
        var unplaced = new StoreBatch();
        unplaced.Ticks.Add(new Tick("BTC-USD", T0 + 9, 99, 1, TradeId.FromNumber(9), null, AssetClass.Crypto));
        await store.WriteAsync(unplaced, ct);

        // Partition 0 at offsets 10 and 12; before offset 12 keeps 10, every tick of partition 1, and the tick without an origin.
        var before = await store.QueryTicksAsync(new TickQuery("BTC-USD", Before: new TickOrigin("kafka:crypto-prices:0", 12)), ct).ToListAsync(ct);

        Assert.Equal([T0, T0 + 1, T0 + 3, T0 + 9], before.Select(t => t.Ts));
        Assert.Equal(5, await store.QueryTicksAsync(new TickQuery("BTC-USD"), ct).CountAsync(ct));
    }

    [Fact]
    public async Task Counts_OfACheckpoint_AreTotalsThatTheNextCheckpointOfItsKeyReplaces_EvenFromAWriterThatLostTheInput()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = $"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/totals_{Guid.NewGuid():N}";
        await using var owner = ClickHouseStore.Open(url);
        await using var zombie = ClickHouseStore.Open(url);
        await owner.InitializeAsync(ct);
        static StoreBatch At(string key, long position, PipelineCounts totals, PipelineCounts increments = default)
        {
            var batch = new StoreBatch { Counts = increments };
            batch.Checkpoints.Add(new Checkpoint(key, position, [7], totals));
            return batch;
        }

        await owner.WriteAsync(At("kafka:stock-prices:0", 10, new(1, 2, 3), increments: new(5, 0, 0)), ct);
        await owner.WriteAsync(At("kafka:stock-prices:1", 4, new(0, 1, 0)), ct);

        // A member kicked out of the group stores offsets 10–20 after the new owner resumed from 10; the owner then
        // reads them again and stores the same totals, and goes on.
        await zombie.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), ct);
        await owner.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), ct);
        Assert.Equal(new PipelineCounts(6, 4, 5), await owner.ReadCountsAsync(ct));

        await owner.WriteAsync(At("kafka:stock-prices:0", 30, new(2, 3, 9)), ct);
        Assert.Equal(new PipelineCounts(7, 4, 9), await owner.ReadCountsAsync(ct));
        Assert.Equal(new PipelineCounts(2, 3, 9), (await owner.LoadCheckpointAsync("kafka:stock-prices:0", ct))!.Counts);
    }

    [Fact]
    public async Task Counts_FromTwoWritersInTheSameMilliseconds_AreAllKept()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = $"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/counts_{Guid.NewGuid():N}";
        await using var a = ClickHouseStore.Open(url);
        await using var b = ClickHouseStore.Open(url);
        await a.InitializeAsync(ct);

        // Versions come from the clock: writers started together hit the same milliseconds, with and without checkpoints.
        async Task WriteAsync(ClickHouseStore store, string key)
        {
            for (var i = 0; i < 100; i++)
            {
                var batch = new StoreBatch { Counts = new PipelineCounts(0, 1, 0) };
                if (i % 2 == 0)
                {
                    batch.Checkpoints.Add(new Checkpoint(key, i, []));
                }

                await store.WriteAsync(batch, ct);
            }
        }

        await Task.WhenAll(WriteAsync(a, "kafka:stock-prices:0"), WriteAsync(b, "kafka:stock-prices:1"));

        Assert.Equal(new PipelineCounts(0, 200, 0), await a.ReadCountsAsync(ct));
    }

    [Fact]
    public void TryParseUrl_ReadsServerDatabaseUserClusterAndRetryBudget_AndRefusesCredentials()
    {
        Assert.True(ClickHouseUrl.TryParse("clickhouse://ch.internal:8443/market?user=writer&cluster=breadboard&secure=true&retry_for=10m", out var url, out var error), error);
        var expected = new ClickHouseUrl(new Uri("https://ch.internal:8443/"), "market", "writer", "breadboard", TimeSpan.FromMinutes(10));
        Assert.Equal(expected, url! with { Replicas = expected.Replicas });
        Assert.Equal([new Uri("https://ch.internal:8443/")], url.Replicas);
        Assert.True(ClickHouseUrl.TryParse("clickhouse://127.0.0.1:8123/db", out url, out error), error);
        Assert.Null(url!.RetryFor);

        // Replicas of one shard, tried in the order named.
        Assert.True(ClickHouseUrl.TryParse("clickhouse://ch-0:8123,ch-1:8124,10.0.0.3:8123/db?cluster=replicated", out url, out error), error);
        Assert.Equal([new Uri("http://ch-0:8123/"), new Uri("http://ch-1:8124/"), new Uri("http://10.0.0.3:8123/")], url!.Replicas);
        Assert.Equal(new Uri("http://ch-0:8123/"), url.BaseUrl);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch-0:8123,CH-0:8123/db", out _, out error));
        Assert.Contains("names a server twice", error, StringComparison.Ordinal);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch-0:8123,/db", out _, out error));
        Assert.Contains("'' is not host:port", error, StringComparison.Ordinal);

        Assert.False(ClickHouseUrl.TryParse("clickhouse://writer:secret@ch:8123/market", out _, out error));
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch:8123/", out _, out error));
        Assert.Contains("names no database", error, StringComparison.Ordinal);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch:8123/bad-name", out _, out error));
        Assert.Contains("database 'bad-name' is not a plain identifier", error, StringComparison.Ordinal);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch:8123/db?timeout=3", out _, out error));
        Assert.Contains("bad option 'timeout=3'", error, StringComparison.Ordinal);
        Assert.False(ClickHouseUrl.TryParse("clickhouse://ch:8123/db?retry_for=soon", out _, out error));
        Assert.Contains("bad option 'retry_for=soon'", error, StringComparison.Ordinal);
    }
}

using Breadboard.Batch.Backfill;
using Breadboard.Batch.Providers;
using Breadboard.Batch.Tests.Steps;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Batch.Tests.Backfill;

public sealed class GapBackfillTests
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<DuckDbStore> StoreAsync()
    {
        var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        return store;
    }

    [Fact]
    public async Task Fill_WritesTheBarsWhollyInsideTheHole_AndLeavesPartlySeenOnesToTheLiveEngine()
    {
        await using var store = await StoreAsync();
        var provider = new ListProvider(new Dictionary<string, List<Bar>> { ["BTC-USD"] = ListProvider.Minutes("BTC-USD", T0, 60, 43_000) });
        var backfill = new GapBackfill(provider, store, BarInterval.OneMinute, NullLogger.Instance);

        // Last trade 00:03:20, first after the reconnect 00:07:40: 00:04, 00:05 and 00:06 were never seen.
        var written = await backfill.FillAsync("BTC-USD", T0 + 200_000, T0 + 460_000, Ct);

        Assert.Equal(3, written);
        var bars = await store.QueryBarsAsync(new BarQuery("BTC-USD", "1m"), Ct).ToListAsync(Ct);
        Assert.Equal([T0 + 240_000, T0 + 300_000, T0 + 360_000], bars.Select(b => b.WindowStart));
    }

    [Fact]
    public async Task Fill_AHoleShorterThanABar_FetchesNothing()
    {
        await using var store = await StoreAsync();
        var provider = new ListProvider(new Dictionary<string, List<Bar>> { ["BTC-USD"] = ListProvider.Minutes("BTC-USD", T0, 60, 43_000) });
        var backfill = new GapBackfill(provider, store, BarInterval.OneMinute, NullLogger.Instance);

        Assert.Equal(0, await backfill.FillAsync("BTC-USD", T0 + 200_000, T0 + 290_000, Ct));
        Assert.Empty(provider.Calls);
    }

    [Fact]
    public async Task Fill_BadBarsFromTheProvider_AreNotWritten()
    {
        await using var store = await StoreAsync();
        var bars = ListProvider.Minutes("BTC-USD", T0, 60, 43_000);
        bars[5] = bars[5] with { Low = bars[5].High + 1 };
        var backfill = new GapBackfill(new ListProvider(new Dictionary<string, List<Bar>> { ["BTC-USD"] = bars }), store, BarInterval.OneMinute, NullLogger.Instance);

        Assert.Equal(0, await backfill.FillAsync("BTC-USD", T0, T0 + 600_000, Ct));
        Assert.Empty(await store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct));
    }
}

using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;

namespace Breadboard.DuckDb.Tests;

/// <summary>A store in its own file under a fresh temp directory, deleted afterwards.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private readonly string _directory;

    private TempStore(string directory, DuckDbStore store)
    {
        _directory = directory;
        Store = store;
    }

    public DuckDbStore Store { get; private set; }

    /// <summary>The database file; its parent directory does not exist until the store is opened.</summary>
    public string FilePath => Path.Combine(_directory, "nested", "store.duckdb");

    public static async Task<TempStore> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "breadboard-duckdb-tests", Guid.NewGuid().ToString("N"));
        var store = DuckDbStore.Open(Path.Combine(directory, "nested", "store.duckdb"));
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return new TempStore(directory, store);
    }

    /// <summary>Closes the store and opens the same file again, as a restart would.</summary>
    public async Task<DuckDbStore> ReopenAsync(ILogger? logger = null)
    {
        await Store.DisposeAsync();
        Store = DuckDbStore.Open(FilePath, logger);
        await Store.InitializeAsync(TestContext.Current.CancellationToken);
        return Store;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test for.
        }
    }
}

/// <summary>Short constructors for test data; times are offsets in ms from <see cref="T0"/>.</summary>
internal static class Make
{
    /// <summary>2026-01-02T14:30:00.000Z, a whole minute.</summary>
    public const long T0 = 1767364200000;

    public static Tick Tick(string symbol, long ts, double price, double volume = 1, string? tradeId = null, string? exchange = "test") =>
        new(symbol, ts, price, volume, tradeId is null ? TradeId.None : TradeId.FromText(tradeId), exchange, AssetClasses.Infer(symbol));

    public static Bar Bar(string symbol, string window, long start, double close = 100, double? vwap = 100, long trades = 1) =>
        new(symbol, window, start, start + 60_000, 100, Math.Max(100, close), Math.Min(100, close), close, 1, vwap, trades);

    public static Alert Alert(string rule, string symbol, long ts, double value = -6) =>
        new(Core.Model.Alert.MakeId(rule, symbol, "5m", ts - 300_000), rule, symbol, "5m", ts - 300_000, ts, value, -5, ts);

    public static StoreBatch Batch(IEnumerable<Tick>? ticks = null, IEnumerable<Bar>? bars = null, IEnumerable<Alert>? alerts = null, PipelineCounts counts = default)
    {
        var batch = new StoreBatch { Counts = counts };
        batch.Ticks.AddRange(ticks ?? []);
        batch.Bars.AddRange(bars ?? []);
        batch.Alerts.AddRange(alerts ?? []);
        return batch;
    }
}

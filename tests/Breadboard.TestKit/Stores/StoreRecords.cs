using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.TestKit.Stores;

/// <summary>Ticks, bars, alerts and batches for store tests, with defaults that make each one valid.</summary>
public static class StoreRecords
{
    /// <summary>2026-01-02T14:30:00.000Z, a whole minute.</summary>
    public const long T0 = 1_767_364_200_000;

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

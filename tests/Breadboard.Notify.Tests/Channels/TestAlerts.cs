using Breadboard.Core.Model;

namespace Breadboard.Notify.Tests.Channels;

internal static class TestAlerts
{
    /// <summary>2026-01-02T14:30:00.000Z.</summary>
    public const long End = 1767364200000;

    public const long Start = End - 300_000;

    public static Alert Drop(string symbol = "BTC-USD", double value = -5.23) =>
        new(Alert.MakeId("price_drop", symbol, "5m", Start), "price_drop", symbol, "5m", Start, End, value, -5, End);

    public static Alert Surge(string symbol = "ETH-USD", double multiple = 6.31) =>
        new(Alert.MakeId("volume_surge", symbol, "1m", End - 60_000), "volume_surge", symbol, "1m", End - 60_000, End, multiple, 5, End);

    public static Notification One(string channel, Alert alert) => new(channel, [alert]);

    public static Notification Drops(string channel, int count, bool reminder = false) =>
        new(channel, [.. Enumerable.Range(0, count).Select(i => Drop($"SYM{i}-USD", -5 - (i * 0.1)))], reminder);
}

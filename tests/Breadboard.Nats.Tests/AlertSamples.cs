using Breadboard.Core.Model;

namespace Breadboard.Nats.Tests;

/// <summary>Alerts as the engine fires them: ids from <see cref="Alert.MakeId"/>, one-minute windows.</summary>
internal static class AlertSamples
{
    private static readonly string[] Rules = ["price_drop", "price_spike", "volume_surge"];

    public static Alert Make(int i, string? rule = null, string symbol = "BTC-USD")
    {
        rule ??= Rules[i % Rules.Length];
        var start = 1_767_225_600_000L + (i * 60_000L);
        return new Alert(Alert.MakeId(rule, symbol, "1m", start), rule, symbol, "1m", start, start + 60_000, -5.5 - i, -5, start + 60_000);
    }

    public static List<Alert> Many(int count, string symbol = "BTC-USD") => [.. Enumerable.Range(0, count).Select(i => Make(i, symbol: symbol))];
}

using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

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

    /// <summary>The indicators of issue 20's example that <see cref="ExpressionRules"/> name.</summary>
    public static IReadOnlyList<IndicatorDefinition> Indicators { get; } =
    [
        IndicatorDefinition.Sma("sma_fast", "1m", "close", 5),
        IndicatorDefinition.Sma("sma_slow", "1m", "close", 20),
        IndicatorDefinition.Rsi("rsi14", "1m", "close", 14),
    ];

    /// <summary>golden_cross (<c>crosses_above(sma_fast, sma_slow)</c>) and rsi_hot (<c>rsi14 &gt; 70</c> for 3 bars), beside the default rules.</summary>
    public static IReadOnlyList<RuleDefinition> ExpressionRules { get; } =
    [
        .. PipelineDefinition.Default.Rules,
        ExpressionRule.Define("golden_cross", "1m", "crosses_above(sma_fast, sma_slow)", 1, Indicators),
        ExpressionRule.Define("rsi_hot", "1m", "rsi14 > 70", 3, Indicators),
    ];

    public static Alert Cross(string symbol = "BTC-USD", double fast = 101.25, double slow = 100.9) =>
        new(Alert.MakeId("golden_cross", symbol, "1m", End - 60_000), "golden_cross", symbol, "1m", End - 60_000, End, fast, slow, End);

    public static Alert Hot(string symbol = "BTC-USD", double rsi = 74.23) =>
        new(Alert.MakeId("rsi_hot", symbol, "1m", End - 60_000), "rsi_hot", symbol, "1m", End - 60_000, End, rsi, 70, End);

    /// <summary>One alert worded with <see cref="ExpressionRules"/>.</summary>
    public static Notification Expression(string channel, params Alert[] alerts) => new(channel, alerts) { Rules = ExpressionRules };

    public static Notification Drops(string channel, int count, bool reminder = false) =>
        new(channel, [.. Enumerable.Range(0, count).Select(i => Drop($"SYM{i}-USD", -5 - (i * 0.1)))], reminder);
}

using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Tests.Engine;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>
/// One test per feature of the <c>when</c> language (docs/RULES.md, "The when language"), each on a few hand-made
/// one-minute bars run through the engine from a pipeline file.
/// </summary>
public class ExpressionRuleTests
{
    private const string Symbol = "BTC-USD";

    /// <summary>A pipeline with one 1m window, every aggregate, the given indicators and one rule.</summary>
    private static PipelineDefinition Pipeline(string rule, string indicators = "") => PipelineLoader.Parse(
        $"""
        windows:
          - {"{"} name: "1m", type: tumbling, size: 60s {"}"}
        aggregates: [open, high, low, close, volume, vwap, trades]
        indicators: [{indicators}]
        rules:
          - {rule}
        """,
        "pipeline.yaml");

    /// <summary>
    /// Runs bars through the engine: bar k is the minute T0 + k, traded as open, high, low, close (in that order, a
    /// second apart); the whole volume is on the opening trade, so a bar's vwap is its open (undefined at volume 0).
    /// </summary>
    private static IReadOnlyList<Alert> Alerts(PipelineDefinition definition, params (double Open, double High, double Low, double Close, double Volume)[] bars)
    {
        var (engine, output) = NewEngine(definition);
        for (var k = 0; k < bars.Length; k++)
        {
            var (open, high, low, close, volume) = bars[k];
            var start = T0 + (k * Minute);
            engine.Feed(
                Tick(Symbol, start + 1_000, open, volume),
                Tick(Symbol, start + 2_000, high, 0),
                Tick(Symbol, start + 3_000, low, 0),
                Tick(Symbol, start + 4_000, close, 0));
        }

        engine.CloseAll();
        Assert.Equal(bars.Length, output.Bars.Count);
        return output.Alerts;
    }

    /// <summary>Bars that only close: open = high = low = close, volume 1.</summary>
    private static (double, double, double, double, double)[] Closes(params double[] closes) =>
        [.. closes.Select(c => (c, c, c, c, 1.0))];

    /// <summary>The 1-based numbers of the bars the alerts fired on.</summary>
    private static int[] FiredOn(IReadOnlyList<Alert> alerts) =>
        [.. alerts.Select(a => (int)((a.WindowStart - T0) / Minute) + 1)];

    [Fact]
    public void CrossesAbove_FiresOnTheBarThatCrossesAndNotOnTheFirstBar()
    {
        // Bar 1 is above 12 but has no bar before it; bar 3 crosses (11 <= 12, then 13 > 12); bar 5 crosses again
        // from exactly 12 (a <= b on the bar before).
        var alerts = Alerts(Pipeline("""{ name: up, window: "1m", when: "crosses_above(close, 12)" }"""), Closes(13, 11, 13, 12, 14, 15));

        Assert.Equal([3, 5], FiredOn(alerts));
        Assert.Equal((13.0, 12.0), (alerts[0].Value, alerts[0].Threshold));
        Assert.Equal((14.0, 12.0), (alerts[1].Value, alerts[1].Threshold));
    }

    [Fact]
    public void CrossesBelow_FiresOnTheBarThatCrossesDown()
    {
        var alerts = Alerts(Pipeline("""{ name: down, window: "1m", when: "crosses_below(close, open)" }"""), [(10, 11, 9, 11, 1), (11, 12, 10, 10, 1), (10, 11, 9, 9, 1)]);

        var alert = Assert.Single(alerts);
        Assert.Equal(2, FiredOn(alerts)[0]);
        Assert.Equal((10.0, 11.0), (alert.Value, alert.Threshold));
    }

    [Fact]
    public void For3_FiresOnTheThirdBarOfARunOnceAndRearmsAfterAFalseBar()
    {
        // close > 10 holds on bars 1-4 (fires on 3 only), fails on 5, holds on 6-9 (fires on 8 only).
        var alerts = Alerts(Pipeline("""{ name: hot, window: "1m", when: "close > 10", for: 3 }"""), Closes(11, 12, 13, 14, 9, 11, 12, 13, 14));

        Assert.Equal([3, 8], FiredOn(alerts));
        Assert.Equal((13.0, 10.0), (alerts[0].Value, alerts[0].Threshold));
    }

    [Fact]
    public void For1_FiresOncePerUnbrokenRun()
    {
        var alerts = Alerts(Pipeline("""{ name: hot, window: "1m", when: "close > 10" }"""), Closes(11, 12, 9, 13));

        Assert.Equal([1, 4], FiredOn(alerts));
    }

    [Fact]
    public void FiringAlert_HasTheIdOfItsBarAndItsWindowEndAsTs()
    {
        var alert = Assert.Single(Alerts(Pipeline("""{ name: hot, window: "1m", when: "close > 10" }"""), Closes(9, 11)));

        Assert.Equal($"hot:{Symbol}:1m:{T0 + Minute}", alert.Id);
        Assert.Equal((T0 + Minute, T0 + (2 * Minute)), (alert.WindowStart, alert.WindowEnd));
        Assert.Equal(T0 + (2 * Minute), alert.Ts);
    }

    [Fact]
    public void Prev_IsUndefinedUntilNBarsExist()
    {
        // prev(close, 2) is undefined on bars 1 and 2, so "close > prev(close, 2)" cannot hold there even though
        // every close is higher than the one before.
        var alerts = Alerts(Pipeline("""{ name: higher, window: "1m", when: "close > prev(close, 2)" }"""), Closes(10, 11, 12));

        var alert = Assert.Single(alerts);
        Assert.Equal(3, FiredOn(alerts)[0]);
        Assert.Equal((12.0, 10.0), (alert.Value, alert.Threshold));
    }

    [Fact]
    public void ChangePct_IsThePercentChangeOverNBarsAndUndefinedBefore()
    {
        // change_pct(close, 2) on bar 3 = (11 - 10) / 10 * 100 = 10. On bar 2 it would need bar 0, which does not
        // exist: undefined, so the jump from 10 to 22 does not fire.
        var alerts = Alerts(Pipeline("""{ name: rise, window: "1m", when: "change_pct(close, 2) >= 10" }"""), Closes(10, 22, 11));

        var alert = Assert.Single(alerts);
        Assert.Equal(3, FiredOn(alerts)[0]);
        Assert.Equal(10, alert.Value, precision: 12);
        Assert.Equal(10.0, alert.Threshold);
    }

    [Fact]
    public void UndefinedIndicator_MakesEveryComparisonFalseButNotOfItTrue()
    {
        // sma3 is undefined on bars 1 and 2: "sma3 < 1000" and "sma3 != 5" are both false there, and
        // "not (sma3 > 1000)" is true there (it negates a false comparison).
        const string Sma3 = "{ name: sma3, window: \"1m\", type: sma, of: close, period: 3 }";

        Assert.Equal([3], FiredOn(Alerts(Pipeline("""{ name: r, window: "1m", when: "sma3 < 1000" }""", Sma3), Closes(10, 11, 12, 13))));
        Assert.Equal([3], FiredOn(Alerts(Pipeline("""{ name: r, window: "1m", when: "sma3 != 5" }""", Sma3), Closes(10, 11, 12, 13))));
        Assert.Equal([1], FiredOn(Alerts(Pipeline("""{ name: r, window: "1m", when: "not (sma3 > 1000)" }""", Sma3), Closes(10, 11, 12, 13))));
    }

    [Fact]
    public void VwapOfABarWithoutVolume_IsUndefined()
    {
        // Bar 2 has no volume: "vwap > 0" is false on it, which breaks the run and re-arms the rule for bar 3.
        var alerts = Alerts(Pipeline("""{ name: traded, window: "1m", when: "vwap > 0" }"""), [(10, 10, 10, 10, 1), (10, 10, 10, 10, 0), (10, 10, 10, 10, 1)]);

        Assert.Equal([1, 3], FiredOn(alerts));
    }

    [Fact]
    public void DivisionByZero_IsUndefinedSoTheComparisonIsFalse()
    {
        // (close - open) / (high - low): bar 1 has high = low, so the ratio is undefined and neither "> -1" nor
        // "<= -1" holds; bar 2's ratio is 1 / 2.
        var bars = new[] { (10.0, 10.0, 10.0, 10.0, 1.0), (10.0, 12.0, 10.0, 11.0, 1.0) };

        var alerts = Alerts(Pipeline("""{ name: body, window: "1m", when: "(close - open) / (high - low) > -1" }"""), bars);
        Assert.Equal([2], FiredOn(alerts));
        Assert.Equal(0.5, alerts[0].Value);
        Assert.Empty(Alerts(Pipeline("""{ name: body, window: "1m", when: "(close - open) / (high - low) <= -1" }"""), bars));
    }

    [Fact]
    public void AndOr_EvaluateBothSidesAndTheAlertTakesTheFirstComparison()
    {
        // "or" does not short-circuit: prev(close, 1) still records every bar although "close > 100" is true on
        // bar 1. The alert's value and threshold are the first comparison's (close, 100), even on bar 3 where only
        // the second side holds.
        var alerts = Alerts(Pipeline("""{ name: r, window: "1m", when: "close > 100 or close > prev(close, 1) and volume >= 1" }"""), Closes(101, 50, 60));

        Assert.Equal([1, 3], FiredOn(alerts));
        Assert.Equal((60.0, 100.0), (alerts[1].Value, alerts[1].Threshold));
    }

    [Fact]
    public void Precedence_ArithmeticBindsTighterThanComparisonAndNotTighterThanAnd()
    {
        // "not close > 10 + 1 and close > 5" reads "(not (close > (10 + 1))) and (close > 5)".
        var alerts = Alerts(Pipeline("""{ name: r, window: "1m", when: "not close > 10 + 1 and close > 5" }"""), Closes(12, 11, 4, 12));

        Assert.Equal([2], FiredOn(alerts));
        Assert.Equal((11.0, 11.0), (alerts[0].Value, alerts[0].Threshold));
    }

    [Fact]
    public void CrossingOfIndicators_FiresWhereTheFastSmaCrossesTheSlow()
    {
        const string Smas = """{ name: fast, window: "1m", type: sma, of: close, period: 2 }, { name: slow, window: "1m", type: sma, of: close, period: 3 }""";

        // fast: -, 10, 9.5, 9, 10.5, 12; slow: -, -, 9.67, 9.33, 10, 11: fast <= slow on bars 3 and 4, above on 5.
        var alerts = Alerts(Pipeline("""{ name: golden_cross, window: "1m", when: "crosses_above(fast, slow)" }""", Smas), Closes(10, 10, 9, 9, 12, 12));

        Assert.Equal([5], FiredOn(alerts));
        Assert.Equal((10.5, 10.0), (alerts[0].Value, alerts[0].Threshold));
    }
}

using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class RuleTests
{
    private static readonly PipelineDefinition PriceRules = Definition(
        5_000,
        [WindowDefinition.Tumbling("5m", 5 * Minute)],
        [
            RuleDefinition.PriceChange("price_drop", "5m", ComparisonOp.LessOrEqual, -5),
            RuleDefinition.PriceChange("price_spike", "5m", ComparisonOp.GreaterOrEqual, 5),
        ]);

    private static readonly PipelineDefinition VolumeRule = Definition(
        5_000,
        [WindowDefinition.Tumbling("1m", Minute)],
        [RuleDefinition.VolumeSurge("volume_surge", "1m", 5, 20)]);

    private static IReadOnlyList<Alert> PriceAlerts(double open, double close)
    {
        var (engine, output) = NewEngine(PriceRules);
        engine.Feed(Tick("BTC-USD", T0 + 1_000, open), Tick("BTC-USD", T0 + 2_000, close));
        engine.CloseAll();
        return output.Alerts;
    }

    [Fact]
    public void CloseAll_WithDropOfExactlyFivePercent_FiresPriceDrop()
    {
        var alert = Assert.Single(PriceAlerts(100, 95));

        Assert.Equal("price_drop", alert.Rule);
        Assert.Equal(-5, alert.Value);
        Assert.Equal(-5, alert.Threshold);
    }

    [Fact]
    public void CloseAll_WithDropOf4Point99Percent_DoesNotFire() => Assert.Empty(PriceAlerts(100, 95.01));

    [Fact]
    public void CloseAll_WithSpikeOfExactlyFivePercent_FiresPriceSpike()
    {
        var alert = Assert.Single(PriceAlerts(100, 105));

        Assert.Equal("price_spike", alert.Rule);
        Assert.Equal(5, alert.Value);
        Assert.Equal(5, alert.Threshold);
    }

    [Fact]
    public void CloseAll_WithSpikeOf4Point99Percent_DoesNotFire() => Assert.Empty(PriceAlerts(100, 104.99));

    [Fact]
    public void CloseAll_WithPriceChange_ComputesValueAsCloseMinusOpenOverOpenTimesHundred()
    {
        var alert = Assert.Single(PriceAlerts(3, 2.5));

        Assert.Equal((2.5 - 3) / 3 * 100, alert.Value);
    }

    [Fact]
    public void CloseAll_WithPriceChange_UsesOpenAndCloseNotHighAndLow()
    {
        var (engine, output) = NewEngine(PriceRules);
        engine.Feed(Tick("BTC-USD", T0 + 1_000, 100), Tick("BTC-USD", T0 + 2_000, 50), Tick("BTC-USD", T0 + 3_000, 200), Tick("BTC-USD", T0 + 4_000, 101));
        engine.CloseAll();

        Assert.Empty(output.Alerts);
    }

    [Fact]
    public void CloseAll_WithFiringRule_BuildsIdFromRuleSymbolWindowAndStartAndStampsWindowEnd()
    {
        var alert = Assert.Single(PriceAlerts(100, 90));

        Assert.Equal("price_drop:BTC-USD:5m:1767364200000", alert.Id);
        Assert.Equal(("price_drop", "BTC-USD", "5m"), (alert.Rule, alert.Symbol, alert.Window));
        Assert.Equal((T0, T0 + (5 * Minute), T0 + (5 * Minute)), (alert.WindowStart, alert.WindowEnd, alert.Ts));
    }

    [Fact]
    public void CloseAll_WithDefaultPipeline_FiresOnEveryHoppingWindowHoldingTheDrop()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("BTC-USD", T0 + 1_000, 100), Tick("BTC-USD", T0 + 2_000, 95));
        engine.CloseAll();

        Assert.Equal(
            [
                "price_drop:BTC-USD:5m:1767363960000",
                "price_drop:BTC-USD:5m:1767364020000",
                "price_drop:BTC-USD:5m:1767364080000",
                "price_drop:BTC-USD:5m:1767364140000",
                "price_drop:BTC-USD:5m:1767364200000",
            ],
            output.Alerts.Select(a => a.Id));
        Assert.All(output.Alerts, a => Assert.Equal(a.WindowEnd, a.Ts));
    }

    private static IReadOnlyList<Alert> VolumeAlerts(params (long Minute, double Volume)[] bars)
    {
        var (engine, output) = NewEngine(VolumeRule);
        foreach (var (minute, volume) in bars)
        {
            engine.Feed(Tick("AAPL", T0 + (minute * Minute) + 1_000, 10, volume));
        }

        engine.CloseAll();
        return output.Alerts;
    }

    private static (long, double)[] Minutes(int count, double volume, int every = 1) =>
        [.. Enumerable.Range(0, count).Select(i => ((long)i * every, volume))];

    [Fact]
    public void CloseAll_WithVolumeFiveTimesTheMeanOfTwentyBars_FiresVolumeSurge()
    {
        var alert = Assert.Single(VolumeAlerts([.. Minutes(20, 2), (20, 10)]));

        Assert.Equal("volume_surge", alert.Rule);
        Assert.Equal(5, alert.Value);
        Assert.Equal(5, alert.Threshold);
        Assert.Equal("volume_surge:AAPL:1m:" + (T0 + (20 * Minute)).ToString(System.Globalization.CultureInfo.InvariantCulture), alert.Id);
    }

    [Fact]
    public void CloseAll_WithVolumeJustUnderFiveTimesTheMean_DoesNotFire() =>
        Assert.Empty(VolumeAlerts([.. Minutes(20, 2), (20, 9.99)]));

    [Fact]
    public void CloseAll_WithOnlyNineteenPreviousBars_DoesNotFire() =>
        Assert.Empty(VolumeAlerts([.. Minutes(19, 2), (19, 1_000)]));

    [Fact]
    public void CloseAll_WithMinutesWithoutTrades_SkipsThemInTheHistory()
    {
        // 20 bars spread over 40 minutes: the empty minutes are not zero-volume bars.
        var alert = Assert.Single(VolumeAlerts([.. Minutes(20, 2, every: 2), (40, 10)]));

        Assert.Equal(5, alert.Value);
    }

    [Fact]
    public void CloseAll_WithMoreThanTwentyPreviousBars_AveragesOnlyTheLastTwenty()
    {
        // 10 old bars of volume 100, then 20 of volume 2: only the 20 count.
        Assert.Single(VolumeAlerts([.. Minutes(10, 100), .. Minutes(20, 2).Select(b => (b.Item1 + 10, b.Item2)), (30, 10)]));
    }

    [Fact]
    public void CloseAll_AfterASurge_AddsTheSurgingBarToTheHistory()
    {
        // After 20 × 2 and one 10, the last 20 average (19 × 2 + 10) / 20 = 2.4: 12 is 5×, 11.99 is not.
        var alerts = VolumeAlerts([.. Minutes(20, 2), (20, 10), (21, 12)]);
        Assert.Equal(2, alerts.Count);
        Assert.Equal(12 / 2.4, alerts[1].Value);

        Assert.Single(VolumeAlerts([.. Minutes(20, 2), (20, 10), (21, 11.99)]));
    }

    [Fact]
    public void CloseAll_WithZeroMeanVolume_DoesNotFire() =>
        Assert.Empty(VolumeAlerts([.. Minutes(20, 0), (20, 1)]));

    [Fact]
    public void CloseAll_WithVolumeSurge_KeepsHistoryPerSymbol()
    {
        var (engine, output) = NewEngine(VolumeRule);
        for (var m = 0; m < 20; m++)
        {
            engine.Feed(Tick("AAPL", T0 + (m * Minute) + 1_000, 10, 2));
        }

        engine.Feed(Tick("MSFT", T0 + (20 * Minute) + 1_000, 10, 1_000), Tick("AAPL", T0 + (20 * Minute) + 2_000, 10, 10));
        engine.CloseAll();

        Assert.Equal("AAPL", Assert.Single(output.Alerts).Symbol);
    }
}

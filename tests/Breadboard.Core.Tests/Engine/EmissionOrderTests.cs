using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class EmissionOrderTests
{
    // Rules in non-alphabetical order, both firing on every single-price bar (change 0).
    private static readonly PipelineDefinition TwoWindows = Definition(
        0,
        [WindowDefinition.Tumbling("1m", Minute), WindowDefinition.Hopping("2m", 2 * Minute, Minute)],
        [
            RuleDefinition.PriceChange("zeta", "2m", ComparisonOp.GreaterOrEqual, 0),
            RuleDefinition.PriceChange("alpha", "2m", ComparisonOp.LessOrEqual, 0),
        ]);

    private static string Describe(object e) => e switch
    {
        Bar b => $"bar {b.Window} {b.Symbol} {(b.WindowStart - T0) / 1_000}..{(b.WindowEnd - T0) / 1_000}",
        Alert a => $"alert {a.Rule} {a.Symbol} {(a.WindowStart - T0) / 1_000}",
        LateTick l => $"late {l.Tick.Symbol} {(l.Tick.Ts - T0) / 1_000}",
        _ => throw new ArgumentException("unexpected event", nameof(e)),
    };

    [Fact]
    public void Process_WithWindowsClosingTogether_EmitsByEndThenDefinitionThenStartThenSymbol()
    {
        var (engine, output) = NewEngine(TwoWindows);

        // ZZZ arrives first, but AAA sorts first.
        engine.Feed(Tick("ZZZ", T0 + 10_000, 1), Tick("AAA", T0 + 20_000, 1), Tick("ZZZ", T0 + 200_000, 1));

        Assert.Equal(
            [
                "bar 1m AAA 0..60",
                "bar 1m ZZZ 0..60",
                "bar 2m AAA -60..60",
                "alert zeta AAA -60",
                "alert alpha AAA -60",
                "bar 2m ZZZ -60..60",
                "alert zeta ZZZ -60",
                "alert alpha ZZZ -60",
                "bar 2m AAA 0..120",
                "alert zeta AAA 0",
                "alert alpha AAA 0",
                "bar 2m ZZZ 0..120",
                "alert zeta ZZZ 0",
                "alert alpha ZZZ 0",
            ],
            output.Events.Select(Describe));
    }

    [Fact]
    public void CloseAll_WithOpenWindows_FlushesThemInTheSameOrder()
    {
        var (engine, output) = NewEngine(TwoWindows);
        engine.Feed(Tick("ZZZ", T0 + 200_000, 1), Tick("AAA", T0 + 190_000, 1));
        Assert.Empty(output.Events);

        engine.CloseAll();

        Assert.Equal(
            [
                "bar 1m AAA 180..240",
                "bar 1m ZZZ 180..240",
                "bar 2m AAA 120..240",
                "alert zeta AAA 120",
                "alert alpha AAA 120",
                "bar 2m ZZZ 120..240",
                "alert zeta ZZZ 120",
                "alert alpha ZZZ 120",
                "bar 2m AAA 180..300",
                "alert zeta AAA 180",
                "alert alpha AAA 180",
                "bar 2m ZZZ 180..300",
                "alert zeta ZZZ 180",
                "alert alpha ZZZ 180",
            ],
            output.Events.Select(Describe));
    }

    [Fact]
    public void CloseAll_WithSessionsEndingTogether_OrdersThemByStartBeforeSymbol()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));
        engine.Feed(Tick("ZZZ", T0, 1), Tick("AAA", T0 + 10_000, 1), Tick("ZZZ", T0 + 10_000, 1), Tick("MMM", T0 + 10_000, 1));

        engine.CloseAll();

        Assert.Equal(
            ["bar session ZZZ 0..40", "bar session AAA 10..40", "bar session MMM 10..40"],
            output.Events.Select(Describe));
    }

    [Fact]
    public void CloseAll_WithDefaultPipeline_FlushesEveryWindowAndLeavesNothingOpen()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("AAPL", T0 + 1_000, 1), Tick("BTC-USD", T0 + 2_000, 1));

        engine.CloseAll();

        Assert.Equal(2 * (1 + 5 + 1), output.Bars.Count);
        Assert.Equal(0, engine.OpenWindows);
        Assert.Equal(output.Bars.Count, engine.BarsEmitted);

        engine.CloseAll();
        Assert.Equal(14, output.Bars.Count);
    }

    [Fact]
    public void CloseAll_WithSessionsAndFixedWindows_OrdersSessionsByTheirEndToo()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("AAPL", T0 + 1_000, 1));

        engine.CloseAll();

        Assert.Equal(
            ["session 1..31", "1m 0..60", "5m -240..60", "5m -180..120", "5m -120..180", "5m -60..240", "5m 0..300"],
            output.Bars.Select(b => $"{b.Window} {(b.WindowStart - T0) / 1_000}..{(b.WindowEnd - T0) / 1_000}"));
    }

    [Fact]
    public void Process_AfterCloseAll_IsRefusedSoNoWindowIsEmittedTwice()
    {
        var (engine, output) = NewEngine(TwoWindows);
        engine.Feed(Tick("AAA", T0 + 10_000, 1));
        engine.CloseAll();
        var emitted = output.Events.Count;

        Assert.Throws<InvalidOperationException>(() => engine.Feed(Tick("AAA", T0 + 20_000, 1)));
        Assert.Equal(emitted, output.Events.Count);
        Assert.Equal(0, engine.OpenWindows);
    }
}

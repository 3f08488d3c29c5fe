using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class WatermarkTests
{
    [Fact]
    public void Process_BeforeAnyTick_HasNoWatermark()
    {
        var (engine, _) = NewEngine(OneMinute());

        Assert.Equal(long.MinValue, engine.Watermark);
    }

    [Fact]
    public void Process_WithNewHighestTs_AdvancesWatermarkToTsMinusOutOfOrderness()
    {
        var (engine, _) = NewEngine(OneMinute(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0 + 10_000, 1));
        Assert.Equal(T0 + 5_000, engine.Watermark);

        engine.Feed(Tick("AAPL", T0 + 7_000, 1));
        Assert.Equal(T0 + 5_000, engine.Watermark);
    }

    [Fact]
    public void Process_WhenWatermarkReachesWindowEnd_ClosesWindowThenAndNotBefore()
    {
        var (engine, output) = NewEngine(OneMinute(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0 + 1_000, 1), Tick("AAPL", T0 + 64_999, 2));
        Assert.Empty(output.Bars); // W = end − 1

        engine.Feed(Tick("AAPL", T0 + 65_000, 3)); // W = end
        var bar = Assert.Single(output.Bars);
        Assert.Equal(T0, bar.WindowStart);
        Assert.Equal(1, bar.Trades);
    }

    [Fact]
    public void Process_WithOutOfOrderTickWithinTolerance_AddsItToItsWindow()
    {
        var (engine, output) = NewEngine(OneMinute(outOfOrdernessMs: 5_000));

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + 10_000, 1),
            Tick("AAPL", T0 + 62_000, 2), // W = T0 + 57 s: [T0, T0 + 1m) still open
            Tick("AAPL", T0 + 59_000, 3));
        engine.CloseAll();

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Accepted, TickOutcome.Accepted], outcomes);
        Assert.Equal(0, engine.Late);
        Assert.Equal(2, output.Bars[0].Trades);
        Assert.Equal(3, output.Bars[0].Close);
    }

    [Fact]
    public void Process_WithLateEvent_RoutesItToLateOutput()
    {
        var (engine, output) = NewEngine(OneMinute(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0 + 1_000, 1), Tick("AAPL", T0 + 70_000, 2)); // W = T0 + 65 s closes [T0, T0 + 1m)
        var late = Tick("AAPL", T0 + 30_000, 99);
        var outcome = engine.Process(in late);
        engine.CloseAll();

        Assert.Equal(TickOutcome.Late, outcome);
        Assert.Equal(1, engine.Late);
        Assert.Equal(new LateTick(late, T0 + 65_000), Assert.Single(output.LateTicks));
        Assert.Equal([1L, 1L], output.Bars.Select(b => b.Trades));
        Assert.DoesNotContain(output.Bars, b => b.High == 99);
    }

    [Fact]
    public void Process_WithLateEvent_IsReportedBeforeAnythingElseHappens()
    {
        var (engine, output) = NewEngine(OneMinute(outOfOrdernessMs: 0));

        engine.Feed(Tick("AAPL", T0 + 1_000, 1), Tick("AAPL", T0 + Minute, 2));
        engine.Feed(Tick("AAPL", T0 + 2_000, 3));

        Assert.IsType<Bar>(output.Events[0]);
        Assert.IsType<LateTick>(output.Events[1]);
        Assert.Equal(T0 + Minute, engine.Watermark);
    }

    [Fact]
    public void Process_WithTickLateForOneMinuteButInAnOpenFiveMinuteWindow_IsNotLate()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);

        engine.Feed(Tick("AAPL", T0 + 1_000, 1), Tick("AAPL", T0 + 70_000, 2)); // W = T0 + 65 s
        var outcome = engine.Process(Tick("AAPL", T0 + 30_000, 3));
        engine.CloseAll();

        Assert.Equal(TickOutcome.Accepted, outcome);
        Assert.Equal(0, engine.Late);
        Assert.Empty(output.LateTicks);
        Assert.Equal(1, output.Bars.Single(b => b.Window == "1m" && b.WindowStart == T0).Trades);
        Assert.Equal(3, output.Bars.Single(b => b.Window == "5m" && b.WindowStart == T0).Trades);
        // [T0 − 4m, T0 + 1m) had closed: the tick went to the other four 5m windows only.
        Assert.Equal(1, output.Bars.Single(b => b.Window == "5m" && b.WindowStart == T0 - (4 * Minute)).Trades);
        Assert.Equal(3, output.Bars.Single(b => b.Window == "5m" && b.WindowStart == T0 - (3 * Minute)).Trades);
    }

    [Fact]
    public void Process_WithTickLateForEveryWindowDefinition_IsLate()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + (6 * Minute), 2)); // W = T0 + 5m 55s
        var outcome = engine.Process(Tick("AAPL", T0 + 30_000, 3));

        Assert.Equal(TickOutcome.Late, outcome);
        Assert.Single(output.LateTicks);
    }

    [Fact]
    public void Process_WithZeroOutOfOrderness_ClosesWindowOnTheFirstTickAtItsEnd()
    {
        var (engine, output) = NewEngine(OneMinute(outOfOrdernessMs: 0));

        engine.Feed(Tick("AAPL", T0, 1));
        Assert.Empty(output.Bars);
        engine.Feed(Tick("AAPL", T0 + Minute, 1));
        Assert.Single(output.Bars);
    }
}

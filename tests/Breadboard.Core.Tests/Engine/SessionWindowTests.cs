using Breadboard.Core.Engine;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class SessionWindowTests
{
    [Fact]
    public void CloseAll_WithOutOfOrderTicks_SpansFirstTsToLastTsPlusGap()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0 + 10_000, 2), Tick("AAPL", T0 + 5_000, 1), Tick("AAPL", T0 + 20_000, 3));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal(("session", T0 + 5_000, T0 + 50_000), (bar.Window, bar.WindowStart, bar.WindowEnd));
        Assert.Equal((1.0, 3.0, 3L), (bar.Open, bar.Close, bar.Trades));
    }

    [Fact]
    public void Process_WithBridgingTick_MergesTwoSessions()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0, 1, 1), Tick("AAPL", T0 + 50_000, 3, 2)); // [T0, +30 s) and [+50 s, +80 s)
        var outcome = engine.Process(Tick("AAPL", T0 + 25_000, 2, 4)); // [+25 s, +55 s) overlaps both
        engine.CloseAll();

        Assert.Equal(TickOutcome.Accepted, outcome);
        var bar = Assert.Single(output.Bars);
        Assert.Equal((T0, T0 + 80_000), (bar.WindowStart, bar.WindowEnd));
        Assert.Equal((1.0, 3.0, 1.0, 3.0), (bar.Open, bar.High, bar.Low, bar.Close));
        Assert.Equal((7.0, 3L), (bar.Volume, bar.Trades));
        Assert.Equal((1.0 + 6.0 + 8.0) / 7.0, bar.Vwap);
    }

    [Fact]
    public void Process_WithSessionsTouchingExactlyAtTheGap_KeepsThemApart()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 30_000, 2));
        engine.CloseAll();

        Assert.Equal(
            [(T0, T0 + 30_000), (T0 + 30_000, T0 + 60_000)],
            output.Bars.Select(b => (b.WindowStart, b.WindowEnd)));
    }

    [Fact]
    public void Process_WithTickOneMsInsideTheGap_ExtendsTheSession()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 29_999, 2));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal((T0, T0 + 59_999, 2L), (bar.WindowStart, bar.WindowEnd, bar.Trades));
    }

    [Fact]
    public void Process_WithEarlierTickTouchingASessionsStart_KeepsThemApart()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0 + 30_000, 2), Tick("AAPL", T0, 1)); // [T0, +30 s) ends where the other starts
        engine.CloseAll();

        Assert.Equal(2, output.Bars.Count);
    }

    [Fact]
    public void Process_WithOtherSymbolInTheGap_DoesNotMergeSessionsOfDifferentSymbols()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("MSFT", T0 + 20_000, 1), Tick("AAPL", T0 + 40_000, 1));
        engine.CloseAll();

        Assert.Equal(3, output.Bars.Count);
    }

    [Fact]
    public void Process_WhenWatermarkPassesLastTsPlusGap_ClosesTheSession()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 10_000, 1), Tick("MSFT", T0 + 44_999, 1));
        Assert.Empty(output.Bars); // W = T0 + 39 999 < T0 + 40 000

        engine.Feed(Tick("MSFT", T0 + 45_000, 1));
        Assert.Equal((T0, T0 + 40_000), (output.Bars[0].WindowStart, output.Bars[0].WindowEnd));
    }

    [Fact]
    public void Process_WithTickWhoseOwnSessionWouldBeClosed_IsLate()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 40_000, 2)); // W = T0 + 35 s closes [T0, +30 s)
        var outcome = engine.Process(Tick("AAPL", T0 + 5_000, 3)); // [+5 s, +35 s): end ≤ W, overlaps no open session

        Assert.Equal(TickOutcome.Late, outcome);
        Assert.Single(output.LateTicks);
    }

    [Fact]
    public void Process_WithTickAfterItsSessionClosed_OpensANewSessionInsteadOfReopening()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 40_000, 2)); // W = T0 + 35 s closes [T0, +30 s)
        var outcome = engine.Process(Tick("AAPL", T0 + 6_000, 3)); // [+6 s, +36 s) is still open at W
        engine.CloseAll();

        Assert.Equal(TickOutcome.Accepted, outcome);
        Assert.Equal(
            [(T0, T0 + 30_000, 1L), (T0 + 6_000, T0 + 36_000, 1L), (T0 + 40_000, T0 + 70_000, 1L)],
            output.Bars.Select(b => (b.WindowStart, b.WindowEnd, b.Trades)));
    }

    [Fact]
    public void Process_WithOldTickOverlappingAnOpenSession_IsAddedEvenThoughItsOwnEndHasPassed()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0 + 20_000, 2), Tick("AAPL", T0 + 40_000, 2)); // one session [+20 s, +70 s), W = +35 s
        var outcome = engine.Process(Tick("AAPL", T0 + 1_000, 1)); // [+1 s, +31 s): end ≤ W, but overlaps the open session
        engine.CloseAll();

        Assert.Equal(TickOutcome.Accepted, outcome);
        var bar = Assert.Single(output.Bars);
        Assert.Equal((T0 + 1_000, T0 + 70_000, 3L, 1.0), (bar.WindowStart, bar.WindowEnd, bar.Trades, bar.Open));
    }

    [Fact]
    public void OpenWindows_AfterABridgingTickMergesTwoSessions_CountsTheMergedSessionOnce()
    {
        var (engine, _) = NewEngine(Sessions(outOfOrdernessMs: 60_000));

        engine.Feed(Tick("AAPL", T0, 1), Tick("AAPL", T0 + 50_000, 3));
        Assert.Equal(2, engine.OpenWindows);

        engine.Feed(Tick("AAPL", T0 + 25_000, 2));
        Assert.Equal(1, engine.OpenWindows);
    }
}

using Breadboard.Core.Engine;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class DeduplicationTests
{
    [Fact]
    public void Process_WithSameTradeIdWithinHorizon_DropsDuplicate()
    {
        var (engine, output) = NewEngine(OneMinute());

        var outcomes = engine.Feed(Tick("AAPL", T0 + 1_000, 10, 1, 7), Tick("AAPL", T0 + 2_000, 20, 1, 7));
        engine.CloseAll();

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Duplicate], outcomes);
        Assert.Equal(1, engine.Duplicates);
        Assert.Equal(0, engine.Late);
        var bar = Assert.Single(output.Bars);
        Assert.Equal(1, bar.Trades);
        Assert.Equal(10, bar.High);
    }

    [Fact]
    public void Process_WithDuplicate_DoesNotAdvanceWatermark()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(Tick("AAPL", T0 + 1_000, 10, 1, 7));
        var watermark = engine.Watermark;
        engine.Feed(Tick("AAPL", T0 + (10 * Minute), 10, 1, 7));

        Assert.Equal(watermark, engine.Watermark);
        Assert.Empty(output.Events);
    }

    [Fact]
    public void Process_WithSameTradeIdAfterHorizon_AcceptsIt()
    {
        var (engine, output) = NewEngine(OneMinute(dedupHorizonMs: 10_000));

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + 1_000, 10, 1, 7),
            Tick("AAPL", T0 + 11_001, 11), // highest ts − horizon = T0 + 1 001 > T0 + 1 000
            Tick("AAPL", T0 + 12_000, 12, 1, 7));
        engine.CloseAll();

        Assert.Equal(TickOutcome.Accepted, outcomes[2]);
        Assert.Equal(0, engine.Duplicates);
        Assert.Equal(3, Assert.Single(output.Bars).Trades);
    }

    [Fact]
    public void Process_WithEarlierTickExactlyAtHorizon_StillDropsDuplicate()
    {
        var (engine, _) = NewEngine(OneMinute(dedupHorizonMs: 10_000));

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + 1_000, 10, 1, 7),
            Tick("AAPL", T0 + 11_000, 11), // highest ts − horizon = T0 + 1 000: still remembered
            Tick("AAPL", T0 + 12_000, 12, 1, 7));

        Assert.Equal(TickOutcome.Duplicate, outcomes[2]);
    }

    [Fact]
    public void Process_WithHorizonMeasuredBeforeTheCurrentTick_IgnoresTheCurrentTicksOwnTs()
    {
        var (engine, _) = NewEngine(OneMinute(dedupHorizonMs: 10_000));

        // The duplicate's own ts is far ahead, but the horizon is measured from the highest ts seen before it.
        var outcomes = engine.Feed(Tick("AAPL", T0 + 1_000, 10, 1, 7), Tick("AAPL", T0 + (5 * Minute), 10, 1, 7));

        Assert.Equal(TickOutcome.Duplicate, outcomes[1]);
    }

    [Fact]
    public void Process_WithSameTradeIdOtherSymbol_AcceptsIt()
    {
        var (engine, output) = NewEngine(OneMinute());

        var outcomes = engine.Feed(Tick("AAPL", T0 + 1_000, 10, 1, 7), Tick("MSFT", T0 + 1_000, 10, 1, 7));
        engine.CloseAll();

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Accepted], outcomes);
        Assert.Equal(2, output.Bars.Count);
    }

    [Fact]
    public void Process_WithTextTradeIdEqualToNumber_DropsDuplicate()
    {
        var (engine, _) = NewEngine(OneMinute());

        var outcomes = engine.Feed(Tick("AAPL", T0 + 1_000, 10, 1, 9), Tick("AAPL", T0 + 2_000, 10, 1, "9"));

        Assert.Equal(TickOutcome.Duplicate, outcomes[1]);
    }

    [Fact]
    public void Process_WithNineteenDigitTextTradeIdEqualToNumber_DropsDuplicate()
    {
        var (engine, _) = NewEngine(OneMinute());

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + 1_000, 10, 1, 1_234_567_890_123_456_789),
            Tick("AAPL", T0 + 2_000, 10, 1, "1234567890123456789"));

        Assert.Equal(TickOutcome.Duplicate, outcomes[1]);
    }

    [Fact]
    public void Process_WithTextTradeIds_ComparesTextExactly()
    {
        var (engine, _) = NewEngine(OneMinute());

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + 1_000, 10, 1, "a-1"),
            Tick("AAPL", T0 + 2_000, 10, 1, "A-1"),
            Tick("AAPL", T0 + 3_000, 10, 1, "09"),
            Tick("AAPL", T0 + 4_000, 10, 1, 9),
            Tick("AAPL", T0 + 5_000, 10, 1, "a-1"));

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Accepted, TickOutcome.Accepted, TickOutcome.Accepted, TickOutcome.Duplicate], outcomes);
    }

    [Fact]
    public void Process_WithoutTradeIds_NeverDropsAsDuplicate()
    {
        var (engine, output) = NewEngine(OneMinute());

        var tick = Tick("AAPL", T0 + 1_000, 10);
        engine.Feed(tick, tick, tick);
        engine.CloseAll();

        Assert.Equal(0, engine.Duplicates);
        Assert.Equal(3, Assert.Single(output.Bars).Trades);
    }

    [Fact]
    public void Process_WithIdSeenOnlyOnADroppedDuplicate_MeasuresTheHorizonFromTheTakenTick()
    {
        var (engine, _) = NewEngine(OneMinute(dedupHorizonMs: 10_000));

        var outcomes = engine.Feed(
            Tick("AAPL", T0, 10, 1, 7),
            Tick("AAPL", T0 + 9_000, 10, 1, 7), // duplicate of the first: not taken, so not remembered
            Tick("AAPL", T0 + 15_000, 10), // highest − horizon = T0 + 5 s: the first has expired
            Tick("AAPL", T0 + 15_000, 10, 1, 7));

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Duplicate, TickOutcome.Accepted, TickOutcome.Accepted], outcomes);
    }

    [Fact]
    public void Process_WithIdOfAnEarlierLateTick_DropsDuplicate()
    {
        var (engine, _) = NewEngine(OneMinute(outOfOrdernessMs: 0));

        var outcomes = engine.Feed(
            Tick("AAPL", T0 + Minute, 10),
            Tick("AAPL", T0 + 1_000, 10, 1, 7), // late, but taken
            Tick("AAPL", T0 + Minute + 1, 10, 1, 7));

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Late, TickOutcome.Duplicate], outcomes);
    }
}

using Breadboard.Core.Engine;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class FixedWindowTests
{
    [Fact]
    public void CloseAll_WithTicksOfOneMinute_EmitsBarWithHandComputedValues()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(
            Tick("BTC-USD", T0 + 1_000, 10, 1),
            Tick("BTC-USD", T0 + 2_000, 12, 3),
            Tick("BTC-USD", T0 + 3_000, 9, 0),
            Tick("BTC-USD", T0 + 500, 11, 2));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal("BTC-USD", bar.Symbol);
        Assert.Equal("1m", bar.Window);
        Assert.Equal(T0, bar.WindowStart);
        Assert.Equal(T0 + Minute, bar.WindowEnd);
        Assert.Equal(11, bar.Open);
        Assert.Equal(12, bar.High);
        Assert.Equal(9, bar.Low);
        Assert.Equal(9, bar.Close);
        Assert.Equal(6, bar.Volume);
        Assert.Equal(68.0 / 6.0, bar.Vwap);
        Assert.Equal(4, bar.Trades);
    }

    [Fact]
    public void Process_WithTickOnWindowBoundary_PutsItInTheWindowStartingThere()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(Tick("AAPL", T0 + Minute - 1, 1), Tick("AAPL", T0 + Minute, 2));
        engine.CloseAll();

        Assert.Equal(
            [(T0, T0 + Minute, 1L), (T0 + Minute, T0 + (2 * Minute), 1L)],
            output.Bars.Select(b => (b.WindowStart, b.WindowEnd, b.Trades)));
        Assert.Equal(2, output.Bars[1].Open);
    }

    [Fact]
    public void Process_WithTicksInDifferentWindows_KeepsSymbolsApart()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(Tick("AAPL", T0 + 1_000, 5), Tick("MSFT", T0 + 2_000, 7));
        engine.CloseAll();

        Assert.Equal([("AAPL", 5.0), ("MSFT", 7.0)], output.Bars.Select(b => (b.Symbol, b.Close)));
    }

    [Fact]
    public void Process_WithHoppingFiveMinutesEveryMinute_AddsTickToExactlyFiveWindows()
    {
        var (engine, output) = NewEngine(Definition(5_000, [WindowDefinition.Hopping("5m", 5 * Minute, Minute)]));

        engine.Feed(Tick("AAPL", T0 + 90_000, 3));
        engine.CloseAll();

        // Starts are the multiples of 1m in (ts − 5m, ts].
        long[] starts = [T0 - (3 * Minute), T0 - (2 * Minute), T0 - Minute, T0, T0 + Minute];
        Assert.Equal(starts, output.Bars.Select(b => b.WindowStart));
        Assert.All(output.Bars, b => Assert.Equal(b.WindowStart + (5 * Minute), b.WindowEnd));
        Assert.All(output.Bars, b => Assert.Equal(1, b.Trades));
    }

    [Fact]
    public void Process_WithTickOnHoppingBoundary_LeavesTheWindowEndingThere()
    {
        var (engine, output) = NewEngine(Definition(5_000, [WindowDefinition.Hopping("5m", 5 * Minute, Minute)]));

        engine.Feed(Tick("AAPL", T0, 3));
        engine.CloseAll();

        Assert.Equal(5, output.Bars.Count);
        Assert.Equal(T0 - (4 * Minute), output.Bars[0].WindowStart);
        Assert.Equal(T0, output.Bars[^1].WindowStart);
    }

    [Fact]
    public void Process_WithHoppingWindow_AlignsStartsToMultiplesOfTheSlide()
    {
        var (engine, output) = NewEngine(Definition(0, [WindowDefinition.Hopping("12s", 12_000, 4_000)]));

        // The multiples of 4 s in (9 000 − 12 000, 9 000].
        engine.Feed(Tick("AAPL", 9_000, 1));
        engine.CloseAll();

        Assert.Equal([0L, 4_000L, 8_000L], output.Bars.Select(b => b.WindowStart));
    }
}

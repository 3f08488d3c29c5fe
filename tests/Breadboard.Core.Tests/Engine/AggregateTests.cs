using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class AggregateTests
{
    [Fact]
    public void CloseAll_WithTiesOnTs_TakesOpenFromFirstArrivalAndCloseFromLastArrival()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(
            Tick("AAPL", T0 + 1_000, 1),
            Tick("AAPL", T0 + 5_000, 3),
            Tick("AAPL", T0 + 1_000, 2),
            Tick("AAPL", T0 + 3_000, 5),
            Tick("AAPL", T0 + 5_000, 4));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal((1.0, 5.0, 1.0, 4.0), (bar.Open, bar.High, bar.Low, bar.Close));
    }

    [Fact]
    public void CloseAll_WithTiesOnTsInSessions_TakesOpenFromFirstArrivalAndCloseFromLastArrival()
    {
        var (engine, output) = NewEngine(Sessions(outOfOrdernessMs: 5_000));

        engine.Feed(Tick("AAPL", T0, 7), Tick("AAPL", T0, 8), Tick("AAPL", T0, 9));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal((7.0, 9.0), (bar.Open, bar.Close));
    }

    [Fact]
    public void CloseAll_WithZeroVolume_EmitsNullVwap()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(Tick("AAPL", T0 + 1_000, 10, 0), Tick("AAPL", T0 + 2_000, 11, 0));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal(0, bar.Volume);
        Assert.Null(bar.Vwap);
        Assert.Equal(2, bar.Trades);
    }

    [Fact]
    public void CloseAll_WithSomeZeroVolume_WeighsPricesByVolume()
    {
        var (engine, output) = NewEngine(OneMinute());

        engine.Feed(Tick("AAPL", T0 + 1_000, 10, 0), Tick("AAPL", T0 + 2_000, 20, 2), Tick("AAPL", T0 + 3_000, 30, 6));
        engine.CloseAll();

        var bar = Assert.Single(output.Bars);
        Assert.Equal(8, bar.Volume);
        Assert.Equal(220.0 / 8.0, bar.Vwap);
    }
}

using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Microsoft.Extensions.Time.Testing;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

/// <summary>Ticks the engine refuses whatever came before them: numbers out of range, times no window can hold, times ahead of the clock.</summary>
public class RefusalTests
{
    [Theory]
    [InlineData(1e308, 10, "field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData(double.NaN, 1, "field 'price' must be a number from 1e-15 to 1e15 (got NaN)")]
    [InlineData(double.PositiveInfinity, 1, "field 'price' must be a number from 1e-15 to 1e15 (got Infinity)")]
    [InlineData(0, 1, "field 'price' must be a number from 1e-15 to 1e15 (got 0)")]
    [InlineData(1e-16, 1, "field 'price' must be a number from 1e-15 to 1e15 (got 1E-16)")]
    [InlineData(100, -1, "field 'volume' must be 0 or a number from 1e-15 to 1e18 (got -1)")]
    [InlineData(100, 1e-300, "field 'volume' must be 0 or a number from 1e-15 to 1e18 (got 1E-300)")]
    [InlineData(100, 1e19, "field 'volume' must be 0 or a number from 1e-15 to 1e18 (got 1E+19)")]
    [InlineData(1e15, 1e7, "price × volume must be at most 1e21 (got 1E+22)")]
    public void Process_NumbersOutOfRange_AreRefusedWithTheReasonAndChangeNothing(double price, double volume, string reason)
    {
        var (engine, output) = NewEngine(OneMinute());
        engine.Feed(Tick("AAPL", T0, 100, 1));

        var outcome = engine.Process(Tick("AAPL", T0 + 1_000, price, volume), position: 7);
        engine.Feed(Tick("AAPL", T0 + 2_000, 101, 1));
        engine.CloseAll();

        Assert.Equal(TickOutcome.Refused, outcome);
        var refused = Assert.Single(output.Refusals);
        Assert.Equal(7, refused.Position);
        Assert.Equal(reason, refused.Reason);
        var bar = Assert.Single(output.Bars);
        Assert.Equal((100, 101, 100, 101, 2, 2), (bar.Open, bar.High, bar.Low, bar.Close, bar.Volume, bar.Trades));
        Assert.Equal(1, engine.Refused);
        Assert.Equal(0, engine.RefusedFuture);
    }

    [Fact]
    public void Process_LargestAllowedValues_GiveFiniteBarsAndRuleValues()
    {
        var definition = PipelineDefinition.Default;
        var (engine, output) = NewEngine(definition);
        for (var i = 0; i < 30; i++)
        {
            engine.Feed(
                Tick("X", T0 + (i * Minute), TickLimits.MinPrice, TickLimits.MinVolume),
                Tick("X", T0 + (i * Minute) + 1, 1e15, 1e6),
                Tick("X", T0 + (i * Minute) + 2, 1e3, TickLimits.MaxVolume));
        }

        engine.CloseAll();

        Assert.Empty(output.Refusals);
        Assert.NotEmpty(output.Bars);
        Assert.All(output.Bars, b => Assert.True(double.IsFinite(b.Volume) && double.IsFinite(b.Vwap ?? 0) && b.Vwap > 0, b.ToString()));
        Assert.All(output.Alerts, a => Assert.True(double.IsFinite(a.Value), a.ToString()));
        Assert.Contains(output.Alerts, a => a.Rule == "price_spike");
    }

    [Fact]
    public void Process_TickWhoseWindowWouldEndAfterYear9999_IsRefused()
    {
        // The default pipeline's widest window is 5m: its last allowed tick is 5 minutes before the end of 9999.
        var latest = EventTime.MaxMs - 300_000;
        var (engine, output) = NewEngine(PipelineDefinition.Default with { Future = FutureGuard.Off });

        var outcomes = engine.Feed(Tick("AAPL", latest + 1, 1), Tick("AAPL", EventTime.MaxMs, 1), Tick("AAPL", latest, 1));
        engine.CloseAll();

        Assert.Equal([TickOutcome.Refused, TickOutcome.Refused, TickOutcome.Accepted], outcomes);
        Assert.Equal(
            "field 'ts' must be from 1970-01-01T00:00:00.000Z to 9999-12-31T23:54:59.999Z, so that every window of the pipeline ends before year 10000 (got 9999-12-31T23:59:59.999Z)",
            output.Refusals[1].Reason);
        Assert.All(output.Bars, b => Assert.True(b.WindowEnd <= EventTime.MaxMs + 1 && b.WindowStart < b.WindowEnd));
        Assert.All(output.Bars, b => EventTime.ToIso(b.WindowEnd - 1));
    }

    [Fact]
    public void Process_TickAheadOfTheWallClock_IsRefusedOnALiveFace()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0));
        var output = new CollectingOutput();
        var engine = new WindowEngine(OneMinute(), output, clock);

        var outcomes = engine.Feed(
            Tick("BTC-USD", T0 - 1_000, 1),
            Tick("BTC-USD", T0 + 3_600_000, 2),       // exactly the allowed skew ahead
            Tick("BTC-USD", T0 + 3_600_001, 3));      // a millisecond more
        clock.Advance(TimeSpan.FromSeconds(1));
        var later = engine.Process(Tick("BTC-USD", T0 + 3_600_001, 3));

        Assert.Equal([TickOutcome.Accepted, TickOutcome.Accepted, TickOutcome.Refused], outcomes);
        Assert.Equal(TickOutcome.Accepted, later);
        var refused = Assert.Single(output.Refusals);
        Assert.Equal("ts 2026-01-02T15:30:00.001Z is 1 h ahead of the wall clock (2026-01-02T14:30:00.000Z); future.clock_skew allows 1h", refused.Reason);
        Assert.Equal(1, engine.RefusedFuture);
    }

    [Fact]
    public void Process_WithoutAClock_NeverReadsOne()
    {
        // Replays and backtests: a tick far ahead of today is only held against the watermark, never refused by the clock.
        var (engine, output) = NewEngine(OneMinute());
        var farFuture = DateTimeOffset.UtcNow.AddYears(50).ToUnixTimeMilliseconds();

        Assert.Equal(TickOutcome.Accepted, engine.Process(Tick("AAPL", farFuture, 1)));
        Assert.Empty(output.Refusals);
    }
}

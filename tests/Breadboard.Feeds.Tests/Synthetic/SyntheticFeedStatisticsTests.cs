using Breadboard.Core.Model;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Feeds.Tests.Synthetic;

/// <summary>Loose statistical checks on fixed seeds: they test the model, not luck, so they never flake.</summary>
public class SyntheticFeedStatisticsTests
{
    private const long Start = 1_767_312_000_000; // 2026-01-02T00:00:00Z
    private const long MsPerYear = 31_557_600_000;

    private static IEnumerable<Tick> Until(SyntheticFeedOptions options, long durationMs)
    {
        foreach (var tick in new SyntheticFeed(options with { StartTime = Start }).Generate(long.MaxValue))
        {
            if (tick.Ts >= Start + durationMs)
            {
                yield break;
            }

            yield return tick;
        }
    }

    [Fact]
    public void Generate_OverThirtyMinutes_ArrivesAtRatePerSecond()
    {
        var count = Until(SyntheticFeedOptions.Default, 30 * 60_000).LongCount();

        Assert.InRange(count / 1_800.0, 200 * 0.97, 200 * 1.03);
    }

    [Fact]
    public void Generate_WithoutShocks_LogReturnsHaveTheConfiguredVolatility()
    {
        var options = SyntheticFeedOptions.Default with { ShockProbability = 0 };
        // Returns over 10-second steps: tick-to-tick moves are smaller than a cent and would measure rounding.
        const long stepMs = 10_000;
        var lastInStep = new Dictionary<(string Symbol, long Step), Tick>();
        foreach (var tick in Until(options, 60 * 60_000))
        {
            lastInStep[(tick.Symbol, tick.Ts / stepMs)] = tick;
        }

        var squares = new Dictionary<AssetClass, double>();
        var years = new Dictionary<AssetClass, double>();
        foreach (var group in lastInStep.Values.GroupBy(t => t.Symbol))
        {
            var path = group.OrderBy(t => t.Ts).ToList();
            var assetClass = path[0].AssetClass;
            for (var i = 1; i < path.Count; i++)
            {
                var r = Math.Log(path[i].Price / path[i - 1].Price);
                squares[assetClass] = squares.GetValueOrDefault(assetClass) + (r * r);
            }

            years[assetClass] = years.GetValueOrDefault(assetClass) + ((path[^1].Ts - path[0].Ts) / (double)MsPerYear);
        }

        Assert.InRange(Math.Sqrt(squares[AssetClass.Stock] / years[AssetClass.Stock]), 0.3 * 0.9, 0.3 * 1.1);
        Assert.InRange(Math.Sqrt(squares[AssetClass.Crypto] / years[AssetClass.Crypto]), 0.7 * 0.9, 0.7 * 1.1);
    }

    [Fact]
    public void Generate_DefaultOptions_MovesSomeSymbolMoreThanFivePercentWithinAFiveMinuteWindow()
    {
        var bars = MinuteBars.From(Until(SyntheticFeedOptions.Default, 60 * 60_000));

        // As the default pipeline's 5m hopping window sees it: open of its first minute to close of its last.
        var largest = 0.0;
        foreach (var symbolBars in bars.Values)
        {
            foreach (var (minute, first) in symbolBars)
            {
                if (symbolBars.TryGetValue(minute + 4, out var last))
                {
                    largest = Math.Max(largest, Math.Abs((last.Close - first.Open) / first.Open));
                }
            }
        }

        Assert.True(largest > 0.05, $"largest 5-minute move {largest:P2}");
    }

    [Fact]
    public void Generate_DefaultOptions_HasAMinuteWithFiveTimesTheMeanVolumeOfThePreviousTwenty()
    {
        var bars = MinuteBars.From(Until(SyntheticFeedOptions.Default, 60 * 60_000));

        var largest = 0.0;
        foreach (var symbolBars in bars.Values)
        {
            foreach (var (minute, bar) in symbolBars)
            {
                var previous = 0.0;
                var complete = true;
                for (var m = minute - 20; m < minute && complete; m++)
                {
                    complete = symbolBars.TryGetValue(m, out var earlier);
                    previous += earlier.Volume;
                }

                if (complete)
                {
                    largest = Math.Max(largest, bar.Volume / (previous / 20));
                }
            }
        }

        Assert.True(largest >= 5, $"largest volume multiple {largest:F2}");
    }

    [Fact]
    public void Generate_WithoutShocks_HasNoVolumeSurge()
    {
        // The other half of the surge test: the surges come from the shocks, not from ordinary noise.
        var bars = MinuteBars.From(Until(SyntheticFeedOptions.Default with { ShockProbability = 0 }, 30 * 60_000));

        foreach (var symbolBars in bars.Values)
        {
            var volumes = symbolBars.Values.Select(b => b.Volume).ToList();
            Assert.True(volumes.Max() < 2 * volumes.Average());
        }
    }
}

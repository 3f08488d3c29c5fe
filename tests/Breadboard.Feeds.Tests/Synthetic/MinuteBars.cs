using Breadboard.Core.Model;

namespace Breadboard.Feeds.Tests.Synthetic;

internal readonly record struct MinuteBar(double Open, double Close, double Volume);

/// <summary>Epoch-aligned 1-minute bars per symbol, computed the plain way so tests can check what the pipeline's rules would see.</summary>
internal static class MinuteBars
{
    public const long MinuteMs = 60_000;

    /// <summary>Bars keyed by symbol, then by minute index (ts / 60 000).</summary>
    public static Dictionary<string, SortedDictionary<long, MinuteBar>> From(IEnumerable<Tick> ticks)
    {
        var bars = new Dictionary<string, SortedDictionary<long, MinuteBar>>(StringComparer.Ordinal);
        foreach (var tick in ticks)
        {
            if (!bars.TryGetValue(tick.Symbol, out var symbolBars))
            {
                bars[tick.Symbol] = symbolBars = [];
            }

            var minute = tick.Ts / MinuteMs;
            symbolBars[minute] = symbolBars.TryGetValue(minute, out var bar)
                ? bar with { Close = tick.Price, Volume = bar.Volume + tick.Volume }
                : new MinuteBar(tick.Price, tick.Price, tick.Volume);
        }

        return bars;
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace Breadboard.Core.Pipeline;

/// <summary>Durations as people write them in settings: <c>500ms</c>, <c>60s</c>, <c>5m</c>, <c>1h</c>, <c>7d</c>.</summary>
public static partial class DurationText
{
    public static bool TryParse(string? text, out long ms)
    {
        ms = 0;
        var match = text is null ? null : Pattern().Match(text.Trim());
        if (match is null || !match.Success)
        {
            return false;
        }

        var value = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        ms = match.Groups[2].Value switch
        {
            "ms" => value,
            "s" => value * 1_000,
            "m" or "min" => value * 60_000,
            "h" => value * 3_600_000,
            _ => value * 86_400_000,
        };
        return true;
    }

    public static string Format(long ms) =>
        ms % 86_400_000 == 0 && ms > 0 ? $"{ms / 86_400_000}d"
        : ms % 3_600_000 == 0 && ms > 0 ? $"{ms / 3_600_000}h"
        : ms % 60_000 == 0 && ms > 0 ? $"{ms / 60_000}m"
        : ms % 1_000 == 0 ? $"{ms / 1_000}s"
        : $"{ms}ms";

    /// <summary>A span for a message, to three significant figures in the largest fitting unit: <c>850 ms</c>, <c>1.00 h</c>, <c>73.0 y</c>.</summary>
    public static string Approximate(long ms)
    {
        var (value, unit) = Math.Abs(ms) switch
        {
            < 1_000 => (ms, "ms"),
            < 60_000 => (ms / 1_000.0, "s"),
            < 3_600_000 => (ms / 60_000.0, "min"),
            < 86_400_000 => (ms / 3_600_000.0, "h"),
            < 31_557_600_000 => (ms / 86_400_000.0, "d"),
            _ => (ms / 31_557_600_000.0, "y"), // Julian years
        };
        return unit == "ms" ? $"{ms} ms" : string.Create(CultureInfo.InvariantCulture, $"{value:G3} {unit}");
    }

    [GeneratedRegex("^([0-9]{1,9})(ms|s|min|m|h|d)$")]
    private static partial Regex Pattern();
}

using Breadboard.Core.Model;

namespace Breadboard.Batch;

/// <summary>When a symbol trades: crypto around the clock, stocks in NYSE regular hours (09:30–16:00 New York time,
/// Monday to Friday).</summary>
/// <remarks>Exchange holidays and half days are not modelled: a holiday shows up as a gap in validation, which names
/// the missing range so a person can tell.</remarks>
public static class MarketHours
{
    public static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    /// <summary>The regular session's open and close, New York time.</summary>
    public static readonly TimeSpan Open = new(9, 30, 0);

    public static readonly TimeSpan Close = new(16, 0, 0);

    /// <summary>Whether a bar of <paramref name="symbol"/> starting at <paramref name="startMs"/> lies in trading hours.</summary>
    public static bool IsTrading(string symbol, long startMs) =>
        AssetClasses.Infer(symbol) == AssetClass.Crypto || IsNyseOpen(startMs);

    public static bool IsNyseOpen(long ms)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime, NewYork);
        return local.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && local.TimeOfDay >= Open && local.TimeOfDay < Close;
    }
}

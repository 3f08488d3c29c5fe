using System.Globalization;

namespace Breadboard.Core.Model;

/// <summary>
/// The prices and volumes a tick may carry. Every reader (files, Kafka, venues) and the engine refuse anything
/// beyond them, so that every aggregate and rule value the engine derives is finite by construction.
/// </summary>
/// <remarks>
/// The bounds are far outside real markets (the dearest quote, BTC in Vietnamese dong, is about 3e9; the
/// smallest, meme tokens priced in BTC, about 1e-11) and keep the arithmetic safe: a window's volume is at most
/// trades × 1e18 and its Σ price·volume at most trades × 1e21, both finite for any count a long can hold; VWAP
/// divides by a volume of at least 1e-15; a price change divides by an open of at least 1e-15; a volume surge by
/// a mean of at least 1e-15 / lookback. No product underflows to zero either (at least 1e-30).
/// </remarks>
public static class TickLimits
{
    public const double MinPrice = 1e-15;
    public const double MaxPrice = 1e15;

    /// <summary>The smallest volume other than zero (a trade with no size, as some venues report).</summary>
    public const double MinVolume = 1e-15;
    public const double MaxVolume = 1e18;

    /// <summary>Largest price × volume of one trade.</summary>
    public const double MaxNotional = 1e21;

    /// <summary>Finite and within [<see cref="MinPrice"/>, <see cref="MaxPrice"/>]; false for NaN.</summary>
    public static bool IsValidPrice(double price) => price is >= MinPrice and <= MaxPrice;

    /// <summary>Zero, or finite and within [<see cref="MinVolume"/>, <see cref="MaxVolume"/>]; false for NaN.</summary>
    public static bool IsValidVolume(double volume) => volume == 0 || volume is >= MinVolume and <= MaxVolume;

    public const string PriceRule = "a number from 1e-15 to 1e15";

    public const string VolumeRule = "0 or a number from 1e-15 to 1e18";

    /// <summary>Why a tick's numbers are out of range, naming the field and the value; null when they are fine.</summary>
    public static string? Check(double price, double volume)
    {
        if (!IsValidPrice(price))
        {
            return $"field 'price' must be {PriceRule} (got {Format(price)})";
        }

        if (!IsValidVolume(volume))
        {
            return $"field 'volume' must be {VolumeRule} (got {Format(volume)})";
        }

        return price * volume > MaxNotional
            ? $"price × volume must be at most 1e21 (got {Format(price * volume)})"
            : null;
    }

    /// <summary>A number as it reads in a reason: in its shortest round-trip form (NaN and Infinity as words).</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

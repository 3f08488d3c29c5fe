using System.Globalization;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>How values of each <see cref="ValueUnit"/> are named and written for people.</summary>
public static class ValueUnits
{
    /// <summary>The unit's name in the dashboard's JSON: <c>price</c>, <c>percent</c>, <c>sigma</c>…</summary>
    public static string Name(ValueUnit unit) => unit.ToString().ToLowerInvariant();

    /// <summary><c>101.25</c>, <c>+2.4%</c>, <c>3.1σ</c>, <c>74.2</c> (an RSI), <c>1,250 volume</c>; <c>undefined</c> for NaN.</summary>
    /// <param name="withUnit">False for a threshold beside its value, where the short form reads better.</param>
    public static string Format(ValueUnit unit, double value, bool withUnit)
    {
        if (double.IsNaN(value))
        {
            return "undefined";
        }

        var inv = CultureInfo.InvariantCulture;
        return unit switch
        {
            ValueUnit.Percent => value.ToString("+0.0;\u22120.0;0.0", inv) + "%",
            ValueUnit.Sigma => value.ToString("0.00;\u22120.00", inv) + "\u03c3",
            ValueUnit.Index => value.ToString("0.0", inv),
            ValueUnit.Volume => value.ToString("#,0.####", inv) + (withUnit ? " volume" : ""),
            ValueUnit.Count => value.ToString("#,0", inv) + (withUnit ? " trades" : ""),
            _ => value.ToString("G8", inv),
        };
    }
}

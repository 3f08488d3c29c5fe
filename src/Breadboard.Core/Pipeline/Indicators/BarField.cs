using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>A column of a closed bar that an indicator's <c>of</c> or a rule's <c>when</c> may name.</summary>
public enum BarField
{
    Open,
    High,
    Low,
    Close,
    Volume,
    Vwap,
    Trades,
}

/// <summary>Names and values of <see cref="BarField"/>s.</summary>
public static class BarFields
{
    /// <summary>The names a pipeline file uses, in <see cref="BarField"/> order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["open", "high", "low", "close", "volume", "vwap", "trades"];

    public static bool TryParse(string? name, out BarField field)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (Names[i] == name)
            {
                field = (BarField)i;
                return true;
            }
        }

        field = default;
        return false;
    }

    public static string Name(this BarField field) => Names[(int)field];

    /// <summary>The aggregate the bar column comes from, which the pipeline must emit.</summary>
    public static Aggregate Aggregate(this BarField field) => (Aggregate)(int)field;

    /// <summary>The field's value on <paramref name="bar"/>; NaN (undefined) for the vwap of a bar without volume.</summary>
    public static double Of(this BarField field, Bar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        return field switch
        {
            BarField.Open => bar.Open,
            BarField.High => bar.High,
            BarField.Low => bar.Low,
            BarField.Close => bar.Close,
            BarField.Volume => bar.Volume,
            BarField.Vwap => bar.Vwap ?? double.NaN,
            _ => bar.Trades,
        };
    }

    /// <summary>What the field is measured in, for people: a price, a volume, or a count of trades.</summary>
    public static ValueUnit Unit(this BarField field) => field switch
    {
        BarField.Volume => ValueUnit.Volume,
        BarField.Trades => ValueUnit.Count,
        _ => ValueUnit.Price,
    };
}

/// <summary>What a value of an indicator or expression is measured in; notifications and the dashboard word it so.</summary>
public enum ValueUnit
{
    /// <summary>A plain number (a ratio, a product of prices).</summary>
    Number,
    Price,
    Volume,
    Count,
    Percent,

    /// <summary>An RSI: 0 to 100.</summary>
    Index,

    /// <summary>A z-score: standard deviations from the mean.</summary>
    Sigma,
}

using System.Globalization;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Pipeline;

/// <summary>Pieces of the SQL the kinds write for the Flink compiler (Flink's dialect; DuckDB reads it too once backticks become double quotes).</summary>
public static class SqlText
{
    /// <summary>A quoted column name: <c>`sma_fast`</c>.</summary>
    public static string Column(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return "`" + name.Replace("`", "``", StringComparison.Ordinal) + "`";
    }

    /// <summary>
    /// A DOUBLE literal (<c>70E0</c>, <c>0.5E0</c>, <c>1E-05</c>): with an exponent, so that <c>1 / 2</c> divides
    /// doubles rather than integers. The shortest text that reads back as the same double, so Java and DuckDB parse
    /// the value .NET holds.
    /// </summary>
    public static string Number(double value)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "a SQL literal is finite and not negative (a minus is an operator)");
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('E', StringComparison.Ordinal) ? text : text + "E0";
    }

    /// <summary>The column holding an indicator value in the views the Flink compiler writes: <c>`@sma_fast`</c>, <c>`@bb.upper`</c>.</summary>
    /// <remarks>The <c>@</c> keeps an indicator named <c>symbol</c> or <c>value</c> apart from the bar's and the alert's columns.</remarks>
    public static string Indicator(string valueName) => Column("@" + valueName);

    /// <summary>A bar field as a DOUBLE: <c>`close`</c>; <c>trades</c>, a BIGINT in the bars view, cast so that it divides as the local engine's double does.</summary>
    public static string Field(BarField field) => field == BarField.Trades ? "CAST(`trades` AS DOUBLE)" : Column(field.Name());

    /// <summary><paramref name="select"/> in parentheses, indented by two spaces, to follow a FROM.</summary>
    public static string Subquery(string select)
    {
        ArgumentNullException.ThrowIfNull(select);
        return "(\n  " + select.Replace("\n", "\n  ", StringComparison.Ordinal) + "\n)";
    }
}

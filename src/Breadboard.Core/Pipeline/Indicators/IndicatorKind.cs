using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// One type of indicator (sma, ema, rsi, zscore, bollinger, atr): its fields, its per-symbol state and formula, its
/// checkpoint and its unit. The formulas are docs/RULES.md's, bar for bar.
/// </summary>
/// <remarks>
/// <see cref="IndicatorState.Update"/> runs once per closed bar per indicator on the engine's hot path: it must not
/// allocate. Sums are taken oldest bar first, as the definitions read, so that the values equal a naive
/// implementation's exactly rather than drifting like a running sum would.
/// </remarks>
public abstract class IndicatorKind
{
    /// <summary>Largest period: the state keeps up to this many values per symbol and indicator.</summary>
    public const int MaxPeriod = 10_000;

    /// <summary>
    /// Largest period the Flink compiler takes for the windowed kinds (sma, zscore, bollinger): their SQL adds the
    /// window's values one by one, oldest first, so that Flink gives the local engine's doubles exactly, and an
    /// expression of more terms nests deeper than the planner's recursion should be asked to go.
    /// </summary>
    public const int MaxSqlPeriod = 200;

    protected IndicatorKind(string name) => Name = name;

    public static IndicatorKind Sma => SmaIndicator.Instance;

    public static IndicatorKind Ema => EmaIndicator.Instance;

    public static IndicatorKind Rsi => RsiIndicator.Instance;

    public static IndicatorKind ZScore => ZScoreIndicator.Instance;

    public static IndicatorKind Bollinger => BollingerIndicator.Instance;

    public static IndicatorKind Atr => AtrIndicator.Instance;

    /// <summary>The <c>type</c> in the pipeline file.</summary>
    public string Name { get; }

    /// <summary>The names of its values after the indicator's name (<c>upper</c> in <c>bb.upper</c>); one empty name for a single value.</summary>
    public virtual IReadOnlyList<string> Outputs { get; } = [""];

    /// <summary>Whether it is computed over an <c>of</c> (a bar field or an indicator); atr reads high, low and close itself.</summary>
    public virtual bool TakesOf => true;

    /// <summary>Whether it takes Bollinger's <c>k</c>.</summary>
    public virtual bool TakesK => false;

    /// <summary>
    /// Whether its values are levels on its input's scale (an sma of close is a price to draw over the candles);
    /// false for a measure in the input's unit that is not a level (atr: a range of prices).
    /// </summary>
    public virtual bool IsLevel => true;

    /// <summary>The bar columns it reads itself, beyond its <c>of</c>; the pipeline must emit them.</summary>
    public virtual IReadOnlyList<BarField> Reads { get; } = [];

    /// <summary>The fields of the pipeline file's mapping beyond <c>name</c>, <c>type</c> and <c>window</c>.</summary>
    public IReadOnlyList<string> Fields => TakesK ? ["of", "period", "k"] : TakesOf ? ["of", "period"] : ["period"];

    /// <summary>What its values are measured in, given what its <c>of</c> is measured in.</summary>
    public abstract ValueUnit Unit(ValueUnit input);

    /// <summary>
    /// Bars a computation started later than the engine's must see before its values are the engine's: the period
    /// for kinds that look back a fixed number of bars; for the recursive ones (ema, rsi, atr), enough that the
    /// different starting point's weight has fallen below e^−20 (2·10⁻⁹). The dashboard's history reads this many.
    /// </summary>
    public virtual long WarmupBars(IndicatorDefinition indicator) => indicator?.Period ?? 1;

    /// <summary>A fresh state for one symbol.</summary>
    public abstract IndicatorState CreateState(IndicatorDefinition indicator);

    /// <summary>The indicator's part of <see cref="PipelineDefinition.Fingerprint"/>.</summary>
    public string Fingerprint(IndicatorDefinition indicator)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        return string.Create(CultureInfo.InvariantCulture, $"{indicator.Name},{Name},{indicator.Window},{indicator.Of},{indicator.Period},{indicator.K:R}");
    }

    /// <summary>Why Flink SQL cannot compute it as the local engine does; null when it can.</summary>
    public abstract string? SqlRefusal(IndicatorDefinition indicator);

    /// <summary>
    /// The indicator as SQL over its input's latest values, for the Flink compiler: how many values it looks at,
    /// and its outputs computed from them. Only called when <see cref="SqlRefusal"/> is null.
    /// </summary>
    /// <param name="values">
    /// The SQL of an array of the input's latest <see cref="IndicatorSql.Rows"/> defined values, oldest first,
    /// 1-based (<c>{values}[1]</c> is the oldest, <c>{values}[Rows]</c> this bar's); NULL until there are that many.
    /// </param>
    /// <param name="column">The SQL of a helper column of the indicator's own, by name (<c>mean</c>): see <see cref="IndicatorSql.Steps"/>.</param>
    public virtual IndicatorSql ToSql(IndicatorDefinition indicator, string values, Func<string, string> column) =>
        throw new NotSupportedException(SqlRefusal(indicator));

    /// <summary>
    /// The refusal of a windowed kind whose SQL writes out its window's values one by one (<see cref="SqlSum"/>):
    /// null up to <see cref="MaxSqlPeriod"/>.
    /// </summary>
    protected string? SqlPeriodRefusal(IndicatorDefinition indicator) =>
        indicator?.Period > MaxSqlPeriod
            ? string.Create(CultureInfo.InvariantCulture, $"a period of {indicator.Period}: Flink SQL gets the local engine's exact {Name} by adding the window's values one by one, oldest first, and the compiler writes out at most {MaxSqlPeriod}")
            : null;

    /// <summary>
    /// Σ <c>values[1..count]</c>, added oldest first as <see cref="ValueRing.Mean"/> adds them: Flink (Java doubles),
    /// DuckDB and .NET then give the same double, which a running SUM over an OVER window (adding the new value and
    /// subtracting the one that leaves) would not.
    /// </summary>
    protected static string SqlSum(string values, int count)
    {
        var sb = new System.Text.StringBuilder("(");
        for (var k = 1; k <= count; k++)
        {
            sb.Append(k == 1 ? "" : " + ").Append(values).Append('[').Append(k.ToString(CultureInfo.InvariantCulture)).Append(']');
        }

        return sb.Append(')').ToString();
    }

    /// <summary>
    /// The population standard deviation of <c>values[1..count]</c> around <paramref name="mean"/>: √(Σ(x − mean)² /
    /// count), two-pass and added oldest first as <see cref="ValueRing.Deviation"/> computes it, to the same double.
    /// </summary>
    protected static string SqlDeviation(string values, int count, string mean)
    {
        var sb = new System.Text.StringBuilder("SQRT((");
        for (var k = 1; k <= count; k++)
        {
            var d = $"({values}[{k.ToString(CultureInfo.InvariantCulture)}] - {mean})";
            sb.Append(k == 1 ? "" : " + ").Append(d).Append(" * ").Append(d);
        }

        return sb.Append(CultureInfo.InvariantCulture, $") / {count})").ToString();
    }

    public override string ToString() => Name;
}

/// <summary>An indicator as SQL (<see cref="IndicatorKind.ToSql"/>): its window of input values and how its outputs follow from them.</summary>
/// <param name="Rows">How many of the input's latest defined values (this bar's last) it looks at; undefined until there are that many.</param>
/// <param name="Steps">
/// Helper columns computed one after the other, each named (its column is the <c>column</c> function's) and
/// reading the values and the steps before it: a mean that the deviation then reads.
/// </param>
/// <param name="Outputs">One SQL expression per <see cref="IndicatorKind.Outputs"/>, reading the values and the steps; NULL where undefined.</param>
public sealed record IndicatorSql(int Rows, IReadOnlyList<(string Name, string Sql)> Steps, IReadOnlyList<string> Outputs);

/// <summary>What one indicator keeps for one symbol between bars.</summary>
public abstract class IndicatorState
{
    /// <summary>
    /// Takes the next bar on which the indicator's input <paramref name="x"/> is defined and writes its values
    /// (NaN where undefined, e.g. during warm-up) to <paramref name="values"/>, one per <see cref="IndicatorKind.Outputs"/>.
    /// </summary>
    public abstract void Update(double x, Bar bar, Span<double> values);

    public abstract void Write(BinaryWriter writer);

    /// <summary>Reads what <see cref="Write"/> wrote into this fresh state.</summary>
    /// <exception cref="InvalidDataException">The bytes are not this indicator's state.</exception>
    public abstract void Read(BinaryReader reader);
}

/// <summary>The last N values of a series, oldest first; the windowed indicators' state.</summary>
internal sealed class ValueRing(int capacity)
{
    private readonly double[] _values = new double[capacity];
    private int _next;

    public int Count { get; private set; }

    public int Capacity => _values.Length;

    public bool Full => Count == _values.Length;

    /// <summary>The k-th value, oldest first.</summary>
    public double this[int k] => _values[(Full ? _next + k : k) % _values.Length];

    public void Add(double value)
    {
        _values[_next] = value;
        _next = (_next + 1) % _values.Length;
        Count = Math.Min(Count + 1, _values.Length);
    }

    /// <summary>Mean of the values, summed oldest first.</summary>
    public double Mean()
    {
        var sum = 0.0;
        for (var k = 0; k < Count; k++)
        {
            sum += this[k];
        }

        return sum / Count;
    }

    /// <summary>Population standard deviation around <paramref name="mean"/>: √(Σ(x − mean)² / n), summed oldest first.</summary>
    public double Deviation(double mean)
    {
        var sum = 0.0;
        for (var k = 0; k < Count; k++)
        {
            var d = this[k] - mean;
            sum += d * d;
        }

        return Math.Sqrt(sum / Count);
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        for (var k = 0; k < Count; k++)
        {
            writer.Write(this[k]);
        }
    }

    public void Read(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > _values.Length)
        {
            throw new InvalidDataException($"an indicator's history holds {count} values; its period allows 0 to {_values.Length}");
        }

        for (var k = 0; k < count; k++)
        {
            Add(reader.ReadDouble());
        }
    }
}

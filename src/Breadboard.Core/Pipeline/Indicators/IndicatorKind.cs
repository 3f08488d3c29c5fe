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

    /// <summary>The bar columns it reads itself, beyond its <c>of</c>; the pipeline must emit them.</summary>
    public virtual IReadOnlyList<BarField> Reads { get; } = [];

    /// <summary>The fields of the pipeline file's mapping beyond <c>name</c>, <c>type</c> and <c>window</c>.</summary>
    public IReadOnlyList<string> Fields => TakesK ? ["of", "period", "k"] : TakesOf ? ["of", "period"] : ["period"];

    /// <summary>What its values are measured in, given what its <c>of</c> is measured in.</summary>
    public abstract ValueUnit Unit(ValueUnit input);

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

    public override string ToString() => Name;
}

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

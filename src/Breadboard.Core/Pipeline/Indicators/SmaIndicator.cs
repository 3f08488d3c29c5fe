using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary><c>type: sma</c>: the mean of the last N values including this bar's; undefined before N bars.</summary>
public sealed class SmaIndicator : IndicatorKind
{
    private SmaIndicator()
        : base("sma")
    {
    }

    public static SmaIndicator Instance { get; } = new();

    public override ValueUnit Unit(ValueUnit input) => input;

    public override IndicatorState CreateState(IndicatorDefinition indicator) => new State(indicator?.Period ?? 1);

    public override string? SqlRefusal(IndicatorDefinition indicator) => SqlPeriodRefusal(indicator);

    public override IndicatorSql ToSql(IndicatorDefinition indicator, string values, Func<string, string> column)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        var n = indicator.Period;
        return new(n, [], [string.Create(CultureInfo.InvariantCulture, $"{SqlSum(values, n)} / {n}")]);
    }

    private sealed class State(int period) : IndicatorState
    {
        private readonly ValueRing _ring = new(period);

        public override void Update(double x, Bar bar, Span<double> values)
        {
            _ring.Add(x);
            values[0] = _ring.Full ? _ring.Mean() : double.NaN;
        }

        public override void Write(BinaryWriter writer) => _ring.Write(writer);

        public override void Read(BinaryReader reader) => _ring.Read(reader);
    }
}

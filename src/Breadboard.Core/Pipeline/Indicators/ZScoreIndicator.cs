using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// <c>type: zscore</c>: (x − mean of the N previous values) / their population standard deviation; undefined with
/// fewer than N previous values or a deviation of 0.
/// </summary>
public sealed class ZScoreIndicator : IndicatorKind
{
    private ZScoreIndicator()
        : base("zscore")
    {
    }

    public static ZScoreIndicator Instance { get; } = new();

    public override ValueUnit Unit(ValueUnit input) => ValueUnit.Sigma;

    // The N previous bars, and the bar itself.
    public override long WarmupBars(IndicatorDefinition indicator) => (indicator?.Period ?? 1) + 1L;

    public override IndicatorState CreateState(IndicatorDefinition indicator) => new State(indicator?.Period ?? 1);

    public override string? SqlRefusal(IndicatorDefinition indicator) => SqlPeriodRefusal(indicator);

    /// <remarks>The window holds the N previous values and this bar's, the last: N + 1 rows.</remarks>
    public override IndicatorSql ToSql(IndicatorDefinition indicator, string values, Func<string, string> column)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(column);
        var n = indicator.Period;
        var mean = column("mean");
        var deviation = column("deviation");
        return new(
            n + 1,
            [("mean", string.Create(CultureInfo.InvariantCulture, $"{SqlSum(values, n)} / {n}")), ("deviation", SqlDeviation(values, n, mean))],
            [string.Create(CultureInfo.InvariantCulture, $"CASE WHEN {deviation} <> 0 THEN ({values}[{n + 1}] - {mean}) / {deviation} END")]);
    }

    private sealed class State(int period) : IndicatorState
    {
        private readonly ValueRing _previous = new(period);

        public override void Update(double x, Bar bar, Span<double> values)
        {
            values[0] = double.NaN;
            if (_previous.Full)
            {
                var mean = _previous.Mean();
                var deviation = _previous.Deviation(mean);
                if (deviation != 0)
                {
                    values[0] = (x - mean) / deviation;
                }
            }

            _previous.Add(x);
        }

        public override void Write(BinaryWriter writer) => _previous.Write(writer);

        public override void Read(BinaryReader reader) => _previous.Read(reader);
    }
}

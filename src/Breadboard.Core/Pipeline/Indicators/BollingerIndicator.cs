using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// <c>type: bollinger</c>: middle = the SMA of the last N values; upper and lower = middle ± k × the population
/// standard deviation of the same N values. Rules read <c>name.upper</c>, <c>name.middle</c>, <c>name.lower</c>.
/// </summary>
public sealed class BollingerIndicator : IndicatorKind
{
    /// <summary>Widest band allowed, in standard deviations.</summary>
    public const double MaxK = 1_000;

    private BollingerIndicator()
        : base("bollinger")
    {
    }

    public static BollingerIndicator Instance { get; } = new();

    public override IReadOnlyList<string> Outputs { get; } = ["upper", "middle", "lower"];

    public override bool TakesK => true;

    public override ValueUnit Unit(ValueUnit input) => input;

    public override IndicatorState CreateState(IndicatorDefinition indicator) =>
        new State(indicator?.Period ?? 1, indicator?.K ?? 2);

    public override string? SqlRefusal(IndicatorDefinition indicator) => SqlPeriodRefusal(indicator);

    /// <remarks>upper = middle + k·deviation, as the state computes it: k times the deviation, then added.</remarks>
    public override IndicatorSql ToSql(IndicatorDefinition indicator, string values, Func<string, string> column)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(column);
        var n = indicator.Period;
        var mean = column("mean");
        var deviation = column("deviation");
        var k = SqlText.Number(indicator.K);
        return new(
            n,
            [("mean", string.Create(CultureInfo.InvariantCulture, $"{SqlSum(values, n)} / {n}")), ("deviation", SqlDeviation(values, n, mean))],
            [$"{mean} + {k} * {deviation}", mean, $"{mean} - {k} * {deviation}"]);
    }

    private sealed class State(int period, double k) : IndicatorState
    {
        private readonly ValueRing _ring = new(period);

        public override void Update(double x, Bar bar, Span<double> values)
        {
            _ring.Add(x);
            if (!_ring.Full)
            {
                values[0] = values[1] = values[2] = double.NaN;
                return;
            }

            var middle = _ring.Mean();
            var width = k * _ring.Deviation(middle);
            values[0] = middle + width;
            values[1] = middle;
            values[2] = middle - width;
        }

        public override void Write(BinaryWriter writer) => _ring.Write(writer);

        public override void Read(BinaryReader reader) => _ring.Read(reader);
    }
}

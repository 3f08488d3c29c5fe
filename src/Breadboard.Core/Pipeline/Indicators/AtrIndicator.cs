using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// <c>type: atr</c>, Wilder's: true range = max(high − low, |high − previous close|, |low − previous close|), high −
/// low on the first bar; the first ATR (at the N-th bar) is the mean of the first N true ranges, then (previous·(N −
/// 1) + TR) / N.
/// </summary>
public sealed class AtrIndicator : IndicatorKind
{
    private AtrIndicator()
        : base("atr")
    {
    }

    public static AtrIndicator Instance { get; } = new();

    public override bool TakesOf => false;

    public override bool IsLevel => false;

    public override IReadOnlyList<BarField> Reads { get; } = [BarField.High, BarField.Low, BarField.Close];

    public override ValueUnit Unit(ValueUnit input) => ValueUnit.Price;

    // The seed's weight after k more bars is (1 − 1/N)^k, below e^−20 after 20·N.
    public override long WarmupBars(IndicatorDefinition indicator) => (indicator?.Period ?? 1) * 21L;

    public override IndicatorState CreateState(IndicatorDefinition indicator) => new State(indicator?.Period ?? 1);

    public override string? SqlRefusal(IndicatorDefinition indicator) =>
        "atr is Wilder-smoothed (recursive over every bar before it), which append-only Flink SQL cannot express";

    private sealed class State(int period) : IndicatorState
    {
        private long _count;
        private double _previousClose;
        private double _atr;

        public override void Update(double x, Bar bar, Span<double> values)
        {
            var range = bar.High - bar.Low;
            if (_count > 0)
            {
                range = Math.Max(range, Math.Max(Math.Abs(bar.High - _previousClose), Math.Abs(bar.Low - _previousClose)));
            }

            _previousClose = bar.Close;
            _count++;
            if (_count < period)
            {
                _atr += range; // the sum of the first N−1 true ranges
                values[0] = double.NaN;
                return;
            }

            _atr = _count == period ? (_atr + range) / period : ((_atr * (period - 1)) + range) / period;
            values[0] = _atr;
        }

        public override void Write(BinaryWriter writer)
        {
            writer.Write(_count);
            writer.Write(_previousClose);
            writer.Write(_atr);
        }

        public override void Read(BinaryReader reader)
        {
            _count = reader.ReadInt64();
            _previousClose = reader.ReadDouble();
            _atr = reader.ReadDouble();
        }
    }
}

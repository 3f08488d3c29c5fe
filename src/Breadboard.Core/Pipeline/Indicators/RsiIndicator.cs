using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// <c>type: rsi</c>, Wilder's: over the changes d = x_i − x_{i−1}, the average gain and loss at the (N+1)-th bar are
/// the plain means of the first N gains and losses, then (previous·(N − 1) + current) / N; RSI = 100 − 100 / (1 +
/// gain / loss), 100 when loss = 0 &lt; gain, 50 when both are 0.
/// </summary>
public sealed class RsiIndicator : IndicatorKind
{
    private RsiIndicator()
        : base("rsi")
    {
    }

    public static RsiIndicator Instance { get; } = new();

    public override ValueUnit Unit(ValueUnit input) => ValueUnit.Index;

    // The seed's weight after k more bars is (1 − 1/N)^k, below e^−20 after 20·N; the first value needs N + 1 bars.
    public override long WarmupBars(IndicatorDefinition indicator) => ((indicator?.Period ?? 1) * 21L) + 1;

    public override IndicatorState CreateState(IndicatorDefinition indicator) => new State(indicator?.Period ?? 1);

    public override string? SqlRefusal(IndicatorDefinition indicator) =>
        "rsi is Wilder-smoothed (recursive over every bar before it), which append-only Flink SQL cannot express";

    private sealed class State(int period) : IndicatorState
    {
        private long _count;
        private double _previous;
        private double _gain;
        private double _loss;

        public override void Update(double x, Bar bar, Span<double> values)
        {
            _count++;
            if (_count == 1)
            {
                _previous = x;
                values[0] = double.NaN;
                return;
            }

            var d = x - _previous;
            _previous = x;
            var gain = d > 0 ? d : 0;
            var loss = d < 0 ? -d : 0;
            var changes = _count - 1;
            if (changes < period)
            {
                // Sums of the first N−1 changes; the N-th turns them into means.
                _gain += gain;
                _loss += loss;
                values[0] = double.NaN;
                return;
            }

            if (changes == period)
            {
                _gain = (_gain + gain) / period;
                _loss = (_loss + loss) / period;
            }
            else
            {
                _gain = ((_gain * (period - 1)) + gain) / period;
                _loss = ((_loss * (period - 1)) + loss) / period;
            }

            values[0] = _loss == 0 ? (_gain > 0 ? 100 : 50) : 100 - (100 / (1 + (_gain / _loss)));
        }

        public override void Write(BinaryWriter writer)
        {
            writer.Write(_count);
            writer.Write(_previous);
            writer.Write(_gain);
            writer.Write(_loss);
        }

        public override void Read(BinaryReader reader)
        {
            _count = reader.ReadInt64();
            _previous = reader.ReadDouble();
            _gain = reader.ReadDouble();
            _loss = reader.ReadDouble();
        }
    }
}

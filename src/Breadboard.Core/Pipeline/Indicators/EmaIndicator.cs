using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// <c>type: ema</c>: α = 2 / (N + 1); undefined for the first N − 1 bars; at the N-th bar the SMA of the first N;
/// then α·x + (1 − α)·previous.
/// </summary>
public sealed class EmaIndicator : IndicatorKind
{
    private EmaIndicator()
        : base("ema")
    {
    }

    public static EmaIndicator Instance { get; } = new();

    public override ValueUnit Unit(ValueUnit input) => input;

    // The seed's weight after k more bars is ((N − 1) / (N + 1))^k, below e^−20 after 10·N.
    public override long WarmupBars(IndicatorDefinition indicator) => (indicator?.Period ?? 1) * 11L;

    public override IndicatorState CreateState(IndicatorDefinition indicator) => new State(indicator?.Period ?? 1);

    public override string? SqlRefusal(IndicatorDefinition indicator) =>
        "ema is recursive (each value depends on every bar before it), which append-only Flink SQL cannot express";

    private sealed class State(int period) : IndicatorState
    {
        private readonly double _alpha = 2.0 / (period + 1);
        private long _count;
        private double _sum;
        private double _ema;

        public override void Update(double x, Bar bar, Span<double> values)
        {
            _count++;
            if (_count < period)
            {
                _sum += x;
                values[0] = double.NaN;
                return;
            }

            if (_count == period)
            {
                _sum += x;
                _ema = _sum / period;
            }
            else
            {
                _ema = (_alpha * x) + ((1 - _alpha) * _ema);
            }

            values[0] = _ema;
        }

        public override void Write(BinaryWriter writer)
        {
            writer.Write(_count);
            writer.Write(_sum);
            writer.Write(_ema);
        }

        public override void Read(BinaryReader reader)
        {
            _count = reader.ReadInt64();
            _sum = reader.ReadDouble();
            _ema = reader.ReadDouble();
        }
    }
}

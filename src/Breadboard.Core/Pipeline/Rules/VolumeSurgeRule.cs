using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Rules;

/// <summary>
/// <c>type: volume_surge</c>: fires when a closed bar's volume is at least <c>factor</c> × the mean volume of the
/// symbol's previous <c>lookback</c> bars of the window (bars that exist: minutes without trades are skipped).
/// </summary>
/// <remarks>Keeps the previous <c>lookback</c> volumes per symbol, in the checkpoint too; no alert until they are all there.</remarks>
public sealed class VolumeSurgeRule : RuleKind
{
    /// <summary>Most previous bars a rule may average; Flink's OVER windows take at most 9999 rows before the current one.</summary>
    public const int MaxLookback = 10_000;

    private VolumeSurgeRule()
        : base("volume_surge", "VolumeSurge")
    {
    }

    public static VolumeSurgeRule Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["factor", "lookback"];

    public override string Unit(RuleDefinition rule) => "factor";

    public override RuleDefinition Parse(PipelineMapping mapping, string name, string window)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var factor = mapping.Number("factor");
        if (factor <= 0)
        {
            mapping.Error("factor", "must be greater than 0");
        }

        var lookback = (int)mapping.Number("lookback");
        if (lookback is < 1 or > MaxLookback || mapping.NumberOrZero("lookback") % 1 != 0)
        {
            mapping.Error("lookback", "must be a whole number of bars from 1 to 10000");
        }

        if (!mapping.Emits(Aggregate.Volume))
        {
            mapping.Error(null, "a volume_surge rule needs the volume aggregate");
        }

        return RuleDefinition.VolumeSurge(name, window, factor, Math.Max(lookback, 1));
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        yield return ("factor", PipelineMapping.FormatNumber(rule.Threshold));
        yield return ("lookback", rule.Lookback.ToString(CultureInfo.InvariantCulture));
    }

    public override bool Evaluate(RuleDefinition rule, Bar bar, ReadOnlySpan<double> indicators, ref RuleState? state, out double value, out double threshold)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(bar);
        threshold = rule.Threshold;
        var history = (VolumeHistory)(state ??= new VolumeHistory(rule.Lookback));
        var full = history.Count == history.Capacity;
        var mean = full ? history.Mean() : 0;
        history.Add(bar.Volume);
        if (!full || mean <= 0)
        {
            value = 0;
            return false; // no alert until the lookback is full; a zero mean gives no meaningful multiple
        }

        value = bar.Volume / mean;
        return Meets(rule, value);
    }

    /// <summary>The past volumes mean the same under any factor: a changed factor keeps them, a changed lookback does not.</summary>
    public override bool KeepsState(RuleDefinition running, RuleDefinition proposed)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(proposed);
        return proposed.Kind == this && running.Kind == this && running.Window == proposed.Window && running.Lookback == proposed.Lookback;
    }

    // Count, then the volumes oldest first; -1 for a symbol that has had no bar of the window yet.
    public override void WriteState(BinaryWriter writer, RuleState? state)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (state is not VolumeHistory history)
        {
            writer.Write(-1);
            return;
        }

        writer.Write(history.Count);
        foreach (var v in history.OldestFirst())
        {
            writer.Write(v);
        }
    }

    public override RuleState? ReadState(BinaryReader reader, RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(rule);
        var count = reader.ReadInt32();
        if (count < 0)
        {
            return null;
        }

        var history = new VolumeHistory(rule.Lookback);
        for (var v = 0; v < count; v++)
        {
            history.Add(reader.ReadDouble());
        }

        return history;
    }

    public override string FormatValue(RuleDefinition rule, double value, bool withUnit) =>
        value.ToString("0.0", CultureInfo.InvariantCulture) + (withUnit ? "\u00d7 mean volume" : "\u00d7");

    public override string Describe(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return string.Create(CultureInfo.InvariantCulture, $"volume >= {FormatValue(rule, rule.Threshold, withUnit: false)} the mean of the previous {rule.Lookback} bars");
    }

    public override string? SqlRefusal(RuleDefinition rule) =>
        rule?.Lookback is >= 1 and < MaxLookback ? null : $"volume_surge lookback {rule?.Lookback} (Flink OVER windows: 1..9999 rows)";

    public override RuleSql ToSql(RuleDefinition rule, string bars)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var threshold = PipelineMapping.FormatNumber(rule.Threshold);
        var lookback = rule.Lookback.ToString(CultureInfo.InvariantCulture);
        var rows = (rule.Lookback + 1).ToString(CultureInfo.InvariantCulture);

        // Flink OVER windows end at the current row, so the previous bars' sum is the window's sum minus this bar.
        return new(
            $"volume >= {threshold} x the mean of the previous {lookback} bars",
            $"""
            SELECT `symbol`, `window_start`, `window_end`,
              `volume` / ((`sum_volume` - `volume`) / {lookback}) AS `value`
            FROM (
              SELECT `symbol`, `window_start`, `window_end`, `volume`,
                SUM(`volume`) OVER w AS `sum_volume`,
                COUNT(*) OVER w AS `bars`
              FROM {bars}
              WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN {lookback} PRECEDING AND CURRENT ROW)
            )
            WHERE `bars` = {rows} AND `sum_volume` - `volume` > 0
            """,
            $">= {threshold}");
    }

    /// <summary>The volumes of a symbol's last N bars of one window, oldest first.</summary>
    internal sealed class VolumeHistory(int capacity) : RuleState
    {
        private readonly double[] _values = new double[capacity];
        private int _next;

        public int Count { get; private set; }

        public int Capacity => _values.Length;

        public void Add(double volume)
        {
            _values[_next] = volume;
            _next = (_next + 1) % _values.Length;
            Count = Math.Min(Count + 1, _values.Length);
        }

        /// <summary>Mean of the held volumes, summed oldest first so the result does not depend on where the ring starts.</summary>
        public double Mean()
        {
            var sum = 0.0;
            var start = Count < _values.Length ? 0 : _next;
            for (var k = 0; k < Count; k++)
            {
                sum += _values[(start + k) % _values.Length];
            }

            return sum / Count;
        }

        public IEnumerable<double> OldestFirst()
        {
            var start = Count < _values.Length ? 0 : _next;
            for (var k = 0; k < Count; k++)
            {
                yield return _values[(start + k) % _values.Length];
            }
        }
    }
}

using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Rules;

/// <summary>
/// <c>type: price_change</c>: fires when a closed bar's <c>(close − open) / open · 100</c> is at most (<c>op: "&lt;="</c>)
/// or at least (<c>op: "&gt;="</c>) <c>threshold_percent</c>.
/// </summary>
public sealed class PriceChangeRule : RuleKind
{
    private PriceChangeRule()
        : base("price_change", "PriceChange")
    {
    }

    public static PriceChangeRule Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["op", "threshold_percent"];

    public override string Unit(RuleDefinition rule) => "percent";

    public override RuleDefinition Parse(PipelineMapping mapping, string name, string window)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var op = mapping.Text("op");
        var cmp = op switch
        {
            "<=" => ComparisonOp.LessOrEqual,
            ">=" => ComparisonOp.GreaterOrEqual,
            _ => (ComparisonOp?)null,
        };
        if (cmp is null)
        {
            mapping.Error("op", $"must be \"<=\" or \">=\" (got '{PipelineMapping.Quote(op)}')");
        }

        var threshold = mapping.Number("threshold_percent");
        if (!mapping.Emits(Aggregate.Open) || !mapping.Emits(Aggregate.Close))
        {
            mapping.Error(null, "a price_change rule needs the open and close aggregates");
        }

        return RuleDefinition.PriceChange(name, window, cmp ?? ComparisonOp.LessOrEqual, threshold);
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        yield return ("op", rule.Op == ComparisonOp.LessOrEqual ? "\"<=\"" : "\">=\"");
        yield return ("threshold_percent", PipelineMapping.FormatNumber(rule.Threshold));
    }

    public override bool Evaluate(RuleDefinition rule, Bar bar, ReadOnlySpan<double> indicators, ref RuleState? state, out double value, out double threshold)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(bar);
        threshold = rule.Threshold;
        if (bar.Open == 0)
        {
            value = 0;
            return false;
        }

        value = (bar.Close - bar.Open) / bar.Open * 100;
        return Meets(rule, value);
    }

    // U+2212 (minus) rather than a hyphen: it reads as a sign and does not wrap away from the number.
    public override string FormatValue(RuleDefinition rule, double value, bool withUnit) =>
        value.ToString("+0.0;\u22120.0;0.0", CultureInfo.InvariantCulture) + "%";

    public override string? SqlRefusal(RuleDefinition rule) => null;

    public override RuleSql ToSql(RuleDefinition rule, string bars)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var op = rule.Op == ComparisonOp.LessOrEqual ? "<=" : ">=";
        var threshold = PipelineMapping.FormatNumber(rule.Threshold);
        return new(
            $"(close - open) / open * 100 {op} {threshold}",
            $"""
            SELECT `symbol`, `window_start`, `window_end`, (`close` - `open`) / `open` * 100 AS `value`
            FROM {bars}
            """,
            $"{op} {threshold}");
    }
}

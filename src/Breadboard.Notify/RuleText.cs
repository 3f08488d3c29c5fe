using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Notify;

/// <summary>How a rule and its alerts' values are said to people: by the notifications and the dashboard's rules panel alike.</summary>
public static class RuleText
{
    /// <summary>
    /// What the rule tests: its <c>when</c> for an expression rule (<c>rsi14 &gt; 70 for 3 bars</c>, from
    /// <see cref="RuleKind.Describe"/>), <c>price_change &lt;= −5.0%</c> or
    /// <c>volume &gt;= 5.0× the mean of the previous 20 bars</c> for the shipped kinds.
    /// </summary>
    public static string Describe(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return rule.Kind.Describe(rule);
    }

    /// <summary>
    /// A value or threshold of <paramref name="rule"/>'s alerts in the rule's unit (<c>−5.2%</c>, <c>101.25</c>);
    /// <c>undefined</c> for NaN, which an expression's operand is while its indicator warms up.
    /// </summary>
    /// <param name="rule">The rule, or null when the pipeline at hand does not define it: then the bare number.</param>
    /// <param name="withUnit">False for a threshold shown beside its value, where the short unit reads better.</param>
    public static string Format(RuleDefinition? rule, double value, bool withUnit)
    {
        if (double.IsNaN(value))
        {
            return "undefined";
        }

        return rule is null ? value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : rule.Kind.FormatValue(rule, value, withUnit);
    }

    /// <summary>
    /// An expression rule's alert in one line: <c>crosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9</c>,
    /// its condition then the first comparison's left operand with its value and the right operand's value. Null
    /// for the other kinds, whose value and threshold say it all.
    /// </summary>
    public static string? Condition(RuleDefinition? rule, Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (rule?.Settings is not ExpressionSettings settings)
        {
            return null;
        }

        var first = settings.Program.First;
        return $"{Describe(rule)}: {first.Left} {Format(rule, alert.Value, withUnit: true)} vs {Format(rule, alert.Threshold, withUnit: false)}";
    }

    /// <summary>The rule named <paramref name="name"/> among <paramref name="rules"/>; null when none is.</summary>
    public static RuleDefinition? Find(IReadOnlyList<RuleDefinition> rules, string name)
    {
        ArgumentNullException.ThrowIfNull(rules);
        foreach (var rule in rules)
        {
            if (rule.Name == name)
            {
                return rule;
            }
        }

        return null;
    }
}

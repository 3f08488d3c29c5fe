using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Notify.Channels;

/// <summary>The human wording of alerts, shared by email and Slack so both say the same thing.</summary>
internal static class AlertText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// <c>price_drop BTC-USD −5.2% (5m)</c> for one alert;
    /// <c>golden_cross BTC-USD (1m): crosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9</c> for one of an
    /// expression rule; <c>price_drop on 3 symbols</c> for a group.
    /// </summary>
    public static string Title(Notification notification)
    {
        var alerts = notification.Alerts;
        if (alerts.Count == 1)
        {
            var a = alerts[0];
            return Condition(notification, a) is { } condition
                ? $"{a.Rule} {a.Symbol} ({a.Window}): {condition}"
                : $"{a.Rule} {a.Symbol} {Value(notification, a)} ({a.Window})";
        }

        var rules = string.Join(", ", alerts.Select(a => a.Rule).Distinct(StringComparer.Ordinal));
        var symbols = alerts.Select(a => a.Symbol).Distinct(StringComparer.Ordinal).ToList();
        return symbols.Count == 1
            ? string.Create(Inv, $"{rules} {symbols[0]}: {alerts.Count} alerts")
            : string.Create(Inv, $"{rules} on {symbols.Count} symbols");
    }

    /// <summary>The e-mail subject; also Slack's notification text.</summary>
    public static string Subject(Notification notification) =>
        (notification.Reminder ? "Reminder: " : "") + "[Breadboard] " + Title(notification);

    /// <summary>What the rule measured, in its unit: <c>−5.2%</c>, <c>+6.1%</c>, <c>6.3× mean volume</c>, <c>101.25</c>; <c>undefined</c> for NaN.</summary>
    public static string Value(Notification notification, Alert alert) => RuleText.Format(Rule(notification, alert), alert.Value, withUnit: true);

    /// <summary>The rule's threshold in the same unit: <c>−5.0%</c>, <c>5.0×</c>; <c>undefined</c> for NaN.</summary>
    public static string Threshold(Notification notification, Alert alert) => RuleText.Format(Rule(notification, alert), alert.Threshold, withUnit: false);

    /// <summary>The value with what it is the value of, for an expression rule (<c>sma_fast 101.25</c>); else as <see cref="Value"/>.</summary>
    public static string Operand(Notification notification, Alert alert) =>
        Rule(notification, alert)?.Settings is ExpressionSettings settings
            ? $"{settings.Program.First.Left} {Value(notification, alert)}"
            : Value(notification, alert);

    /// <summary>
    /// For an expression rule's alert, its condition and operands: <c>rsi14 &gt; 70 for 3 bars: rsi14 74.2 vs 70.0</c>;
    /// null for the other kinds (and for a rule the notifier's pipeline does not define).
    /// </summary>
    public static string? Condition(Notification notification, Alert alert) => RuleText.Condition(Rule(notification, alert), alert);

    /// <summary>What the rules of these alerts test, one line per rule: <c>golden_cross: crosses_above(sma_fast, sma_slow)</c>.</summary>
    public static IEnumerable<string> Rules(Notification notification)
    {
        foreach (var name in notification.Alerts.Select(a => a.Rule).Distinct(StringComparer.Ordinal))
        {
            if (RuleText.Find(notification.Rules, name) is { } rule)
            {
                yield return $"{name}: {RuleText.Describe(rule)}";
            }
        }
    }

    public static string Reminder => "Reminder: the rule is still firing for these symbols; an earlier notification already reported it.";

    /// <summary>The alert's rule in the notifier's pipeline; null when it defines none of that name (then values have no known unit).</summary>
    private static RuleDefinition? Rule(Notification notification, Alert alert) => RuleText.Find(notification.Rules, alert.Rule);
}

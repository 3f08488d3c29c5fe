using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Notify.Channels;

/// <summary>The human wording of alerts, shared by email and Slack so both say the same thing.</summary>
internal static class AlertText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary><c>price_drop BTC-USD −5.2% (5m)</c> for one alert, <c>price_drop on 3 symbols</c> for a group.</summary>
    public static string Title(Notification notification)
    {
        var alerts = notification.Alerts;
        if (alerts.Count == 1)
        {
            var a = alerts[0];
            return $"{a.Rule} {a.Symbol} {Value(notification, a)} ({a.Window})";
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

    /// <summary>What the rule measured, in its unit: <c>−5.2%</c>, <c>+6.1%</c>, <c>6.3× mean volume</c>.</summary>
    public static string Value(Notification notification, Alert alert) => Measure(notification, alert.Rule, alert.Value, withUnit: true);

    /// <summary>The rule's threshold in the same unit: <c>−5.0%</c>, <c>5.0×</c>.</summary>
    public static string Threshold(Notification notification, Alert alert) => Measure(notification, alert.Rule, alert.Threshold, withUnit: false);

    public static string Reminder => "Reminder: the rule is still firing for these symbols; an earlier notification already reported it.";

    /// <summary>The value as the rule's kind words it; a rule the notifier's pipeline does not define has no known unit.</summary>
    private static string Measure(Notification notification, string rule, double value, bool withUnit)
    {
        foreach (var r in notification.Rules)
        {
            if (r.Name == rule)
            {
                return r.Kind.FormatValue(r, value, withUnit);
            }
        }

        return value.ToString("G6", Inv);
    }
}

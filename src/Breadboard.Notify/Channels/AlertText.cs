using System.Globalization;
using Breadboard.Core.Model;

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
            return $"{a.Rule} {a.Symbol} {Value(a)} ({a.Window})";
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
    public static string Value(Alert alert) => Measure(alert.Rule, alert.Value, withUnit: true);

    /// <summary>The rule's threshold in the same unit: <c>−5.0%</c>, <c>5.0×</c>.</summary>
    public static string Threshold(Alert alert) => Measure(alert.Rule, alert.Threshold, withUnit: false);

    public static string Reminder => "Reminder: the rule is still firing for these symbols; an earlier notification already reported it.";

    private static string Measure(string rule, double value, bool withUnit) => rule switch
    {
        // U+2212 (minus) rather than a hyphen: it reads as a sign and does not wrap away from the number.
        "price_drop" or "price_spike" => value.ToString("+0.0;\u22120.0;0.0", Inv) + "%",
        "volume_surge" => value.ToString("0.0", Inv) + (withUnit ? "\u00d7 mean volume" : "\u00d7"),
        _ => value.ToString("G6", Inv),
    };
}

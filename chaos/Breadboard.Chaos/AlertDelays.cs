using System.Globalization;
using System.Text.RegularExpressions;

namespace Breadboard.Chaos;

/// <summary>
/// Reads the processors' <c>breadboard_freshness_alert_seconds</c> histograms from their <c>/metrics</c> and gives
/// the mean delay of the alerts since the last reading; a restarted processor's counters start again from zero.
/// </summary>
internal sealed partial class AlertDelays
{
    private readonly Dictionary<(int Member, string Stage, string Kind), double> _last = [];
    private readonly Dictionary<(string Stage, string Kind), double> _interval = [];

    public void Read(int member, string metrics)
    {
        foreach (Match match in Line().Matches(metrics))
        {
            var (stage, kind) = (match.Groups["stage"].Value, match.Groups["kind"].Value);
            var value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            var delta = value - _last.GetValueOrDefault((member, stage, kind));
            _last[(member, stage, kind)] = value;
            _interval[(stage, kind)] = _interval.GetValueOrDefault((stage, kind)) + (delta < 0 ? value : delta); // < 0: it started again
        }
    }

    /// <summary>Mean milliseconds to the store and to NATS over the alerts since the last call; null when none.</summary>
    public (double? Store, double? Nats) TakeIntervalMeans()
    {
        double? Mean(string stage) => _interval.GetValueOrDefault((stage, "count")) is > 0 and var count ? _interval.GetValueOrDefault((stage, "sum")) / count * 1000 : null;
        var result = (Mean("store"), Mean("nats"));
        _interval.Clear();
        return result;
    }

    [GeneratedRegex("""^breadboard_freshness_alert_seconds_(?<kind>sum|count)\{[^}]*stage="(?<stage>[a-z]+)"[^}]*\} (?<value>[0-9.eE+-]+)""", RegexOptions.Multiline)]
    private static partial Regex Line();
}

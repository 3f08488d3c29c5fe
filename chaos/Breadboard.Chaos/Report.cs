using System.Globalization;
using System.Net;
using System.Text;

namespace Breadboard.Chaos;

/// <summary>What the run sampled every second, written beside it as CSV and as an HTML page of plots.</summary>
internal sealed class Report(IReadOnlyList<string> members)
{
    private readonly List<(double Seconds, double?[] Rss, double? LagSeconds, double? AlertToStoreMs, double? AlertToNatsMs)> _samples = [];
    private readonly List<(double Seconds, string What)> _events = [];

    public IReadOnlyList<string> Members => members;

    /// <param name="alertToStoreMs">Mean delay, over the alerts of the last second, from window close to the store (the processors' freshness histograms).</param>
    public void Sample(double seconds, double?[] rss, double? lagSeconds, double? alertToStoreMs, double? alertToNatsMs)
    {
        lock (_samples)
        {
            _samples.Add((seconds, rss, lagSeconds, alertToStoreMs, alertToNatsMs));
        }
    }

    public void Event(double seconds, string what)
    {
        lock (_samples)
        {
            _events.Add((seconds, what));
        }
    }

    private double? _endOfLoad;

    /// <summary>Marks the end of the faults and the load: spans for <see cref="Median"/> are fractions of the run up to here.</summary>
    public void EndOfLoad(double seconds) => _endOfLoad = seconds;

    /// <summary>Peak resident memory per member, in MB.</summary>
    public double Peak(int member) => _samples.Select(s => s.Rss[member] ?? 0).DefaultIfEmpty(0).Max();

    /// <summary>A member's median memory over a span of the loaded run (fractions of it), for a growth check.</summary>
    public double Median(int member, double from, double to)
    {
        if (_samples.Count == 0)
        {
            return 0;
        }

        var end = _endOfLoad ?? _samples[^1].Seconds;
        var values = _samples.Where(s => s.Seconds >= from * end && s.Seconds <= to * end && s.Rss[member] is not null).Select(s => s.Rss[member]!.Value).Order().ToList();
        return values.Count == 0 ? 0 : values[values.Count / 2];
    }

    public double MaxLag => _samples.Select(s => s.LagSeconds ?? 0).DefaultIfEmpty(0).Max();

    public double MaxAlertToNatsMs => _samples.Select(s => s.AlertToNatsMs ?? 0).DefaultIfEmpty(0).Max();

    public void Write(string directory)
    {
        var csv = new StringBuilder("seconds," + string.Join(',', members.Select(m => $"{m}_rss_mb")) + ",bus_lag_s,alert_to_store_ms,alert_to_nats_ms\n");
        foreach (var s in _samples)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{s.Seconds:F1},{string.Join(',', s.Rss.Select(Number))},{Number(s.LagSeconds)},{Number(s.AlertToStoreMs)},{Number(s.AlertToNatsMs)}\n");
        }

        File.WriteAllText(Path.Combine(directory, "samples.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(directory, "faults.csv"), "seconds,fault\n" + string.Concat(_events.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Seconds:F1},\"{e.What}\"\n"))));
        File.WriteAllText(Path.Combine(directory, "report.html"), Html());
    }

    private static string Number(double? value) => value is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "";

    private string Html()
    {
        var end = Math.Max(1, _samples.Count == 0 ? 1 : _samples[^1].Seconds);
        var html = new StringBuilder("<!doctype html><meta charset=utf-8><title>breadboard chaos run</title><style>body{font:14px sans-serif;margin:2em}svg{background:#fafafa;border:1px solid #ddd}</style><h1>Chaos run</h1>");
        html.Append("<h2>Resident memory per process (MB)</h2>");
        html.Append(Plot(end, [.. members.Select((m, i) => (m, _samples.Select(s => (s.Seconds, s.Rss[i])).ToList()))]));
        html.Append("<h2>Consumer lag (s, worst partition, from <code>api</code>)</h2>");
        html.Append(Plot(end, [("lag", _samples.Select(s => (s.Seconds, s.LagSeconds)).ToList())]));
        html.Append("<h2>Freshness: window close → alert in the store and acknowledged by NATS (ms, mean per second)</h2>");
        html.Append(Plot(end, [("store", _samples.Select(s => (s.Seconds, s.AlertToStoreMs)).ToList()), ("nats", _samples.Select(s => (s.Seconds, s.AlertToNatsMs)).ToList())]));
        html.Append("<h2>Faults</h2><ul>");
        foreach (var (seconds, what) in _events)
        {
            html.Append(CultureInfo.InvariantCulture, $"<li>{seconds:F1} s: {WebUtility.HtmlEncode(what)}</li>");
        }

        return html.Append("</ul>").ToString();
    }

    private string Plot(double end, IReadOnlyList<(string Name, List<(double X, double? Y)> Points)> series)
    {
        const int Width = 900, Height = 220;
        string[] colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];
        var top = Math.Max(1, series.SelectMany(s => s.Points).Select(p => p.Y ?? 0).DefaultIfEmpty(0).Max() * 1.1);
        var svg = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<svg width={Width} height={Height + 20} viewBox='0 0 {Width} {Height + 20}'>");
        foreach (var (seconds, _) in _events)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1={seconds / end * Width:F1} x2={seconds / end * Width:F1} y1=0 y2={Height} stroke='#ccc'/>");
        }

        for (var i = 0; i < series.Count; i++)
        {
            var points = string.Join(' ', series[i].Points.Where(p => p.Y is not null).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X / end * Width:F1},{Height - (p.Y!.Value / top * Height):F1}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=none stroke='{colours[i % colours.Length]}' points='{points}'/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x={10 + (i * 120)} y={Height + 15} fill='{colours[i % colours.Length]}'>{WebUtility.HtmlEncode(series[i].Name)}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x={Width - 120} y=14>max {top / 1.1:F1}</text>");
        return svg.Append("</svg>").ToString();
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Windows;
using Breadboard.Web.Api;
using Breadboard.Web.Live;

namespace Breadboard.Web.Reports;

/// <summary>What a backtest report shows: the pipeline that ran, what it emitted, and optionally what the running one fired on the same history.</summary>
/// <param name="Title">The page's heading, e.g. <c>backtest of proposed.yaml</c>.</param>
/// <param name="Pipeline">The proposed pipeline: its rules, indicators and windows.</param>
/// <param name="Bars">Every bar the backtest emitted, in emission order (the order the engine updated its indicators in).</param>
/// <param name="Alerts">Every alert the backtest reported.</param>
/// <param name="From">The start of the range asked for, epoch ms; null when open.</param>
/// <param name="To">The end of the range asked for, epoch ms; null when open.</param>
/// <param name="Baseline">With <c>--compare</c>: the running pipeline's alerts on the same history; null otherwise.</param>
/// <param name="Ticks">Ticks the backtest read, when known.</param>
public sealed record BacktestReportInput(
    string Title,
    PipelineDefinition Pipeline,
    IReadOnlyList<Bar> Bars,
    IReadOnlyList<Alert> Alerts,
    long? From,
    long? To,
    IReadOnlyList<Alert>? Baseline = null,
    long? Ticks = null)
{
    /// <summary>At most this many candlestick charts (symbol × window); symbols with the most alerts are drawn first.</summary>
    public int MaxCharts { get; init; } = 24;

    /// <summary>At most this many candles per chart: the latest ones. Indicator values still come from every bar.</summary>
    public int MaxBarsPerChart { get; init; } = 5_000;

    /// <summary>At most this many candles in all charts together (about 250 bytes each with indicators): each chart gets an equal share.</summary>
    public int MaxBars { get; init; } = 60_000;
}

/// <summary>
/// Writes a backtest's report: one self-contained HTML file with a summary, per rule a timeline of its firings, and
/// per symbol candlestick charts with the pipeline's indicators and alert markers, drawn by the dashboard's chart code.
/// </summary>
/// <remarks>
/// The page loads nothing: the chart library, the dashboard's stylesheet and scripts are inlined, and its
/// Content-Security-Policy allows no fetch and no script but those inlined (by hash). Symbol and rule names come from
/// user files and stored data; they reach the page only as JSON, with every <c>&lt;</c> escaped, and are written with
/// <c>textContent</c>. Charts are the rules' windows (the first window when there are no rules), at most
/// <see cref="BacktestReportInput.MaxCharts"/> of them with the latest <see cref="BacktestReportInput.MaxBarsPerChart"/>
/// candles each and <see cref="BacktestReportInput.MaxBars"/> in all; the page says what it left out.
/// </remarks>
public static class BacktestReport
{
    /// <summary>Symbols up to which every rule's timeline has a row for every symbol; beyond, only for those that fired.</summary>
    private const int AllSymbolRows = 50;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.Default };

    /// <summary>Writes the report of <paramref name="input"/> to <paramref name="output"/> as UTF-8 HTML; leaves the stream open.</summary>
    public static void Write(Stream output, BacktestReportInput input)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(input.MaxCharts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(input.MaxBarsPerChart, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(input.MaxBars, 1);

        var data = new ArrayBufferWriter<byte>(64 * 1024);
        using (var writer = new Utf8JsonWriter(data, JsonOptions))
        {
            WriteData(writer, input);
        }

        var script = ReportAssets.Script;
        var library = ReportAssets.ChartLibrary;
        var title = HtmlEncoder.Default.Encode(input.Title);
        using var html = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true) { NewLine = "\n" };
        html.Write($"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src {ReportAssets.Hash(library)} {ReportAssets.Hash(script)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="dark">
            <meta name="generator" content="breadboard backtest">
            <title>{title}</title>
            <style>
            {ReportAssets.Style}
            </style>
            </head>
            <body class="report" data-state="loading">
            <header class="topbar"><div class="brand"><span>Breadboard</span></div><h1 class="report-title" data-testid="report-title">{title}</h1></header>
            <main class="report-main">
            <noscript><p class="report-note">The charts and timelines of this report are drawn by its script.</p></noscript>
            <section class="report-section" id="summary" aria-label="Summary"></section>
            <section class="report-section" id="notes" aria-label="Left out" hidden></section>
            <section class="report-section" id="rules" aria-label="Rules"></section>
            <section class="report-section" id="charts" aria-label="Charts"></section>
            </main>
            <script type="application/json" id="report-data">
            """);
        html.Flush();
        WriteEscaped(output, data.WrittenSpan);
        html.Write("</script>\n<script>");
        html.Write(library);
        html.Write("</script>\n<script>");
        html.Write(script);
        html.Write("</script>\n</body>\n</html>\n");
    }

    /// <summary>JSON with every '&lt;' as \u003C, which only strings can hold: nothing in it can close the script element.</summary>
    private static void WriteEscaped(Stream output, ReadOnlySpan<byte> json)
    {
        ReadOnlySpan<byte> escaped = "\\u003C"u8;
        while (json.IndexOf((byte)'<') is var at && at >= 0)
        {
            output.Write(json[..at]);
            output.Write(escaped);
            json = json[(at + 1)..];
        }

        output.Write(json);
    }

    private static void WriteData(Utf8JsonWriter w, BacktestReportInput input)
    {
        var pipeline = input.Pipeline;
        var chart = new ChartIndicators(pipeline);
        var baseline = input.Baseline;
        var symbols = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var bar in input.Bars)
        {
            symbols.Add(bar.Symbol);
        }

        foreach (var alert in input.Alerts.Concat(baseline ?? []))
        {
            symbols.Add(alert.Symbol);
        }

        var notes = new List<string>();
        w.WriteStartObject();
        w.WriteString("title", input.Title);
        w.WriteString("digest", pipeline.Digest());

        w.WriteStartObject("range");
        WriteTime(w, "from", input.From);
        WriteTime(w, "to", input.To);
        var (start, end) = Span(input);
        WriteTime(w, "start", start);
        WriteTime(w, "end", end);
        w.WriteEndObject();

        w.WriteStartObject("counts");
        WriteCount(w, "ticks", input.Ticks);
        w.WriteNumber("bars", input.Bars.Count);
        w.WriteNumber("alerts", input.Alerts.Count);
        WriteCount(w, "baseline", baseline?.Count);
        w.WriteNumber("symbols", symbols.Count);
        w.WriteEndObject();

        // The dashboard's own description of windows, rules and indicators (names, units, panes): what chart.js reads.
        w.WritePropertyName("pipeline");
        using (var hello = JsonDocument.Parse(Messages.Hello(chart)))
        {
            hello.RootElement.WriteTo(w);
        }

        WriteRules(w, input, symbols, notes);
        WriteCharts(w, input, chart, symbols, notes);

        w.WriteStartArray("notes");
        foreach (var note in notes)
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The timelines' extent: the range asked for, or where there is data where it is open.</summary>
    private static (long? Start, long? End) Span(BacktestReportInput input)
    {
        long? first = null, last = null;
        foreach (var bar in input.Bars)
        {
            first = Math.Min(first ?? long.MaxValue, bar.WindowStart);
            last = Math.Max(last ?? long.MinValue, bar.WindowEnd);
        }

        foreach (var alert in input.Alerts.Concat(input.Baseline ?? []))
        {
            first = Math.Min(first ?? long.MaxValue, alert.Ts);
            last = Math.Max(last ?? long.MinValue, alert.Ts);
        }

        return (input.From ?? first, input.To ?? last);
    }

    private static void WriteRules(Utf8JsonWriter w, BacktestReportInput input, SortedSet<string> symbols, List<string> notes)
    {
        var after = Index(input.Alerts);
        var before = input.Baseline is { } baseline ? Index(baseline) : null;
        var names = input.Pipeline.Rules.Select(r => r.Name).ToList();
        // A rule only the running pipeline has (removed by the proposal) still gets its timeline.
        var others = after.Keys.Concat((IEnumerable<string>?)before?.Keys ?? []).Except(names, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        names.AddRange(others);
        if (symbols.Count > AllSymbolRows)
        {
            notes.Add($"Rule timelines have rows only for the symbols a rule fired on ({symbols.Count.ToString("N0", CultureInfo.InvariantCulture)} symbols in all).");
        }

        w.WriteStartArray("rules");
        foreach (var name in names)
        {
            var rule = input.Pipeline.Rules.FirstOrDefault(r => r.Name == name);
            var fired = after.GetValueOrDefault(name) ?? new(StringComparer.Ordinal);
            var baselineFired = before?.GetValueOrDefault(name);
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteBoolean("in_pipeline", rule is not null);
            if (rule is not null)
            {
                w.WriteString("window", rule.Window);
                w.WriteString("unit", rule.Kind.Unit(rule));
                w.WriteString("description", Notify.RuleText.Describe(rule));
            }
            else
            {
                w.WriteString("window", baselineFired?.Values.SelectMany(a => a).FirstOrDefault()?.Window);
                w.WriteString("description", "not in the proposed pipeline");
            }

            var totals = new Counts();
            w.WriteStartArray("symbols");
            foreach (var symbol in symbols)
            {
                var a = fired.GetValueOrDefault(symbol) ?? [];
                var b = before is null ? null : baselineFired?.GetValueOrDefault(symbol) ?? [];
                if (symbols.Count > AllSymbolRows && a.Count == 0 && (b?.Count ?? 0) == 0)
                {
                    continue;
                }

                var counts = Counts.Of(a, b);
                totals += counts;
                w.WriteStartObject();
                w.WriteString("symbol", symbol);
                WriteTimes(w, "after", a);
                if (b is not null)
                {
                    WriteTimes(w, "before", b);
                }

                counts.Write(w, before is not null);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            totals.Write(w, before is not null);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>Alerts by rule and symbol, in the order given.</summary>
    private static Dictionary<string, Dictionary<string, List<Alert>>> Index(IReadOnlyList<Alert> alerts)
    {
        var index = new Dictionary<string, Dictionary<string, List<Alert>>>(StringComparer.Ordinal);
        foreach (var alert in alerts)
        {
            if (!index.TryGetValue(alert.Rule, out var bySymbol))
            {
                index.Add(alert.Rule, bySymbol = new(StringComparer.Ordinal));
            }

            if (!bySymbol.TryGetValue(alert.Symbol, out var list))
            {
                bySymbol.Add(alert.Symbol, list = []);
            }

            list.Add(alert);
        }

        return index;
    }

    private static void WriteCharts(Utf8JsonWriter w, BacktestReportInput input, ChartIndicators chart, SortedSet<string> symbols, List<string> notes)
    {
        var pipeline = input.Pipeline;
        var windows = pipeline.Windows.Where(win => pipeline.Rules.Any(r => r.Window == win.Name)).ToList();
        if (windows.Count == 0 && pipeline.Windows.Count > 0)
        {
            windows.Add(pipeline.Windows[0]);
        }

        var shownWindows = new HashSet<string>(windows.Select(win => win.Name), StringComparer.Ordinal);
        var series = new Dictionary<(string Symbol, string Window), List<Bar>>();
        foreach (var bar in input.Bars)
        {
            if (!shownWindows.Contains(bar.Window))
            {
                continue;
            }

            if (!series.TryGetValue((bar.Symbol, bar.Window), out var list))
            {
                series.Add((bar.Symbol, bar.Window), list = []);
            }

            list.Add(bar);
        }

        var alertsOf = new Dictionary<(string Symbol, string Window), List<Alert>>();
        foreach (var alert in input.Alerts)
        {
            if (!alertsOf.TryGetValue((alert.Symbol, alert.Window), out var list))
            {
                alertsOf.Add((alert.Symbol, alert.Window), list = []);
            }

            list.Add(alert);
        }

        if (windows.Count > input.MaxCharts)
        {
            notes.Add($"Charts of the windows {string.Join(", ", windows.Skip(input.MaxCharts).Select(win => win.Name))} are left out.");
            windows = [.. windows.Take(input.MaxCharts)];
        }

        // Symbols by alerts (most first) while their charts fit; then drawn in name order.
        var alertCounts = input.Alerts.CountBy(a => a.Symbol, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        var ranked = symbols
            .Select(s => (Symbol: s, Charts: windows.Count(win => series.ContainsKey((s, win.Name)))))
            .Where(s => s.Charts > 0)
            .OrderByDescending(s => alertCounts.GetValueOrDefault(s.Symbol))
            .ThenBy(s => s.Symbol, StringComparer.Ordinal)
            .ToList();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        var charts = 0;
        foreach (var (symbol, count) in ranked)
        {
            if (charts + count > input.MaxCharts)
            {
                break;
            }

            kept.Add(symbol);
            charts += count;
        }

        if (kept.Count < ranked.Count)
        {
            var left = ranked.Select(s => s.Symbol).Where(s => !kept.Contains(s)).Order(StringComparer.Ordinal).ToList();
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Charts of {left.Count:N0} symbols are left out (only the {kept.Count:N0} with the most alerts are drawn): ")
                + string.Join(", ", left.Take(20)) + (left.Count > 20 ? ", …" : "") + ".");
        }

        var limit = Math.Max(1, Math.Min(input.MaxBarsPerChart, input.MaxBars / Math.Max(1, charts)));
        w.WriteStartArray("charts");
        foreach (var symbol in symbols.Where(kept.Contains))
        {
            foreach (var window in windows)
            {
                if (series.TryGetValue((symbol, window.Name), out var bars))
                {
                    WriteChart(w, chart, window, bars, limit, alertsOf.GetValueOrDefault((symbol, window.Name)) ?? [], notes);
                }
            }
        }

        w.WriteEndArray();
    }

    /// <summary>
    /// One chart: the latest bars of a symbol and window by window start, with their indicator values computed over
    /// every bar in emission order (as the engine computed them), and the alerts that fired on them.
    /// </summary>
    private static void WriteChart(Utf8JsonWriter w, ChartIndicators chart, WindowDefinition window, List<Bar> bars, int limit, List<Alert> alerts, List<string> notes)
    {
        var indicators = chart.Of(window.Name);
        var values = indicators is null ? null : chart.Compute(indicators, [], bars);

        // Each (symbol, window, window_start) is emitted once; a stable sort keeps emission order among equals anyway.
        var order = Enumerable.Range(0, bars.Count).OrderBy(i => bars[i].WindowStart).ToArray();
        var shown = order.Length > limit ? order[^limit..] : order;
        var starts = shown.Select(i => bars[i].WindowStart).ToHashSet();
        var hidden = alerts.Count(a => !starts.Contains(a.WindowStart));
        var symbol = bars[0].Symbol;
        if (shown.Length < bars.Count)
        {
            var hiddenText = hidden > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {hidden:N0} of its {alerts.Count:N0} alerts fired on bars not shown.") : ".";
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{symbol} {window.Name}: the chart shows the latest {shown.Length:N0} of {bars.Count:N0} bars, from {EventTime.ToIso(bars[shown[0]].WindowStart)}{hiddenText}"));
        }

        w.WriteStartObject();
        w.WriteString("symbol", symbol);
        w.WriteString("window", window.Name);
        w.WriteBoolean("session", window.Kind.Assignment == WindowAssignment.Session);
        w.WriteNumber("bars_total", bars.Count);
        w.WriteNumber("alerts_total", alerts.Count);
        w.WriteNumber("alerts_hidden", hidden);

        // Columns rather than objects: a hundred thousand bars are a few megabytes, not tens.
        w.WriteStartObject("columns");
        WriteColumn(w, "t", shown, i => bars[i].WindowStart);
        WriteColumn(w, "o", shown, i => bars[i].Open);
        WriteColumn(w, "h", shown, i => bars[i].High);
        WriteColumn(w, "l", shown, i => bars[i].Low);
        WriteColumn(w, "c", shown, i => bars[i].Close);
        WriteColumn(w, "v", shown, i => bars[i].Volume);
        WriteColumn(w, "vwap", shown, i => bars[i].Vwap ?? double.NaN);
        WriteColumn(w, "n", shown, i => bars[i].Trades);
        w.WriteEndObject();

        w.WriteStartObject("indicators");
        if (indicators is not null && values is not null)
        {
            for (var v = 0; v < indicators.Values.Length; v++)
            {
                WriteColumn(w, indicators.Values[v].Name, shown, i => values[i][v]);
            }
        }

        w.WriteEndObject();

        w.WriteStartArray("alerts");
        foreach (var alert in alerts)
        {
            w.WriteStartObject();
            w.WriteString("id", alert.Id);
            w.WriteString("rule", alert.Rule);
            Json.WriteNumber(w, "value"u8, alert.Value);
            Json.WriteNumber(w, "threshold"u8, alert.Threshold);
            w.WriteNumber("window_start", alert.WindowStart);
            w.WriteNumber("ts", alert.Ts);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteColumn(Utf8JsonWriter w, string name, int[] rows, Func<int, double> value)
    {
        w.WriteStartArray(name);
        foreach (var row in rows)
        {
            var v = value(row);
            if (double.IsFinite(v))
            {
                w.WriteNumberValue(v);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }

    private static void WriteColumn(Utf8JsonWriter w, string name, int[] rows, Func<int, long> value)
    {
        w.WriteStartArray(name);
        foreach (var row in rows)
        {
            w.WriteNumberValue(value(row));
        }

        w.WriteEndArray();
    }

    /// <summary>When each alert became known (its window's end), epoch ms, ascending.</summary>
    private static void WriteTimes(Utf8JsonWriter w, string name, List<Alert> alerts)
    {
        w.WriteStartArray(name);
        foreach (var ts in alerts.Select(a => a.Ts).Order())
        {
            w.WriteNumberValue(ts);
        }

        w.WriteEndArray();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, long? ms)
    {
        if (ms is { } value)
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteCount(Utf8JsonWriter w, string name, long? count)
    {
        if (count is { } value)
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>A rule's firings: after (the proposal), and with a baseline before, and those only one of them has (matched by alert id).</summary>
    private readonly record struct Counts(long After, long Before, long OnlyBefore, long OnlyAfter)
    {
        public static Counts Of(List<Alert> after, List<Alert>? before)
        {
            if (before is null)
            {
                return new(after.Count, 0, 0, 0);
            }

            var afterIds = after.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            var beforeIds = before.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            return new(after.Count, before.Count, beforeIds.Count(id => !afterIds.Contains(id)), afterIds.Count(id => !beforeIds.Contains(id)));
        }

        public static Counts operator +(Counts x, Counts y) => new(x.After + y.After, x.Before + y.Before, x.OnlyBefore + y.OnlyBefore, x.OnlyAfter + y.OnlyAfter);

        public void Write(Utf8JsonWriter w, bool compared)
        {
            w.WriteNumber("alerts", After);
            if (compared)
            {
                w.WriteNumber("baseline", Before);
                w.WriteNumber("only_before", OnlyBefore);
                w.WriteNumber("only_after", OnlyAfter);
            }
        }
    }
}

using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Web.Reports;
using Microsoft.Playwright;

namespace Breadboard.Web.Tests.Reports;

/// <summary>
/// Issue 21's backtest report: a file written from a real engine run, opened from disk in headless Chromium, and
/// its text checked for what a self-contained page must not hold.
/// </summary>
public class BacktestReportTests(BacktestRun run) : IClassFixture<BacktestRun>
{
    /// <summary>Debian's chromium, which scripts/test.sh installs.</summary>
    private const string Chromium = "/usr/bin/chromium";

    private static readonly string[] Windows = ["1m", "5m"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Report_OfAnEngineRun_DrawsEveryRuleAndChartInChromium()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium package");
        Assert.NotEmpty(run.Alerts);
        var dir = Directory.CreateTempSubdirectory("breadboard-report-");
        try
        {
            var path = Path.Combine(dir.FullName, "report.html");
            await using (var file = File.Create(path))
            {
                BacktestReport.Write(file, run.Input());
            }

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 } });
            var errors = new List<string>();
            var dialogs = new List<string>();
            var requests = new List<string>();
            page.Console += (_, m) =>
            {
                if (m.Type == "error")
                {
                    errors.Add(m.Text);
                }
            };
            page.PageError += (_, e) => errors.Add(e);
            page.Dialog += (_, d) =>
            {
                dialogs.Add(d.Message);
                _ = d.DismissAsync();
            };
            page.Request += (_, r) => requests.Add(r.Url);
            await page.AddInitScriptAsync("window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));");

            await page.GotoAsync(new Uri(path).AbsoluteUri);
            await page.WaitForFunctionAsync("() => document.body.dataset.state === 'ready'", null, new() { Timeout = 30_000 });
            await page.WaitForTimeoutAsync(300); // the charts draw on the next animation frames
            await ShotAsync(page, "backtest-report.png", fullPage: true);
            await ShotAsync(page, "backtest-report-top.png", fullPage: false);

            Assert.Empty(errors);
            Assert.Empty(dialogs);
            Assert.Equal([new Uri(path).AbsoluteUri], requests);
            Assert.Equal("[]", (await page.EvaluateAsync<JsonElement>("() => window.__cspViolations")).GetRawText());

            // The hostile names are text: the title and the symbol as written, and no element was made of them.
            Assert.Equal(run.Input().Title, await page.TitleAsync());
            Assert.Equal(run.Input().Title, await page.Locator("[data-testid=report-title]").InnerTextAsync());
            Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('img').length"));
            Assert.Equal(3, await page.EvaluateAsync<int>("() => document.scripts.length"));

            Assert.Equal(run.Pipeline.Digest(), await page.Locator("[data-testid=summary-digest]").InnerTextAsync());
            Assert.Equal(run.Bars.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), await page.Locator("[data-testid=summary-bars]").InnerTextAsync());

            await AssertTimelinesAsync(page);
            await AssertChartsAsync(page);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Every rule has a timeline with its counts, before and after, in all and per symbol, matched by alert id.</summary>
    private async Task AssertTimelinesAsync(IPage page)
    {
        var timelines = await page.EvaluateAsync<JsonElement>("""
            () => [...document.querySelectorAll('[data-testid=rule-timeline]')].map(t => ({
              rule: t.dataset.rule,
              counts: [+t.dataset.alerts, +t.dataset.baseline, +t.dataset.onlyBefore, +t.dataset.onlyAfter],
              canvas: t.querySelector('canvas').width,
              rows: [...t.querySelectorAll('[data-testid=timeline-row]')].map(r =>
                [r.dataset.symbol, +r.dataset.alerts, +r.dataset.baseline, +r.dataset.onlyBefore, +r.dataset.onlyAfter].join(' ')),
            }))
            """);
        Assert.Equal(run.Pipeline.Rules.Select(r => r.Name), timelines.EnumerateArray().Select(t => t.GetProperty("rule").GetString()));
        foreach (var timeline in timelines.EnumerateArray())
        {
            var rule = timeline.GetProperty("rule").GetString()!;
            Assert.True(timeline.GetProperty("canvas").GetInt32() > 0, $"{rule}: the timeline's canvas has no width");
            Assert.Equal(Expected(rule, null), timeline.GetProperty("counts").EnumerateArray().Select(c => c.GetInt32()).ToArray());
            Assert.Equal(
                BacktestRun.Symbols.Order(StringComparer.Ordinal).Select(s => string.Join(' ', [s, .. Expected(rule, s)])),
                timeline.GetProperty("rows").EnumerateArray().Select(r => r.GetString()));
        }

        // The run differs from the running pipeline in rsi_hot only, and there it does differ.
        var rsi = Expected("rsi_hot", null);
        Assert.True(rsi[2] + rsi[3] > 0, "rsi_hot fires the same under both thresholds: the comparison shows nothing");
        Assert.All(run.Pipeline.Rules.Where(r => r.Name != "rsi_hot"), r => Assert.Equal(0, Expected(r.Name, null)[2] + Expected(r.Name, null)[3]));
    }

    /// <summary>Alerts, baseline alerts, only before and only after, of a rule on one symbol or all.</summary>
    private int[] Expected(string rule, string? symbol)
    {
        var after = run.Alerts.Where(a => a.Rule == rule && (symbol is null || a.Symbol == symbol)).Select(a => a.Id).ToHashSet();
        var before = run.Baseline.Where(a => a.Rule == rule && (symbol is null || a.Symbol == symbol)).Select(a => a.Id).ToHashSet();
        return [after.Count, before.Count, before.Count(id => !after.Contains(id)), after.Count(id => !before.Contains(id))];
    }

    /// <summary>Per symbol a chart of each rule window (1m, 5m), drawn, with every candle, the window's indicator lines and a marker per alert.</summary>
    private async Task AssertChartsAsync(IPage page)
    {
        var charts = await page.EvaluateAsync<JsonElement>("""
            () => [...document.querySelectorAll('[data-testid=report-chart]')].map(f => ({
              key: `${f.dataset.symbol} ${f.dataset.window}`,
              candles: +f.dataset.candles,
              lines: +f.dataset.lines,
              markers: +f.dataset.markers,
              canvases: [...f.querySelectorAll('canvas')].filter(c => c.width > 0 && c.height > 0).length,
            }))
            """);
        Assert.Equal(
            BacktestRun.Symbols.Order(StringComparer.Ordinal).SelectMany(s => Windows.Select(w => $"{s} {w}")),
            charts.EnumerateArray().Select(c => c.GetProperty("key").GetString()));
        foreach (var chart in charts.EnumerateArray())
        {
            var key = chart.GetProperty("key").GetString()!;
            var window = key[(key.LastIndexOf(' ') + 1)..];
            var symbol = key[..key.LastIndexOf(' ')];
            Assert.True(chart.GetProperty("canvases").GetInt32() > 0, $"{key}: no canvas with a size");
            Assert.Equal(run.Bars.Count(b => b.Symbol == symbol && b.Window == window), chart.GetProperty("candles").GetInt32());
            Assert.Equal(window == "1m" ? 9 : 0, chart.GetProperty("lines").GetInt32()); // sma×2, ema, rsi, zscore, bollinger×3, atr
            Assert.Equal(run.Alerts.Count(a => a.Symbol == symbol && a.Window == window), chart.GetProperty("markers").GetInt32());
        }

        foreach (var symbol in BacktestRun.Symbols)
        {
            var markers = charts.EnumerateArray().Where(c => c.GetProperty("key").GetString()!.StartsWith(symbol + " ", StringComparison.Ordinal)).Sum(c => c.GetProperty("markers").GetInt32());
            Assert.Equal(run.Alerts.Count(a => a.Symbol == symbol), markers);
        }
    }

    [Fact]
    public void Write_LoadsNothingFromOutsideTheFile()
    {
        var html = Html(run.Input());

        Assert.DoesNotContain("src=\"http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src='http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"url\(\s*['""]?(?!#)", html); // the library's logo refers to its own #a only
        Assert.DoesNotContain("<script src", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-", html, StringComparison.Ordinal);
        Assert.Contains("TradingView Lightweight Charts", html, StringComparison.Ordinal); // inlined, with its licence
    }

    [Fact]
    public void Write_WithHostileNames_KeepsThemInsideTheData()
    {
        var html = Html(run.Input());

        Assert.Equal(3, Count(html, "<script"));
        Assert.Equal(3, Count(html, "</script>"));
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<title>backtest of &lt;/title&gt;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;.yaml</title>", html, StringComparison.Ordinal);
        using var data = Data(html);
        Assert.Contains(data.RootElement.GetProperty("charts").EnumerateArray(), c => c.GetProperty("symbol").GetString() == BacktestRun.Hostile);
    }

    [Fact]
    public void Write_UndefinedValues_AreJsonNull()
    {
        var bar = run.Bars.First(b => b.Window == "1m");
        var alerts = run.Alerts.Where(a => a.Symbol == bar.Symbol).Take(3).Select(a => a with { Value = double.NaN, Threshold = double.PositiveInfinity }).ToList();
        var bars = run.Bars.Where(b => b.Symbol == bar.Symbol).Select(b => b == bar ? b with { Vwap = null } : b).ToList();
        var input = run.Input(compare: false) with { Bars = bars, Alerts = alerts };

        using var data = Data(Html(input));

        var chart = data.RootElement.GetProperty("charts").EnumerateArray().First(c => c.GetProperty("window").GetString() == "1m");
        Assert.Equal(JsonValueKind.Null, chart.GetProperty("columns").GetProperty("vwap")[0].ValueKind);
        // sma_slow (20 bars) is undefined on the first 19 bars, defined from the 20th.
        var slow = chart.GetProperty("indicators").GetProperty("sma_slow");
        Assert.All(Enumerable.Range(0, 19), i => Assert.Equal(JsonValueKind.Null, slow[i].ValueKind));
        Assert.Equal(JsonValueKind.Number, slow[19].ValueKind);
        var written = data.RootElement.GetProperty("charts").EnumerateArray().SelectMany(c => c.GetProperty("alerts").EnumerateArray()).ToList();
        Assert.NotEmpty(alerts);
        Assert.Equal(alerts.Count, written.Count);
        Assert.All(written, a => Assert.Equal(JsonValueKind.Null, a.GetProperty("value").ValueKind));
        Assert.All(written, a => Assert.Equal(JsonValueKind.Null, a.GetProperty("threshold").ValueKind));
    }

    [Fact]
    public void Write_IndicatorValues_AreTheEnginesOverEveryBar()
    {
        var input = run.Input(compare: false) with { MaxBarsPerChart = 50 };

        using var data = Data(Html(input));

        // The last bar's sma_fast from the bars themselves: the mean of the last five closes of AAPL's 1m bars.
        var aapl = run.Bars.Where(b => b.Symbol == "AAPL" && b.Window == "1m").ToList();
        var chart = data.RootElement.GetProperty("charts").EnumerateArray().First(c => c.GetProperty("symbol").GetString() == "AAPL" && c.GetProperty("window").GetString() == "1m");
        Assert.Equal(50, chart.GetProperty("columns").GetProperty("t").GetArrayLength());
        Assert.Equal(aapl[^50].WindowStart, chart.GetProperty("columns").GetProperty("t")[0].GetInt64());
        Assert.Equal(aapl[^5..].Average(b => b.Close), chart.GetProperty("indicators").GetProperty("sma_fast")[49].GetDouble(), 9);
        Assert.Equal(aapl.Count, chart.GetProperty("bars_total").GetInt32());
        Assert.Contains(data.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith($"AAPL 1m: the chart shows the latest 50 of {aapl.Count} bars", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_WithMoreChartsThanAllowed_DrawsTheSymbolsWithMostAlertsAndSaysSo()
    {
        var input = run.Input(compare: false) with { MaxCharts = 2 };

        using var data = Data(Html(input));

        var most = BacktestRun.Symbols.OrderByDescending(s => run.Alerts.Count(a => a.Symbol == s)).ThenBy(s => s, StringComparer.Ordinal).First();
        Assert.Equal([$"{most} 1m", $"{most} 5m"], data.RootElement.GetProperty("charts").EnumerateArray().Select(c => $"{c.GetProperty("symbol").GetString()} {c.GetProperty("window").GetString()}"));
        Assert.Contains(data.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("Charts of 2 symbols are left out", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_ARuleOnlyTheBaselineHas_GetsItsTimeline()
    {
        var gone = new Alert(Alert.MakeId("retired", "AAPL", "1m", BacktestRun.Start), "retired", "AAPL", "1m", BacktestRun.Start, BacktestRun.Start + 60_000, 1, 0, BacktestRun.Start + 60_000);
        var input = run.Input() with { Baseline = [.. run.Baseline, gone] };

        using var data = Data(Html(input));

        var retired = data.RootElement.GetProperty("rules").EnumerateArray().Last();
        Assert.Equal("retired", retired.GetProperty("name").GetString());
        Assert.False(retired.GetProperty("in_pipeline").GetBoolean());
        Assert.Equal([0, 1, 1, 0], new[] { "alerts", "baseline", "only_before", "only_after" }.Select(p => retired.GetProperty(p).GetInt32()));
    }

    [Fact]
    public void Write_ARuleTheBaselineNeverFired_CountsEveryAlertOnlyAfter()
    {
        var input = run.Input() with { Baseline = [.. run.Baseline.Where(a => a.Rule != "golden_cross")] };

        using var data = Data(Html(input));

        var cross = data.RootElement.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "golden_cross");
        var fired = run.Alerts.Count(a => a.Rule == "golden_cross");
        Assert.Equal([fired, 0, 0, fired], new[] { "alerts", "baseline", "only_before", "only_after" }.Select(p => cross.GetProperty(p).GetInt32()));
        Assert.All(cross.GetProperty("symbols").EnumerateArray(), s => Assert.Equal(s.GetProperty("alerts").GetInt32(), s.GetProperty("only_after").GetInt32()));
        Assert.All(cross.GetProperty("symbols").EnumerateArray(), s => Assert.Equal(0, s.GetProperty("before").GetArrayLength()));
    }

    [Fact]
    public void Bundle_WithAnExportItDoesNotKnow_Throws()
    {
        var error = Assert.Throws<NotSupportedException>(() => ReportAssets.Bundle([("x.js", "export default function () {}\n")]));
        Assert.Contains("x.js", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bundle_ImportsReadTheModulesBefore()
    {
        var script = ReportAssets.Bundle([("a.js", "export const one = 1;\nexport function two() { return 2; }\n"), ("b.js", "import { one, two as deux } from './a.js';\nexport const three = one + deux();\n")]);

        Assert.Contains("const { one, two: deux } = modules['a.js']", script, StringComparison.Ordinal);
        Assert.Contains("return { one, two };", script, StringComparison.Ordinal);
        Assert.DoesNotContain("export", script, StringComparison.Ordinal);
    }

    private static string Html(BacktestReportInput input)
    {
        using var stream = new MemoryStream();
        BacktestReport.Write(stream, input);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The report's JSON block, which must parse as it is.</summary>
    private static JsonDocument Data(string html)
    {
        const string Open = "<script type=\"application/json\" id=\"report-data\">";
        var start = html.IndexOf(Open, StringComparison.Ordinal) + Open.Length;
        var end = html.IndexOf("</script>", start, StringComparison.Ordinal);
        return JsonDocument.Parse(html[start..end]);
    }

    private static int Count(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.OrdinalIgnoreCase); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }

        return count;
    }

    private static async Task ShotAsync(IPage page, string name, bool fullPage)
    {
        var shot = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new() { Path = shot, FullPage = fullPage });
        TestContext.Current.AddAttachment(name, await File.ReadAllBytesAsync(shot, Ct), "image/png");
        TestContext.Current.SendDiagnosticMessage($"backtest report screenshot: {shot}");
    }
}

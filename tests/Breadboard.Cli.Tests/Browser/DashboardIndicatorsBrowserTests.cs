using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Breadboard.TestKit;
using Microsoft.Playwright;

namespace Breadboard.Cli.Tests.Browser;

/// <summary>
/// Issue 20's dashboard, as a person sees it: <c>breadboard up</c> replays a fall and a rebound under a pipeline
/// with indicators and expression rules; headless Chromium shows the indicators of the 1m chart (lines over the
/// candles, an RSI pane, a lower pane), the golden cross as a marker on its candle, and the rules panel with every
/// rule and its last firing, live and again after a reload (from the stored alerts).
/// </summary>
public class DashboardIndicatorsBrowserTests
{
    private const string Pipeline = """
        version: 1
        indicators:
          - { name: sma_fast, window: "1m", type: sma, of: close, period: 5 }
          - { name: sma_slow, window: "1m", type: sma, of: close, period: 20 }
          - { name: bb, window: "1m", type: bollinger, of: close, period: 20, k: 2 }
          - { name: rsi14, window: "1m", type: rsi, of: close, period: 14 }
          - { name: vol_z, window: "1m", type: zscore, of: volume, period: 10 }
        rules:
          - { name: price_drop, window: "5m", type: price_change, op: "<=", threshold_percent: -50 }
          - { name: golden_cross, window: "1m", when: "crosses_above(sma_fast, sma_slow)" }
          - { name: rsi_hot, window: "1m", when: "rsi14 > 70", for: 3 }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dashboard_WithIndicatorsAndExpressionRules_DrawsLinesMarkersAndTheRulesPanel()
    {
        Assert.True(File.Exists(DashboardBrowser.Chromium), $"{DashboardBrowser.Chromium} is missing: scripts/test.sh installs Debian's chromium package");
        using var dir = new TempDir();
        var feed = dir.File("rebound.ndjson");
        WriteRebound(feed);
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, Ct);
        var port = ServerProcess.FreePort();
        var url = $"http://127.0.0.1:{port}/";

        var info = CliProcess.StartInfo(dir.Path, null,
            "up", "--feed", $"replay:{feed}", "--speed", "60", "--pipeline", pipeline, "--urls", url.TrimEnd('/'),
            "--store", $"duckdb://{dir.File("e2e.duckdb")}", "--no-checkpoint");
        using var server = Process.Start(info)!;
        var output = new DashboardBrowser.Output();
        output.Attach(server);
        try
        {
            await DashboardBrowser.WaitForServerAsync(url, server, output);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await DashboardBrowser.LaunchAsync(playwright);
            var errors = new List<string>();
            var page = await DashboardBrowser.OpenPageAsync(browser, errors);

            await page.GotoAsync(url + "#symbol=IND-USD&window=1m");

            // Every rule is listed with what it tests, before any has fired.
            var rules = page.Locator("[data-testid=rule-item]");
            await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=rule-item]').length === 3", null, new() { Timeout = 30_000 });
            Assert.Equal(
                ["price_change <= \u221250.0%", "crosses_above(sma_fast, sma_slow)", "rsi14 > 70 for 3 bars"],
                await page.Locator("[data-testid=rule-item] [data-field=description]").AllInnerTextsAsync());

            // Live: the golden cross fires during the replay; the panel shows it, the chart marks its candle.
            var cross = page.Locator("[data-testid=rule-item][data-rule=golden_cross] [data-field=last]");
            await page.WaitForFunctionAsync(
                "() => document.querySelector('[data-testid=rule-item][data-rule=golden_cross] [data-field=last]')?.textContent.includes('IND-USD')",
                null,
                new() { Timeout = 90_000 });
            await page.WaitForFunctionAsync("() => window.breadboard.markers().some(m => m.rule === 'golden_cross')", null, new() { Timeout = 30_000 });
            Assert.Contains("not fired yet", await page.Locator("[data-testid=rule-item][data-rule=price_drop]").InnerTextAsync(), StringComparison.Ordinal);
            await AssertIndicatorLinesAsync(page);
            await ShotAsync(page, "dashboard-indicators-live.png");

            // After the replay, a reload draws everything from the REST API: history with indicators, stored alerts.
            await WaitForOutput(output, "replay finished", server);
            await page.ReloadAsync();
            await page.WaitForFunctionAsync(
                "() => document.querySelector('[data-testid=rule-item][data-rule=golden_cross] [data-field=last]')?.textContent.includes('IND-USD')",
                null,
                new() { Timeout = 30_000 });
            await page.WaitForFunctionAsync("() => window.breadboard.markers().some(m => m.rule === 'golden_cross')", null, new() { Timeout = 30_000 });
            var markers = await page.EvaluateAsync<JsonElement>("() => window.breadboard.markers()");
            var crossTimes = markers.EnumerateArray().Where(m => m.GetProperty("rule").GetString() == "golden_cross").Select(m => m.GetProperty("time").GetInt64()).ToList();
            Assert.Equal([CrossMinuteStart / 1000], crossTimes);
            await AssertIndicatorLinesAsync(page);
            Assert.Contains("IND-USD", await cross.InnerTextAsync(), StringComparison.Ordinal);
            await ShotAsync(page, "dashboard-indicators.png");

            Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__cspViolations"));
            Assert.Empty(errors);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            await server.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>Lines over the candles (smas, the band), the RSI in the third pane and the z-score in the fourth, each with values.</summary>
    private static async Task AssertIndicatorLinesAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => window.breadboard.indicatorLines().find(l => l.name === 'sma_slow')?.points > 0", null, new() { Timeout = 30_000 });
        var lines = await page.EvaluateAsync<JsonElement>("() => window.breadboard.indicatorLines()");
        var byName = lines.EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal(["sma_fast", "sma_slow", "bb.upper", "bb.middle", "bb.lower", "rsi14", "vol_z"], byName.Keys);
        foreach (var name in new[] { "sma_fast", "sma_slow", "bb.upper", "bb.middle", "bb.lower" })
        {
            Assert.Equal(0, byName[name].GetProperty("paneIndex").GetInt32());
        }

        Assert.Equal(2, byName["rsi14"].GetProperty("paneIndex").GetInt32());
        Assert.Equal(3, byName["vol_z"].GetProperty("paneIndex").GetInt32());
        Assert.All(byName.Values, l => Assert.True(l.GetProperty("points").GetInt32() > 0, l.ToString()));
        var rsi = byName["rsi14"].GetProperty("last").GetDouble();
        Assert.InRange(rsi, 0, 100);
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        var shot = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new() { Path = shot });
        TestContext.Current.AddAttachment(name, await File.ReadAllBytesAsync(shot, Ct), "image/png");
        TestContext.Current.SendDiagnosticMessage($"dashboard screenshot: {shot}");
    }

    private static readonly long Start = new DateTimeOffset(2026, 1, 2, 14, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>The minute whose close takes sma_fast above sma_slow, as <see cref="WriteRebound"/>'s prices make it (checked in the test).</summary>
    private static long CrossMinuteStart => Start + (CrossMinute() * 60_000);

    /// <summary>IND-USD's close in minute <paramref name="m"/>: falls 0.2 a minute for 25 minutes, then rises 1.0 a minute.</summary>
    private static double Close(int m) => m < 25 ? 100 - (0.2 * m) : 95 + (1.0 * (m - 25));

    private static int CrossMinute()
    {
        static double Sma(int m, int n) => Enumerable.Range(m - n + 1, n).Average(Close);
        for (var m = 20; m < 40; m++)
        {
            if (Sma(m, 5) > Sma(m, 20) && Sma(m - 1, 5) <= Sma(m - 1, 20))
            {
                return m;
            }
        }

        throw new InvalidOperationException("the prices never cross");
    }

    /// <summary>
    /// Forty minutes of IND-USD, a tick every two seconds: each minute trades flat at <see cref="Close"/> but for its
    /// first tick (the previous close), so every bar closes where <see cref="Close"/> says; volumes vary by minute.
    /// </summary>
    private static void WriteRebound(string path)
    {
        var lines = new List<string>();
        var id = 0;
        for (var m = 0; m < 40; m++)
        {
            for (var s = 0; s < 60; s += 2)
            {
                var price = s == 0 && m > 0 ? Close(m - 1) : Close(m);
                lines.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $$"""{"symbol":"IND-USD","ts":{{Start + (m * 60_000) + (s * 1_000)}},"price":{{Math.Round(price, 4)}},"volume":{{1 + (m % 4) + ((id * 7) % 5)}},"trade_id":"{{++id}}"}"""));
            }
        }

        File.WriteAllLines(path, lines);
    }

    private static async Task WaitForOutput(DashboardBrowser.Output output, string text, Process server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!output.ToString().Contains(text, StringComparison.Ordinal))
        {
            Assert.False(server.HasExited, $"breadboard up exited: {output}");
            Assert.True(DateTime.UtcNow < deadline, $"no '{text}' from breadboard up within 120 s: {output}");
            await Task.Delay(200, Ct);
        }
    }
}

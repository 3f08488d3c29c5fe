using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Breadboard.TestKit;
using Microsoft.Playwright;

namespace Breadboard.Cli.Tests.Browser;

/// <summary>
/// Issue 21's backtest on the dashboard: <c>breadboard up</c> replays three hours of an oscillating price into
/// DuckDB; in headless Chromium the rules panel's backtest action, started from a running rule and loosened, runs
/// over the stored history and draws its would-have-fired alerts as markers of their own on the chart, the same
/// alerts the API answers; clearing takes them away.
/// </summary>
public class DashboardBacktestBrowserTests
{
    private const string Pipeline = """
        version: 1
        indicators:
          - { name: rsi14, window: "1m", type: rsi, of: close, period: 14 }
        rules:
          - { name: rsi_low, window: "1m", when: "rsi14 < 20", for: 2 }
        """;

    private const int Minutes = 180;

    private static readonly long Start = new DateTimeOffset(2026, 1, 2, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dashboard_BacktestOfALoosenedRule_DrawsItsWouldHaveFiredMarkers()
    {
        Assert.True(File.Exists(DashboardBrowser.Chromium), $"{DashboardBrowser.Chromium} is missing: scripts/test.sh installs Debian's chromium package");
        using var dir = new TempDir();
        var feed = dir.File("wave.ndjson");
        WriteWave(feed);
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, Ct);
        var port = ServerProcess.FreePort();
        var url = $"http://127.0.0.1:{port}/";

        var info = CliProcess.StartInfo(dir.Path, null,
            "up", "--feed", $"replay:{feed}", "--speed", "1200", "--pipeline", pipeline, "--urls", url.TrimEnd('/'),
            "--store", $"duckdb://{dir.File("backtest.duckdb")}", "--no-checkpoint");
        using var server = Process.Start(info)!;
        var output = new DashboardBrowser.Output();
        output.Attach(server);
        try
        {
            await DashboardBrowser.WaitForServerAsync(url, server, output);
            await WaitForOutput(output, "replay finished", server);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await DashboardBrowser.LaunchAsync(playwright);
            var errors = new List<string>();
            var page = await DashboardBrowser.OpenPageAsync(browser, errors);
            await page.GotoAsync(url + "#symbol=WAVE-USD&window=1m");
            await page.WaitForFunctionAsync("() => window.breadboard.candleCount() > 100", null, new() { Timeout = 30_000 });

            // The running rule's backtest action fills the form in with it.
            await page.Locator("[data-testid=rule-item][data-rule=rsi_low] [data-testid=rule-backtest]").ClickAsync();
            var form = page.Locator("[data-testid=backtest-form]");
            Assert.True(await form.IsVisibleAsync());
            Assert.Equal("rsi_low", await form.Locator("[name=name]").InputValueAsync());
            Assert.Equal("1m", await form.Locator("[name=window]").InputValueAsync());
            Assert.Equal("rsi14 < 20", await form.Locator("[name=when]").InputValueAsync());
            Assert.Equal("2", await form.Locator("[name=for]").InputValueAsync());

            // Loosened and renamed, over the last two hours: it would have fired where the wave dips.
            await form.Locator("[name=name]").FillAsync("dip");
            await form.Locator("[name=when]").FillAsync("rsi14 < 40");
            await form.Locator("[name=for]").FillAsync("");
            await form.Locator("[name=hours]").FillAsync("2");
            await form.Locator("[data-testid=backtest-run]").ClickAsync();

            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=backtest-summary]').dataset.state === 'done'", null, new() { Timeout = 60_000 });
            var summary = await page.Locator("[data-testid=backtest-summary]").InnerTextAsync();
            Assert.Matches(@"^\d+ alerts? of dip on WAVE-USD over 2 h \(", summary);

            var expected = await ApiAlertTimesAsync(url);
            Assert.True(expected.Count >= 2, $"the wave should dip below rsi 40 more than once in two hours: {expected.Count}");
            Assert.StartsWith(expected.Count.ToString(CultureInfo.InvariantCulture) + " alert", summary, StringComparison.Ordinal);
            await page.WaitForFunctionAsync($"() => document.querySelector('[data-testid=chart]').dataset.backtestMarkers === '{expected.Count}'", null, new() { Timeout = 10_000 });
            var markers = await page.EvaluateAsync<JsonElement>("() => window.breadboard.backtestMarkers()");
            Assert.Equal(expected, markers.EnumerateArray().Select(m => m.GetProperty("time").GetInt64()).ToList());
            Assert.All(markers.EnumerateArray(), m => Assert.Equal("dip", m.GetProperty("rule").GetString()));
            var real = await page.EvaluateAsync<JsonElement>("() => window.breadboard.markers()");
            Assert.DoesNotContain(real.EnumerateArray(), m => m.GetProperty("rule").GetString() == "dip");
            Assert.True(await page.Locator("[data-testid=backtest-legend]").IsVisibleAsync());
            Assert.Contains("would have fired: dip", await page.Locator("[data-testid=backtest-legend]").InnerTextAsync(), StringComparison.Ordinal);
            await ShotAsync(page, "dashboard-backtest.png");

            await page.Locator("[data-testid=backtest-legend-clear]").ClickAsync();
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=chart]').dataset.backtestMarkers === '0'", null, new() { Timeout = 10_000 });
            Assert.False(await page.Locator("[data-testid=backtest-legend]").IsVisibleAsync());
            Assert.Equal(string.Empty, await page.Locator("[data-testid=backtest-summary]").InnerTextAsync());

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

    /// <summary>The window starts (UTC seconds) of the alerts the API answers for the same backtest, ascending.</summary>
    private static async Task<List<long>> ApiAlertTimesAsync(string url)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var response = await http.PostAsJsonAsync(
            "api/backtest",
            new { rule = new { name = "dip", window = "1m", when = "rsi14 < 40" }, hours = 2, symbol = "WAVE-USD" },
            Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        return [.. body.GetProperty("alerts").EnumerateArray().Select(a => DateTimeOffset.Parse(a.GetProperty("window_start").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeSeconds())];
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        var shot = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new() { Path = shot });
        TestContext.Current.AddAttachment(name, await File.ReadAllBytesAsync(shot, Ct), "image/png");
        TestContext.Current.SendDiagnosticMessage($"dashboard screenshot: {shot}");
    }

    /// <summary>WAVE-USD's close in minute <paramref name="m"/>: a wave of 5 around 100 with a period of about 50 minutes.</summary>
    private static double Close(int m) => 100 + (5 * Math.Sin(m / 8.0));

    /// <summary>Three hours of WAVE-USD, a tick every two seconds, each minute trading at <see cref="Close"/> but for its first tick (the previous close).</summary>
    private static void WriteWave(string path)
    {
        var lines = new List<string>();
        var id = 0;
        for (var m = 0; m < Minutes; m++)
        {
            for (var s = 0; s < 60; s += 2)
            {
                var price = s == 0 && m > 0 ? Close(m - 1) : Close(m);
                lines.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $$"""{"symbol":"WAVE-USD","ts":{{Start + (m * 60_000) + (s * 1_000)}},"price":{{Math.Round(price, 4)}},"volume":{{1 + (id % 3)}},"trade_id":"{{++id}}"}"""));
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

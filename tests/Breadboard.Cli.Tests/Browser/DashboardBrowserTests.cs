using System.Diagnostics;
using System.Globalization;
using Breadboard.TestKit;
using Microsoft.Playwright;

namespace Breadboard.Cli.Tests.Browser;

/// <summary>
/// End to end, as a person sees it: <c>breadboard up</c> replays a file with a crash in it, and headless Chromium
/// (Debian's, driven by Playwright) opens the dashboard, sees candles for the symbol and the alert toast, all under
/// the server's Content-Security-Policy without a violation.
/// </summary>
public class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dashboard_DuringAReplayWithACrash_RendersCandlesAndToastsTheAlert()
    {
        Assert.True(File.Exists(DashboardBrowser.Chromium), $"{DashboardBrowser.Chromium} is missing: scripts/test.sh installs Debian's chromium package");
        using var dir = new TempDir();
        var feed = dir.File("crash.ndjson");
        WriteCrash(feed);
        var port = ServerProcess.FreePort();
        var url = $"http://127.0.0.1:{port}/";

        var info = CliProcess.StartInfo(dir.Path, null,
            "up", "--feed", $"replay:{feed}", "--speed", "30", "--urls", url.TrimEnd('/'),
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

            var response = await page.GotoAsync(url);
            Assert.Contains("frame-ancestors 'none'", await response!.HeaderValueAsync("content-security-policy") ?? "", StringComparison.Ordinal);
            var row = page.Locator("[data-testid=symbol-row][data-symbol='CRSH-USD']");
            await row.WaitForAsync(new() { Timeout = 30_000 });
            await row.ClickAsync();

            await page.WaitForFunctionAsync("() => window.breadboard && window.breadboard.selectedSymbol() === 'CRSH-USD' && window.breadboard.candleCount() > 0", null, new() { Timeout = 30_000 });

            var toast = page.Locator("[data-testid=toast]", new() { HasTextString = "CRSH-USD" });
            await toast.First.WaitForAsync(new() { Timeout = 60_000 });
            Assert.Contains("price_drop", await toast.First.InnerTextAsync(), StringComparison.Ordinal);

            var shot = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard.png");
            Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
            await page.ScreenshotAsync(new() { Path = shot });
            TestContext.Current.AddAttachment("dashboard.png", await File.ReadAllBytesAsync(shot, Ct), "image/png");
            TestContext.Current.SendDiagnosticMessage($"dashboard screenshot: {shot}");

            Assert.True(await page.Locator("[data-testid=alert-item]").CountAsync() > 0, "the alert feed lists the alert");
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

    /// <summary>
    /// CRSH-USD trades flat at 100 for eight minutes, falls 12 % over thirty seconds, then trades flat again, so
    /// the 5m windows spanning the fall close with a price_drop; AAPL trades quietly beside it.
    /// </summary>
    private static void WriteCrash(string path)
    {
        var start = new DateTimeOffset(2026, 1, 2, 14, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var lines = new List<string>();
        var id = 0;
        for (var t = 0L; t < 16 * 60_000; t += 500)
        {
            var minutes = t / 60_000.0;
            var price = minutes < 8 ? 100 + (0.05 * Math.Sin(t / 7_000.0))
                : minutes < 8.5 ? 100 - (24 * (minutes - 8))
                : 88 + (0.05 * Math.Sin(t / 7_000.0));
            lines.Add(Line("CRSH-USD", start + t, price, 1 + (id % 3), ++id));
            if (t % 2_000 == 0)
            {
                lines.Add(Line("AAPL", start + t + 250, 190 + (0.1 * Math.Cos(t / 11_000.0)), 100, ++id));
            }
        }

        File.WriteAllLines(path, lines);
    }

    private static string Line(string symbol, long ts, double price, double volume, int id) => string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"symbol":"{{symbol}}","ts":{{ts}},"price":{{Math.Round(price, 4)}},"volume":{{volume}},"trade_id":"{{id}}"}""");
}

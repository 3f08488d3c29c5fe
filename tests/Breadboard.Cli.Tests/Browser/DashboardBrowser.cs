using System.Diagnostics;
using Microsoft.Playwright;

namespace Breadboard.Cli.Tests.Browser;

/// <summary>What the dashboard's browser tests share: a running <c>breadboard up</c>'s output, waiting for it to serve, and a watched page.</summary>
internal static class DashboardBrowser
{
    /// <summary>Debian's chromium, which scripts/test.sh installs.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Collects a process's stdout and stderr lines; read with <see cref="object.ToString"/>, from any thread.</summary>
    public sealed class Output
    {
        private readonly System.Text.StringBuilder _text = new();

        public void Attach(Process process)
        {
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }

        private void Append(string? line)
        {
            lock (_text)
            {
                _text.AppendLine(line);
            }
        }
    }

    /// <summary>Waits until the server answers <c>/health/live</c>; fails with its output if it exits or takes over 60 s.</summary>
    public static async Task WaitForServerAsync(string url, Process server, Output output)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(server.HasExited, $"breadboard up exited: {output}");
            try
            {
                using var response = await http.GetAsync(new Uri(url + "health/live"), Ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200, Ct);
        }

        Assert.Fail($"breadboard up did not answer at {url} within 60 s: {output}");
    }

    /// <summary>Headless Chromium, as the tests run it in a container.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });

    /// <summary>
    /// A page whose console errors and page errors go to <paramref name="errors"/>, and which records every
    /// Content-Security-Policy violation in <c>window.__cspViolations</c>, also one the console would not show
    /// (a report-only one, say).
    /// </summary>
    public static async Task<IPage> OpenPageAsync(IBrowser browser, List<string> errors)
    {
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 } });
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add(m.Text);
            }
        };
        page.PageError += (_, e) => errors.Add(e);
        await page.AddInitScriptAsync("window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));");
        return page;
    }
}

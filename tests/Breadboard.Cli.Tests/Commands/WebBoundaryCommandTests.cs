using System.Diagnostics;
using System.Net;
using System.Text;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>api</c> and <c>up</c> take the web server's allowed hosts, origins and stream-client cap from options or the environment.</summary>
public class WebBoundaryCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("api", "--allowed-hosts", "http://backend:8000", "BREADBOARD_ALLOWED_HOSTS")]
    [InlineData("api", "--allowed-origins", "dash.example.com", "BREADBOARD_ALLOWED_ORIGINS")]
    [InlineData("up", "--max-stream-clients", "0", "BREADBOARD_MAX_STREAM_CLIENTS")]
    public async Task WebCommand_WithABadBoundarySetting_ExitsWith2NamingIt(string command, string option, string value, string variable)
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, [command, option, value, "--store", $"duckdb://{dir.File("b.duckdb")}"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(option, line, StringComparison.Ordinal);
        Assert.Contains(variable, line, StringComparison.Ordinal);
        Assert.Contains(value, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_WithAllowedHostsFromTheEnvironment_AnswersThem_AndLogsARefusedHost()
    {
        using var dir = new TempDir();
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var info = CliProcess.StartInfo(dir.Path, new Dictionary<string, string> { ["BREADBOARD_ALLOWED_HOSTS"] = "backend" }, "api", "--urls", url, "--store", $"duckdb://{dir.File("b.duckdb")}");
        using var server = Process.Start(info)!;
        var stderr = new StringBuilder();
        server.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        server.BeginErrorReadLine();
        server.OutputDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await WaitUntilAnswering(http, server);

            Assert.Equal(HttpStatusCode.OK, await StatusWithHost(http, "backend:8000"));
            Assert.Equal(HttpStatusCode.OK, await StatusWithHost(http, $"localhost:{new Uri(url).Port}"));
            Assert.Equal(HttpStatusCode.BadRequest, await StatusWithHost(http, "rebound.example:8000"));
            for (var i = 0; i < 250 && !Logged(stderr, "rebound.example"); i++)
            {
                await Task.Delay(20, Ct);
            }

            Assert.True(Logged(stderr, "rebound.example"), $"no log line for the refused host: {stderr}");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static bool Logged(StringBuilder stderr, string text)
    {
        lock (stderr)
        {
            return stderr.ToString().Contains(text, StringComparison.Ordinal);
        }
    }

    private static async Task<HttpStatusCode> StatusWithHost(HttpClient http, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Host = host;
        using var response = await http.SendAsync(request, Ct);
        return response.StatusCode;
    }

    private static async Task WaitUntilAnswering(HttpClient http, Process server)
    {
        for (var i = 0; i < 300; i++)
        {
            Assert.False(server.HasExited, "breadboard api exited");
            try
            {
                using var response = await http.GetAsync(new Uri("/health/live", UriKind.Relative), Ct);
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

        Assert.Fail("breadboard api did not answer within 60 s");
    }
}

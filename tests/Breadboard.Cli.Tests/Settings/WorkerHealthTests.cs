using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Breadboard.Cli.Settings;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.TestKit;
using Breadboard.TestKit.Nats;

namespace Breadboard.Cli.Tests.Settings;

/// <summary>
/// <c>--health-urls</c> / BREADBOARD_HEALTH_URLS on the worker roles: liveness and readiness for Kubernetes probes,
/// in process and through the real CLI against the mock Kafka cluster and a real nats-server.
/// </summary>
public sealed class WorkerHealthTests
{
    /// <summary>How long a started CLI may take to answer ready; generous, as CI runs tests in parallel on 2 cores.</summary>
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_StartingReadyStopping_AnswersEachStateAndServesNothingElse()
    {
        var port = ServerProcess.FreePort();
        var option = WorkerHealth.Option();
        var parse = new RootCommand { option }.Parse(["--health-urls", Url(port)]);
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(Url(port)), Timeout = TimeSpan.FromSeconds(10) };

        await using (var health = await WorkerHealth.StartAsync(parse, option, "sink", shutdown.Token))
        {
            Assert.NotNull(health);
            Assert.Equal($"health: {Url(port)}/health/ready", health.Line);
            await AssertAnswersAsync(http, "/health/live", HttpStatusCode.OK, "live", null);
            await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable, "starting", "sink");

            health.Ready();
            await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.OK, "ready", "sink");
            using (var post = await http.PostAsync(new Uri("/health/ready", UriKind.Relative), null, Ct))
            {
                Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            }

            using (var other = await http.GetAsync(new Uri("/api/bars", UriKind.Relative), Ct))
            {
                Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
            }

            // A worker's metrics (a refused pipeline reload) are Prometheus text; a reload needs the API key.
            using (var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative), Ct))
            {
                Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
                Assert.Contains("breadboard_pipeline_stale", await metrics.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            }

            using (var reload = await http.PostAsync(new Uri("/api/pipeline/reload", UriKind.Relative), null, Ct))
            {
                Assert.True(reload.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized, reload.StatusCode.ToString());
            }

            // Ctrl-C / SIGTERM: not ready at once, before the loop has ended; ready never comes back.
            await shutdown.CancelAsync();
            health.Ready();
            await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable, "stopping", "sink");
            await AssertAnswersAsync(http, "/health/live", HttpStatusCode.OK, "live", null);
        }

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri("/health/live", UriKind.Relative), Ct));
    }

    [Theory]
    [InlineData("http://0.0.0.0:8090", "http://0.0.0.0:8090")]
    [InlineData("http://*:8090", "http://*:8090")]
    [InlineData("http://+:8090/", "http://+:8090/")]
    [InlineData("http://[::]:8090", "http://[::]:8090")]
    [InlineData(" http://127.0.0.1:8090 ; http://localhost:8091;", "http://127.0.0.1:8090;http://localhost:8091")]
    public void ResolveUrls_WithHttpUrls_ReturnsThemForKestrel(string value, string expected)
    {
        var option = WorkerHealth.Option();
        var parse = new RootCommand { option }.Parse(["--health-urls", value]);

        Assert.Equal(expected, WorkerHealth.ResolveUrls(parse, option));
    }

    [Theory]
    [InlineData("8090")]
    [InlineData("tcp://0.0.0.0:8090")]
    [InlineData("https://0.0.0.0:8443")]
    [InlineData("http://0.0.0.0:8090/health")]
    [InlineData(";")]
    public void ResolveUrls_WithOtherValues_ThrowsOneLineNamingTheSetting(string value)
    {
        var option = WorkerHealth.Option();
        var parse = new RootCommand { option }.Parse(["--health-urls", value]);

        var error = Assert.Throws<SettingException>(() => WorkerHealth.ResolveUrls(parse, option));
        Assert.StartsWith($"--health-urls (env BREADBOARD_HEALTH_URLS) = '{value}': ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("http://u:PW@0.0.0.0:8090", "'http://u:***@0.0.0.0:8090' has a user")]
    [InlineData("http://0.0.0.0:8090;ftp://u:PW@h", "'ftp://u:***@h' is not an http:// or https:// URL")]
    [InlineData("http://0.0.0.0:8090/?token=PW", "'http://0.0.0.0:8090/?token=***' has a path")]
    public void ResolveUrls_WithASecretInIt_RefusesWithoutEchoingIt(string value, string reason)
    {
        var option = WorkerHealth.Option();
        var parse = new RootCommand { option }.Parse(["--health-urls", value]);

        var error = Assert.Throws<SettingException>(() => WorkerHealth.ResolveUrls(parse, option));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PW", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_WithHealthUrls_IsLiveAndReadyWhileRunningThenExitsZero()
    {
        using var dir = new TempDir();
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        var port = ServerProcess.FreePort();
        // --duration counts from the end of setup, when the processor turns ready.
        using var process = Start(dir, null, "process", "--bus", $"kafka://{kafka.BootstrapServers}", "--store", $"duckdb://{dir.File("p.duckdb")}", "--session-timeout", "3", "--duration", "5", "--health-urls", Url(port));
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(Url(port)), Timeout = TimeSpan.FromSeconds(5) };

        await WaitForAsync(http, "/health/ready", process, stderr);
        await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.OK, "ready", "process");
        await AssertAnswersAsync(http, "/health/live", HttpStatusCode.OK, "live", null);

        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.True(process.ExitCode == 0, $"process exited {process.ExitCode}: {await stderr}");
        Assert.Contains($"health: {Url(port)}/health/ready", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_WithHealthUrlsFromTheEnvironment_TurnsReadyThenExitsZero()
    {
        using var dir = new TempDir();
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        var port = ServerProcess.FreePort();
        var environment = new Dictionary<string, string> { [WorkerHealth.UrlsVariable] = Url(port) };
        using var process = Start(dir, environment, "ingest", "--bus", $"kafka://{kafka.BootstrapServers}", "--feed", "synthetic", "--rate", "100", "--duration", "6");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(Url(port)), Timeout = TimeSpan.FromSeconds(5) };

        await WaitForAsync(http, "/health/ready", process, stderr);
        await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.OK, "ready", "ingest");

        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.True(process.ExitCode == 0, $"ingest exited {process.ExitCode}: {await stderr}");
        Assert.Contains($"health: {Url(port)}/health/ready", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_WithHealthUrlsOnNats_TurnsReadyAndStopsOnSigterm()
    {
        using var dir = new TempDir();
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        var port = ServerProcess.FreePort();
        // Nothing is delivered: no alert is published, so the webhook is never called.
        var environment = new Dictionary<string, string> { ["BREADBOARD_WEBHOOK_URL"] = "http://127.0.0.1:9/hook", ["BREADBOARD_WEBHOOK_SECRET"] = "health-test" };
        using var process = Start(dir, environment, "notify", "--channel", "webhook", "--alerts", nats.Url, "--health-urls", Url(port));
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(Url(port)), Timeout = TimeSpan.FromSeconds(5) };
            await WaitForAsync(http, "/health/ready", process, stderr);
            await AssertAnswersAsync(http, "/health/ready", HttpStatusCode.OK, "ready", "notify");
            await AssertAnswersAsync(http, "/health/live", HttpStatusCode.OK, "live", null);

            // What Kubernetes sends to stop a pod: the notifier stops cleanly.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Ct);
            }

            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
            // 130 ("stopped") when the signal lands while the notifier still loads its state, 0 once it reads.
            Assert.True(process.ExitCode is 0 or 130, $"notify exited {process.ExitCode}: {await stderr}");
            Assert.Contains($"health: {Url(port)}/health/ready", await stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
    }

    [Theory]
    [InlineData("ingest")]
    [InlineData("process")]
    [InlineData("sink")]
    [InlineData("notify")]
    public async Task Worker_WithBadHealthUrls_ExitsWith2AndOneLineNamingTheSetting(string role)
    {
        using var dir = new TempDir();
        var environment = new Dictionary<string, string> { ["BREADBOARD_WEBHOOK_URL"] = "http://127.0.0.1:9/hook", ["BREADBOARD_WEBHOOK_SECRET"] = "health-test" };
        // Nothing is contacted: the URL is refused before any backend is opened.
        string[] args = role == "notify"
            ? ["notify", "--channel", "webhook", "--alerts", "nats://127.0.0.1:9", "--health-urls", "ftp://0.0.0.0:8080"]
            : [role, "--bus", "kafka://127.0.0.1:9", "--health-urls", "ftp://0.0.0.0:8080"];

        var result = await CliProcess.RunAsync(dir.Path, args, environment, timeoutSeconds: 60);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: --health-urls (env BREADBOARD_HEALTH_URLS) = 'ftp://0.0.0.0:8080': ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_WithHealthPortInUse_ExitsWith2AndOneLineSayingItCannotListen()
    {
        using var dir = new TempDir();
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = Url(((IPEndPoint)taken.LocalEndpoint).Port);

        var result = await CliProcess.RunAsync(dir.Path, ["process", "--bus", "kafka://127.0.0.1:9", "--health-urls", url], timeoutSeconds: 60);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"error: --health-urls (env BREADBOARD_HEALTH_URLS) = '{url}': cannot listen: ", line, StringComparison.Ordinal);
    }

    private static string Url(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");

    private static Process Start(TempDir dir, IDictionary<string, string>? environment, params string[] args) =>
        Process.Start(CliProcess.StartInfo(dir.Path, environment, args))!;

    /// <summary>Polls <paramref name="path"/> until it answers 200; fails if the CLI exits first or the deadline passes.</summary>
    private static async Task WaitForAsync(HttpClient http, string path, Process process, Task<string> stderr)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"the CLI exited {process.ExitCode} before {path} answered 200: {await stderr}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.True(clock.Elapsed < ReadyDeadline, $"{path} did not answer 200 within {ReadyDeadline.TotalSeconds} s");
            await Task.Delay(100, Ct);
        }
    }

    private static async Task AssertAnswersAsync(HttpClient http, string path, HttpStatusCode code, string status, string? role)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        Assert.Equal(code, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(status, body.RootElement.GetProperty("status").GetString());
        if (role is null)
        {
            Assert.False(body.RootElement.TryGetProperty("role", out _));
        }
        else
        {
            Assert.Equal(role, body.RootElement.GetProperty("role").GetString());
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Nats;
using Breadboard.Notify.Channels;
using Breadboard.TestKit;
using Breadboard.TestKit.Http;
using Breadboard.TestKit.Nats;

namespace Breadboard.Cli.Tests.Nats;

/// <summary>The CLI's alert roles against a real nats-server: replay publishing, alerts replay, notify killed and restarted, silences.</summary>
public sealed class NatsAlertsTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private static async Task<List<string>> StreamOf(NatsServerProcess server, CancellationToken ct)
    {
        using var dir = new TempDir();
        var read = await CliProcess.RunAsync(dir.Path, ["alerts", "replay", "--since", "2000-01-01", "--out", dir.File("stream.ndjson"), "--alerts", server.Url]);
        Assert.Equal(0, read.ExitCode);
        return [.. File.ReadAllLines(dir.File("stream.ndjson")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)];
    }

    [Fact]
    public async Task Replay_WithNatsAlerts_PublishesEachAlertOnce_EvenWhenRunTwice_AndAlertsReplayReadsThemBack()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        string[] replay = ["replay", "-i", Golden("ticks.ndjson"), "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"), "-q", "--alerts", server.Url];

        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, replay)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, replay)).ExitCode); // re-published ids are dropped by the server

        var read = await CliProcess.RunAsync(dir.Path, ["alerts", "replay", "--since", "2000-01-01", "--out", dir.File("stream.ndjson"), "--alerts", server.Url]);
        Assert.Equal(0, read.ExitCode);
        var expected = File.ReadAllLines(Golden("expected-alerts.ndjson"));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(), File.ReadAllLines(dir.File("stream.ndjson")).Order());

        var one = await CliProcess.RunAsync(dir.Path, ["alerts", "replay", "--since", "2000-01-01", "--subject", "alerts.volume_surge", "--out", dir.File("surges.ndjson"), "--alerts", server.Url]);
        Assert.Equal(0, one.ExitCode);
        Assert.Equal(expected.Where(l => l.Contains("\"rule\":\"volume_surge\"", StringComparison.Ordinal)).Order(), File.ReadAllLines(dir.File("surges.ndjson")).Order());
    }

    [Fact]
    public async Task Notify_KilledTwiceMidStreamAndRestarted_EveryAlertReachesTheWebhook_NoneLost()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var deliveries = new ConcurrentQueue<(string DeliveryId, string[] AlertIds)>();
        await using var receiver = await HttpReceiver.StartAsync(
            request =>
            {
                request.Headers.TryGetValue(WebhookSignature.Header, out var signature);
                if (WebhookSignature.Verify("cli-secret", signature, request.Body, DateTimeOffset.UtcNow) != SignatureCheck.Valid)
                {
                    return Task.FromResult((401, "bad signature"));
                }

                using var body = JsonDocument.Parse(request.Body);
                deliveries.Enqueue((request.Headers[WebhookSignature.DeliveryIdHeader], [.. body.RootElement.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetString()!)]));
                return Task.FromResult((200, "ok"));
            },
            ct);

        // One alert per symbol: each is its own notification under the default repeat interval.
        var alerts = Enumerable.Range(0, 600).Select(i =>
        {
            var start = 1_767_225_600_000L + (i * 1_000L);
            var symbol = $"SYM{i:D4}";
            return new Alert(Alert.MakeId("price_drop", symbol, "1m", start), "price_drop", symbol, "1m", start, start + 60_000, -7, -5, start + 60_000);
        }).ToList();
        Assert.True(NatsAlertOptions.TryParse(server.Url, out var options, out _));
        await using (var bus = await NatsAlertBus.ConnectAsync(options!, cancellationToken: ct))
        {
            foreach (var alert in alerts)
            {
                await bus.PublishAsync(alert, ct);
            }

            await bus.FlushAsync(ct);
        }

        var environment = new Dictionary<string, string> { ["BREADBOARD_WEBHOOK_URL"] = receiver.Url + "hook", ["BREADBOARD_WEBHOOK_SECRET"] = "cli-secret" };
        // A short ack wait: alerts the killed process held come back to its successor after 3 s.
        string[] notify = ["notify", "--channel", "webhook", "--from", "beginning", "--group-wait", "0s", "--ack-wait", "3s", "--alerts", server.Url];
        foreach (var killAfter in new[] { 100, 300 })
        {
            using var process = Process.Start(CliProcess.StartInfo(dir.Path, environment, notify))!;
            var stderr = process.StandardError.ReadToEndAsync(ct); // drained, so the log never blocks the process
            _ = process.StandardOutput.ReadToEndAsync(ct);
            var clock = Stopwatch.StartNew();
            while (deliveries.Count < killAfter)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"notify delivered only {deliveries.Count} of {killAfter}");
                if (process.HasExited)
                {
                    Assert.Fail("notify exited: " + await stderr);
                }

                await Task.Delay(5, ct);
            }

            process.Kill(entireProcessTree: true); // SIGKILL, mid-delivery
            await process.WaitForExitAsync(ct);
        }

        using (var last = Process.Start(CliProcess.StartInfo(dir.Path, environment, notify))!)
        {
            _ = last.StandardError.ReadToEndAsync(ct);
            _ = last.StandardOutput.ReadToEndAsync(ct);
            var clock = Stopwatch.StartNew();
            while (deliveries.Select(d => d.DeliveryId).Distinct().Count() < alerts.Count && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50, ct);
            }

            await Task.Delay(1_000, ct); // anything delivered twice would arrive now
            last.Kill(entireProcessTree: true);
        }

        // Exactly once to a receiver that drops repeated Breadboard-Delivery-Ids; the raw repeats are only the
        // notification in flight at each kill (delivered, not yet recorded).
        var unique = deliveries.DistinctBy(d => d.DeliveryId).SelectMany(d => d.AlertIds).ToList();
        Assert.Equal(alerts.Select(a => a.Id).Order(), unique.Order());
        Assert.InRange(deliveries.Count - unique.Count, 0, 2);
    }

    [Fact]
    public async Task Silences_CreatedListedAndExpired_ThroughTheCli_OnNats()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var created = await CliProcess.RunAsync(dir.Path, ["silences", "create", "--symbol", "BTC-*", "--rule", "price_drop", "--duration", "2h", "--comment", "maintenance", "--alerts", server.Url]);
        Assert.Equal(0, created.ExitCode);
        var id = created.Stdout.Split(' ', ':')[1];

        var listed = await CliProcess.RunAsync(dir.Path, ["silences", "list", "--alerts", server.Url]);
        Assert.Contains(id, listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("BTC-*", listed.Stdout, StringComparison.Ordinal);

        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, ["silences", "expire", id, "--alerts", server.Url])).ExitCode);
        Assert.DoesNotContain(id, (await CliProcess.RunAsync(dir.Path, ["silences", "list", "--alerts", server.Url])).Stdout, StringComparison.Ordinal);
        Assert.Contains(id, (await CliProcess.RunAsync(dir.Path, ["silences", "list", "--all", "--alerts", server.Url])).Stdout, StringComparison.Ordinal);

        var bad = await CliProcess.RunAsync(dir.Path, ["silences", "create", "--duration", "2h", "--alerts", server.Url]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("error: silence: give at least one of rule, symbol, channel", bad.ErrorLines.Single());
    }

    [Fact]
    public async Task Up_WithNatsAlerts_PublishesEachAlertOnce_AndTheDashboardShowsThemLive()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        // 7 minutes of event time at 30×: the alerts fire about 14 s in, after the browser-side client connected.
        using var up = Process.Start(CliProcess.StartInfo(dir.Path, null, "up", "--feed", $"replay:{Golden("ticks.ndjson")}", "--speed", "30", "--duration", "30", "--urls", url, "--store", $"duckdb://{dir.File("up.duckdb")}", "--alerts", server.Url))!;
        var stderr = up.StandardError.ReadToEndAsync(ct);
        _ = up.StandardOutput.ReadToEndAsync(ct);

        var clock = Stopwatch.StartNew();
        System.Net.WebSockets.ClientWebSocket socket;
        while (true)
        {
            // A client socket is spent by a failed connect: a new one per attempt.
            socket = new System.Net.WebSockets.ClientWebSocket();
            try
            {
                await socket.ConnectAsync(new Uri(url.Replace("http", "ws", StringComparison.Ordinal) + "/api/stream"), ct);
                break;
            }
            catch (System.Net.WebSockets.WebSocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20) && !up.HasExited)
            {
                socket.Dispose();
                await Task.Delay(100, ct);
            }
        }

        using var connected = socket;
        using (var http = new HttpClient { BaseAddress = new Uri(url) })
        {
            using var ready = JsonDocument.Parse(await http.GetStringAsync(new Uri("/health/ready", UriKind.Relative), ct));
            var alertsBackend = ready.RootElement.GetProperty("backends").EnumerateArray().Single(b => b.GetProperty("name").GetString() == "alerts");
            Assert.Equal("up", alertsBackend.GetProperty("status").GetString());
            Assert.Equal(server.Url, alertsBackend.GetProperty("url").GetString());
        }

        var expected = File.ReadAllLines(Golden("expected-alerts.ndjson")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).Order().ToList();
        var live = new List<string>();
        var buffer = new byte[1 << 16];
        using (var reading = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            reading.CancelAfter(TimeSpan.FromSeconds(40));
            while (live.Count < expected.Count)
            {
                using var message = new MemoryStream();
                System.Net.WebSockets.WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, reading.Token);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                using var json = JsonDocument.Parse(message.ToArray());
                if (json.RootElement.GetProperty("type").GetString() == "alert")
                {
                    live.Add(json.RootElement.GetProperty("alert").GetProperty("id").GetString()!);
                }
            }
        }

        await up.WaitForExitAsync(ct);
        Assert.True(up.ExitCode == 0, await stderr);
        Assert.Equal(expected, live.Order());
        var stream = await StreamOf(server, ct);
        Assert.Equal(expected, stream.Order());
    }

    [Fact]
    public async Task Up_EmbeddedWithAWebhookConfigured_SendsOneSignedNotificationForTheOverlappingWindowsOfOneCrash()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var bodies = new ConcurrentQueue<JsonDocument>();
        await using var receiver = await HttpReceiver.StartAsync(
            request =>
            {
                request.Headers.TryGetValue(WebhookSignature.Header, out var signature);
                if (WebhookSignature.Verify("embedded-secret", signature, request.Body, DateTimeOffset.UtcNow) != SignatureCheck.Valid)
                {
                    return Task.FromResult((401, "bad signature"));
                }

                bodies.Enqueue(JsonDocument.Parse(request.Body));
                return Task.FromResult((200, "ok"));
            },
            ct);
        var environment = new Dictionary<string, string> { ["BREADBOARD_WEBHOOK_URL"] = receiver.Url + "hook", ["BREADBOARD_WEBHOOK_SECRET"] = "embedded-secret" };

        var result = await CliProcess.RunAsync(dir.Path, ["up", "--feed", $"replay:{Golden("ticks.ndjson")}", "--speed", "1000000", "--no-web", "--store", $"duckdb://{dir.File("up.duckdb")}"], environment);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("notifications: webhook", result.Stdout, StringComparison.Ordinal);
        // Four overlapping 5m windows of one ETH-USD drop: one notification, for the first of them.
        var only = Assert.Single(bodies);
        var alerts = only.RootElement.GetProperty("alerts");
        Assert.Equal("price_drop:ETH-USD:5m:1767347820000", Assert.Single(alerts.EnumerateArray()).GetProperty("id").GetString());
        Assert.False(only.RootElement.GetProperty("reminder").GetBoolean());
    }

    [Fact]
    public async Task AlertSettings_NatsUnreachable_OneLineErrorExit2()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var url = server.Url;
        await server.KillAsync();
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["alerts", "replay", "--since", "2026-01-01", "--alerts", url]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: --alerts (env BREADBOARD_ALERTS) = '{url}': NATS {url}", result.ErrorLines.Single(), StringComparison.Ordinal);
    }
}

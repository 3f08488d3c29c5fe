using System.Text.Json;
using Breadboard.TestKit.Nats;

namespace Breadboard.Cli.Tests.Nats;

/// <summary><c>breadboard alerts publish</c>, as the Airflow DAG's failure callback runs it, against a real nats-server.</summary>
public sealed class NatsAlertPublishTests
{
    private static readonly string[] BatchFailed =
        ["alerts", "publish", "--rule", "batch_failed", "--symbol", "historical_fetch/fetch_symbols", "--value", "4", "--threshold", "4", "--ts", "2025-01-01T06:00:00+00:00"];

    private const string BatchFailedId = "batch_failed:historical_fetch/fetch_symbols:batch:1735711200000";

    [Fact]
    public async Task AlertsPublish_SameAlertTwice_OneMessageOnAlertsBatchFailed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();

        var first = await CliProcess.RunAsync(dir.Path, [.. BatchFailed, "--alerts", server.Url]);
        var again = await CliProcess.RunAsync(dir.Path, [.. BatchFailed, "--alerts", server.Url]); // a callback that fired twice

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(BatchFailedId, first.Stdout.Trim());
        Assert.Equal(BatchFailedId, again.Stdout.Trim());
        Assert.Contains("already on the stream", again.Stderr, StringComparison.Ordinal);

        var stored = await ReplayAsync(dir, server, "alerts.batch_failed");
        var alert = Assert.Single(stored).RootElement;
        Assert.Equal(BatchFailedId, alert.GetProperty("id").GetString());
        Assert.Equal("batch_failed", alert.GetProperty("rule").GetString());
        Assert.Equal("historical_fetch/fetch_symbols", alert.GetProperty("symbol").GetString());
        Assert.Equal(4, alert.GetProperty("value").GetDouble());
        Assert.Equal("2025-01-01T06:00:00.000Z", alert.GetProperty("ts").GetString());
        Assert.Single(await ReplayAsync(dir, server, "alerts.*"));
        Assert.Empty(await ReplayAsync(dir, server, "alerts.price_drop"));
    }

    [Fact]
    public async Task AlertsPublish_AnotherRunsTime_IsAnotherAlert()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        using var dir = new TempDir();

        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, [.. BatchFailed, "--alerts", server.Url])).ExitCode);
        var next = await CliProcess.RunAsync(dir.Path, [.. BatchFailed[..^1], "2025-01-01T12:00:00Z", "--alerts", server.Url]);

        Assert.True(next.ExitCode == 0, next.Stderr);
        Assert.Equal("batch_failed:historical_fetch/fetch_symbols:batch:1735732800000", next.Stdout.Trim());
        Assert.Equal(2, (await ReplayAsync(dir, server, "alerts.batch_failed")).Count);
    }

    [Fact]
    public async Task AlertsPublish_WithMemoryAlerts_PrintsTheAlert()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, BatchFailed);

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var alert = JsonDocument.Parse(result.Stdout);
        Assert.Equal(BatchFailedId, alert.RootElement.GetProperty("id").GetString());
        Assert.Contains("memory://", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlertsPublish_BadTs_OneLineErrorExit2()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, [.. BatchFailed[..^1], "yesterday"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: --ts 'yesterday': expected an ISO-8601 UTC time, a date (yyyy-MM-dd) or epoch milliseconds", result.ErrorLines.Single());
    }

    private static async Task<List<JsonDocument>> ReplayAsync(TempDir dir, NatsServerProcess server, string subject)
    {
        var file = dir.File($"replay-{Guid.NewGuid():N}.ndjson");
        var read = await CliProcess.RunAsync(dir.Path, ["alerts", "replay", "--since", "2000-01-01", "--subject", subject, "--out", file, "--alerts", server.Url]);
        Assert.True(read.ExitCode == 0, read.Stderr);
        return [.. File.ReadAllLines(file).Select(l => JsonDocument.Parse(l))];
    }
}

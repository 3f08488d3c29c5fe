using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Kafka;

/// <summary>
/// <c>process</c> (two group members) following its pipeline file while ticks arrive through Kafka (librdkafka's
/// mock cluster): a file that does not load is reported on /health/ready and /metrics while the old definition
/// runs on; a valid change reaches every member, and each symbol's alerts are a run of the old definition up to
/// its partition's switch and of the new one after.
/// </summary>
public class ProcessReloadTests
{
    private const string Windows = """
        version: 1
        out_of_orderness: 2s
        windows:
          - { name: "10s", type: tumbling, size: 10s }
        indicators:
          - { name: fast, window: "10s", type: sma, of: close, period: 3 }
          - { name: slow, window: "10s", type: sma, of: close, period: 8 }
        """;

    private const string A = Windows + """

        rules:
          - { name: cross, window: "10s", when: "crosses_above(fast, slow)" }
          - { name: up, window: "10s", when: "change_pct(close, 1) > 0.05" }
        """;

    private const string B = Windows + """

        rules:
          - { name: cross, window: "10s", when: "crosses_above(fast, slow) or crosses_below(fast, slow)" }
          - { name: up, window: "10s", when: "change_pct(close, 1) > 0.02" }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Process_FollowsItsFile_ReportsARefusedOne_AndSwitchesEveryMember()
    {
        using var dir = new TempDir();
        var input = KafkaPipelineTests.WriteTicks(dir, 150_000, disorder: false);
        await File.WriteAllTextAsync(dir.File("a.yaml"), A, Ct);
        await File.WriteAllTextAsync(dir.File("b.yaml"), B, Ct);
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", dir.File("a.yaml"), "--input", input, "--bars-out", dir.File("a-bars.ndjson"), "--alerts-out", dir.File("a-alerts.ndjson"));
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", dir.File("b.yaml"), "--input", input, "--bars-out", dir.File("b-bars.ndjson"), "--alerts-out", dir.File("b-alerts.ndjson"));

        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, A, Ct);
        var store = $"duckdb://{dir.File("p.duckdb")}";
        var health = $"http://127.0.0.1:{ServerProcess.FreePort()}";

        // ~1,250 s of event time at 100×: ticks arrive for ~12 s while the file changes.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "100"], timeoutSeconds: 180);
        var info = CliProcess.StartInfo(dir.Path, null, "process", "--pipeline", pipeline, "--bus", bus, "--store", store, "--consumers", "2", "--reload-every", "0.2", "--health-urls", health, "--drain", "--idle-timeout", "2", "--session-timeout", "3");
        using var process = Process.Start(info)!;
        var stdout = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.Add(e.Data ?? "");
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        string digestA, digestB;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(health) };
            await UntilAsync(async () => (await ReadyAsync(http))?.Stale is null && Consumed(stdout) > 20_000);
            digestA = (await ReadyAsync(http))!.Digest;

            await File.WriteAllTextAsync(pipeline, B.Replace("windows:", "windows: [", StringComparison.Ordinal), Ct);
            await UntilAsync(async () => (await ReadyAsync(http))?.Stale is not null);
            var stale = (await ReadyAsync(http))!;
            Assert.Equal(digestA, stale.Digest);
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);
            Assert.Matches(@"(?m)^breadboard_pipeline_stale\{[^}]*\} 1$", metrics);
            Assert.Matches(@"(?m)^breadboard_pipeline_reload_refusals_total\{[^}]*\} 1$", metrics);

            await File.WriteAllTextAsync(pipeline, B, Ct);
            await UntilAsync(async () => (await ReadyAsync(http)) is { Stale: null } r && r.Digest != digestA);
            digestB = (await ReadyAsync(http))!.Digest;
            var reloadedMetrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);
            Assert.Matches(@"(?m)^breadboard_pipeline_stale\{[^}]*\} 0$", reloadedMetrics);

            var ingested = await ingest;
            Assert.True(ingested.ExitCode == 0, ingested.Stderr);
            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(120), Ct);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // a failed assertion must not leave it consuming
            }
        }

        await CliProcess.RunSucceedsAsync(dir, "export", "--store", store, "--bars-out", dir.File("p-bars.ndjson"), "--alerts-out", dir.File("p-alerts.ndjson"));
        Assert.Equal(CliProcess.SortedLines(dir.File("a-bars.ndjson")), CliProcess.SortedLines(dir.File("p-bars.ndjson")));

        // Per symbol (a symbol lives on one partition, which switched once): the old definition's alerts up to
        // the switch, then the new one's.
        var stored = File.ReadAllLines(dir.File("p-alerts.ndjson")).Select(Parse).ToList();
        var replayA = File.ReadAllLines(dir.File("a-alerts.ndjson")).Select(Parse).ToList();
        var replayB = File.ReadAllLines(dir.File("b-alerts.ndjson")).Select(Parse).ToList();
        Assert.All(stored, a => Assert.Contains(a.Digest, new[] { digestA, digestB }));
        Assert.Contains(stored, a => a.Digest == digestB);
        foreach (var symbol in stored.Select(a => a.Symbol).Distinct())
        {
            var before = stored.Where(a => a.Symbol == symbol && a.Digest == digestA).ToList();
            var after = stored.Where(a => a.Symbol == symbol && a.Digest == digestB).ToList();
            var lastBefore = before.Count == 0 ? long.MinValue : before.Max(a => a.Ts);
            var firstAfter = after.Count == 0 ? long.MaxValue : after.Min(a => a.Ts);
            Assert.True(lastBefore < firstAfter, $"{symbol}: an alert of the old definition after one of the new");
            Assert.Equal(replayA.Where(a => a.Symbol == symbol && a.Ts <= lastBefore).Select(a => a.Line).Order(), before.Select(a => a.Line).Order());
            Assert.Equal(replayB.Where(a => a.Symbol == symbol && a.Ts >= firstAfter).Select(a => a.Line).Order(), after.Select(a => a.Line).Order());
        }
    }

    private sealed record StoredAlert(string Line, string Symbol, long Ts, string? Digest);

    private sealed record Ready(string Digest, string? Stale);

    private static StoredAlert Parse(string line)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.True(EventTime.TryParse(root.GetProperty("ts").GetString()!, out var ts));
        return new StoredAlert(line, root.GetProperty("symbol").GetString()!, ts, root.TryGetProperty("pipeline", out var p) ? p.GetString() : null);
    }

    private static async Task<Ready?> ReadyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            var pipeline = json.RootElement.GetProperty("pipeline");
            return response.StatusCode == HttpStatusCode.OK
                ? new Ready(pipeline.GetProperty("digest").GetString()!, pipeline.GetProperty("stale").GetString())
                : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static long Consumed(List<string> stdout)
    {
        lock (stdout)
        {
            var line = stdout.LastOrDefault(l => l.StartsWith("consumed ", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ')[1], System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> done)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await done())
            {
                return;
            }

            await Task.Delay(50, Ct);
        }

        Assert.Fail("timed out");
    }
}

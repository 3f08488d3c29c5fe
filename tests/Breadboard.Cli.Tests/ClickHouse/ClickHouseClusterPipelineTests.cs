using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.ClickHouse;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.Cli.Tests.ClickHouse;

/// <summary>
/// The pipeline on a real replicated cluster (ZooKeeper and three 18.16 replicas), every part a separate process:
/// <c>store migrate</c>, <c>replay</c>, <c>ingest</c> → Kafka (librdkafka's mock) → two <c>process</c> members, and
/// <c>api</c>, all with a store URL naming the three replicas. One replica is SIGKILLed mid-load and comes back.
/// </summary>
public sealed class ClickHouseClusterPipelineTests
{
    private const int TickCount = 120_000;
    private const string Cluster = ClickHouseClusterProcess.Cluster;

    // A restarted replica waits out its old ZooKeeper session before it fetches what it missed (about 10 s).
    private static readonly TimeSpan CatchUpWait = TimeSpan.FromSeconds(120);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pipeline_OnThreeReplicas_OneKilledMidLoad_StoresWhatAnUntroubledRunStores_OnEveryReplica_AndTheApiAnswersThroughout()
    {
        await using var cluster = await ClickHouseClusterProcess.StartAsync(log: Log, cancellationToken: Ct);
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        using var dir = new TempDir();
        var input = KafkaPipelineTests.WriteTicks(dir, TickCount, disorder: true);
        var bus = $"kafka://{kafka.BootstrapServers}";
        var replicas = string.Join(",", Enumerable.Range(0, 3).Select(i => new Uri(cluster.Url(i)).Authority));
        string Store(string database) => $"clickhouse://{replicas}/{database}?cluster={Cluster}";
        string[] Processor(string database, params string[] more) => ["process", "--bus", bus, "--store", Store(database), "--session-timeout", "3", .. more];

        // store migrate from two processes at once, then again: every migration applied once, the second run a no-op.
        var together = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => CliProcess.RunAsync(dir.Path, ["store", "migrate", "--store", Store("replayed")], timeoutSeconds: 180)));
        Assert.All(together, run => Assert.True(run.ExitCode == 0, run.Stderr));
        var again = await CliProcess.RunAsync(dir.Path, ["store", "migrate", "--store", Store("replayed")]);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("nothing to do", again.Stdout, StringComparison.Ordinal);
        foreach (var database in new[] { "whole", "failover" })
        {
            await CliProcess.RunSucceedsAsync(dir, "store", "migrate", "--store", Store(database));
        }

        // replay writes the same rows to every replica, and they are what it printed.
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "-i", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"), "--store", Store("replayed"));
        await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store("replayed"), "--bars-out", dir.File("replayed-bars.ndjson"), "--alerts-out", dir.File("replayed-alerts.ndjson"));
        Assert.Equal(CliProcess.SortedLines(dir.File("replay-alerts.ndjson")), CliProcess.SortedLines(dir.File("replayed-alerts.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("replay-bars.ndjson")), CliProcess.SortedLines(dir.File("replayed-bars.ndjson")));
        await AssertEveryReplicaHoldsTheSameAsync(cluster, "replayed");

        // The api over the failover database, asked all along.
        var apiUrl = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        await using var api = CliBackground.Start(dir.Path, ["api", "--urls", apiUrl, "--store", Store("failover")]);
        using var http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(30) };
        using var stopAsking = new CancellationTokenSource();
        await api.WaitUntilAnsweringAsync(http);
        var asking = AskAllAlongAsync(http, stopAsking.Token);

        // Ticks arrive for ~20 s (1,000 s of event time at 50×); replica 0, the first the members write to, dies
        // once both have written, and comes back ~15 s later while they go on.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "50"], timeoutSeconds: 180);
        await using (var first = CliBackground.Start(dir.Path, Processor("failover", "--idle-timeout", "60")))
        await using (var second = CliBackground.Start(dir.Path, Processor("failover", "--idle-timeout", "60")))
        {
            await first.WaitForLineAsync(IsAWrite, TimeSpan.FromSeconds(60));
            await second.WaitForLineAsync(IsAWrite, TimeSpan.FromSeconds(60));
            await cluster.KillReplicaAsync(0);
            Log($"replica 0 killed; ingest {(ingest.IsCompleted ? "done" : "running")}");
            var killedMidStream = !ingest.IsCompleted;
            await Task.Delay(TimeSpan.FromSeconds(15), Ct);
            await cluster.RestartReplicaAsync(0, Ct);

            var ingested = await ingest;
            Assert.True(ingested.ExitCode == 0, ingested.Stderr);
            Assert.True(killedMidStream, "ingest ended before the replica was killed; the input is too short for this machine");
            Assert.True(first.IsRunning && second.IsRunning, "a member stopped: " + first.Output + second.Output);
        }

        await stopAsking.CancelAsync();
        var answers = await asking;
        Log($"api: {answers.Asked} requests, {answers.Failures.Count} failed, {(answers.SawReplicaDown ? "saw" : "never saw")} a replica down");
        Assert.Empty(answers.Failures);
        Assert.True(answers.SawReplicaDown, "/health/ready never listed the killed replica as down");

        // The restarted replica catches up first: a drain that read its checkpoints from a replica still behind
        // would read some input again (harmless, every write is idempotent, but not what this test is about).
        await AssertEveryReplicaHoldsTheSameAsync(cluster, "failover");

        // The reference: one untroubled processor from the start. Then the members' checkpoints are drained.
        await CliProcess.RunSucceedsAsync(dir, Processor("whole", "--drain", "--idle-timeout", "1"));
        await CliProcess.RunSucceedsAsync(dir, Processor("failover", "--drain", "--idle-timeout", "1"));
        foreach (var name in new[] { "whole", "failover" })
        {
            await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(name), "--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson"));
        }

        var bars = CliProcess.SortedLines(dir.File("whole-bars.ndjson"));
        Assert.NotEmpty(bars);
        Assert.NotEmpty(CliProcess.SortedLines(dir.File("whole-alerts.ndjson")));
        await using (var whole = ClickHouseStore.Open(Store("whole")))
        await using (var failover = ClickHouseStore.Open(Store("failover")))
        {
            Assert.Multiple(
                () => Assert.Equal(bars, CliProcess.SortedLines(dir.File("failover-bars.ndjson"))),
                () => Assert.Equal(CliProcess.SortedLines(dir.File("whole-alerts.ndjson")), CliProcess.SortedLines(dir.File("failover-alerts.ndjson"))));
            Assert.Equal(await whole.ReadCountsAsync(Ct), await failover.ReadCountsAsync(Ct));
        }

        var expected = await AssertEveryReplicaHoldsTheSameAsync(cluster, "whole");
        Assert.Equal(expected.Data, (await AssertEveryReplicaHoldsTheSameAsync(cluster, "failover")).Data);
    }

    private static bool IsAWrite(string line) => line.StartsWith("consumed ", StringComparison.Ordinal) && !line.StartsWith("consumed 0 ", StringComparison.Ordinal);

    /// <summary>
    /// Waits until the three replicas hold the same rows of <paramref name="database"/> (a restarted one catches
    /// up) and returns them.
    /// </summary>
    private static async Task<Contents> AssertEveryReplicaHoldsTheSameAsync(ClickHouseClusterProcess cluster, string database)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var contents = new List<Contents>();
            for (var replica = 0; replica < 3; replica++)
            {
                contents.Add(await ContentsAsync(cluster, replica, database));
            }

            if (contents.Distinct().Count() == 1)
            {
                Log($"{database}: every replica holds {contents[0]}");
                return contents[0];
            }

            Assert.True(clock.Elapsed < CatchUpWait, $"{database}: the replicas differ after {CatchUpWait.TotalSeconds:0} s:\n{string.Join("\n", contents)}");
            await Task.Delay(1_000, Ct);
        }
    }

    /// <param name="StoredTicks">Tick rows as stored, without FINAL: the same on every replica once they agree.</param>
    /// <param name="Data">Counts and order-free fingerprints of the distinct ticks, the bars, the alerts and the
    /// checkpoints' positions and counts: what one run must share with another over the same input.</param>
    private sealed record Contents(string StoredTicks, string Data);

    private static async Task<Contents> ContentsAsync(ClickHouseClusterProcess cluster, int replica, string database)
    {
        using var client = new ClickHouseHttpClient(new Uri(cluster.Url(replica)), database, null, null, opts: ClickHouseClientOpts.Default with { MaxRetries = 0 });
        async Task<string> RowAsync(string sql) =>
            (await client.QueryAsync(sql, row => string.Join(" ", row.EnumerateObject().Select(p => $"{p.Name}={p.Value}")), Ct))[0];
        return new Contents(
            await RowAsync("SELECT toString(count()) AS stored_ticks FROM ticks_local"),
            string.Join("; ", [
                await RowAsync("SELECT toString(count()) AS ticks, toString(sum(h)) AS tick_hash FROM (SELECT DISTINCT cityHash64(symbol, ts, trade_id, price, volume) AS h FROM ticks_local)"),
                await RowAsync("SELECT toString(count()) AS bars, toString(sum(cityHash64(symbol, `window`, window_start, open, high, low, close, volume, ifNull(vwap, -1), trades))) AS bar_hash FROM bars_local FINAL"),
                await RowAsync("SELECT toString(count()) AS alerts, toString(sum(cityHash64(id, rule, symbol, value, threshold, ts))) AS alert_hash FROM alerts_local FINAL"),
                await RowAsync("SELECT toString(count()) AS checkpoints, toString(sum(cityHash64(key, position, rejects, late, duplicates))) AS checkpoint_hash FROM checkpoints_local FINAL WHERE key NOT LIKE 'counts:%'")]));
    }

    private sealed record Answers(int Asked, List<string> Failures, bool SawReplicaDown);

    /// <summary>Asks <c>/health/ready</c> and <c>/api/symbols</c> every 200 ms until told to stop; any answer but 200 is a failure.</summary>
    private static async Task<Answers> AskAllAlongAsync(HttpClient http, CancellationToken stop)
    {
        var (asked, failures, sawDown) = (0, new List<string>(), false);
        while (!stop.IsCancellationRequested)
        {
            foreach (var path in new[] { "/health/ready", "/api/symbols" })
            {
                asked++;
                try
                {
                    using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);
                    var body = await response.Content.ReadAsStringAsync(Ct);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Add($"{path}: {(int)response.StatusCode} {body}");
                    }
                    else if (path == "/health/ready")
                    {
                        using var json = JsonDocument.Parse(body);
                        var servers = json.RootElement.GetProperty("backends")[0].GetProperty("servers");
                        sawDown |= servers.GetArrayLength() == 3 && servers.EnumerateArray().Count(s => s.GetProperty("status").GetString() == "down") == 1;
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Add($"{path}: {e.Message}");
                }
            }

            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                // Told to stop.
            }
        }

        return new Answers(asked, failures, sawDown);
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}

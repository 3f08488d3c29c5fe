using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Breadboard.ClickHouse;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.Cli.Tests.ClickHouse;

/// <summary>The CLI with <c>--store clickhouse://</c> against a real clickhouse-server 18.16.</summary>
public sealed class ClickHouseStoreCliTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    [Fact]
    public async Task Replay_IntoClickHouse_Twice_ExportGivesTheGoldenBarsAndAlertsOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/golden";
        string[] replay = ["replay", "-i", Golden("ticks.ndjson"), "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"), "-q", "--store", store];

        for (var run = 0; run < 2; run++)
        {
            var result = await CliProcess.RunAsync(dir.Path, replay);
            Assert.True(result.ExitCode == 0, result.Stderr);
        }

        var export = await CliProcess.RunAsync(dir.Path, ["export", "--bars-out", dir.File("stored-bars.ndjson"), "--alerts-out", dir.File("stored-alerts.ndjson"), "--store", store]);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal(File.ReadAllLines(Golden("expected-bars.ndjson")).Order(), File.ReadAllLines(dir.File("stored-bars.ndjson")).Order());
        Assert.Equal(File.ReadAllLines(Golden("expected-alerts.ndjson")).Order(), File.ReadAllLines(dir.File("stored-alerts.ndjson")).Order());
    }

    [Fact]
    public async Task StoreMigrate_RunTwice_AppliesEveryMigrationOnceThenNothing_AndPrintsClusterDdl()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/migrated";

        var first = await CliProcess.RunAsync(dir.Path, ["store", "migrate", "--store", store]);
        var second = await CliProcess.RunAsync(dir.Path, ["store", "migrate", "--store", store]);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("store migrate: applied 1, 2, 3, 4, 5 to migrated; now at version 5", first.Stdout.Trim());
        Assert.Equal("store migrate: migrated is at schema version 5; nothing to do", second.Stdout.Trim());

        var print = await CliProcess.RunAsync(dir.Path, ["store", "migrate", "--print", "--cluster", "breadboard", "--store", store]);
        Assert.Equal(0, print.ExitCode);
        Assert.StartsWith("CREATE DATABASE IF NOT EXISTS migrated ON CLUSTER breadboard;", print.Stdout, StringComparison.Ordinal);
        Assert.Contains("ENGINE = Distributed(breadboard, migrated, bars_local, cityHash64(symbol));", print.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_Unreachable_OneLineErrorExit2()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/gone";
        await server.KillAsync();
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["export", "--bars-out", dir.File("b.ndjson"), "--store", store]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: --store (env BREADBOARD_STORE) = '{store}': ", result.ErrorLines.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_StoreAnswersWithAnError_ReadyAnswers503NamingTheStore_AndReadyAgainOnceItIsMended()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/ready";
        await CliProcess.RunSucceedsAsync(dir, "store", "migrate", "--store", store);
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        await using var api = CliBackground.Start(dir.Path, ["api", "--urls", url, "--store", store]);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        await api.WaitUntilAnsweringAsync(http);
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync()).Status);

        // ClickHouse's own exception (neither DbException nor IOException) once escaped the check: a 500, not a 503.
        using var admin = new ClickHouseHttpClient(new Uri(server.Url), "default", null, null);
        await admin.ExecuteAsync("DROP DATABASE ready", ct);
        var broken = await ReadyAsync();
        await CliProcess.RunSucceedsAsync(dir, "store", "migrate", "--store", store);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, broken.Status);
        Assert.Contains("\"name\":\"store\",", broken.Body, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"down\",\"detail\":\"ClickHouse error 81", broken.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync()).Status);

        async Task<(HttpStatusCode Status, string Body)> ReadyAsync()
        {
            using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }
    }

    [Fact]
    public async Task Replay_ClickHouseKilledMidLoadAndRestarted_StoresEveryTickBarAndAlertOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var input = WriteDisorderedTicks(dir.File("ticks.ndjson"), 300_000);
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/outage";
        string[] outputs(string name) => ["--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson")];

        // The reference: the same replay into DuckDB, untroubled.
        await CliProcess.RunSucceedsAsync(dir, ["replay", "-q", "-i", input, .. outputs("reference"), "--store", $"duckdb://{dir.File("reference.duckdb")}"]);

        // 2,500 s of event time at 250×: about 10 s of paced replay, writing every second.
        using var replay = Process.Start(CliProcess.StartInfo(dir.Path, null, ["replay", "-q", "-i", input, .. outputs("paced"), "--speed", "250", "--store", store]))!;
        var stderr = replay.StandardError.ReadToEndAsync(ct);
        _ = replay.StandardOutput.ReadToEndAsync(ct);
        using var client = new ClickHouseHttpClient(new Uri(server.Url), "outage", null, null, opts: ClickHouseClientOpts.Default with { MaxRetries = 0 });
        var storedAtKill = 0L;
        var clock = Stopwatch.StartNew();
        while (storedAtKill == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30) && !replay.HasExited, "the replay stored nothing: " + (replay.HasExited ? await stderr : ""));
            await Task.Delay(200, ct);
            storedAtKill = await CountTicksAsync(client, ct);
        }

        // Down for longer than the client's own retries (about 6 s), so the store's outage loop has to carry the write.
        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(8), ct);
        await server.RestartAsync(ct);
        await replay.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(120), ct);

        Assert.True(replay.ExitCode == 0, await stderr);
        Assert.Contains("ClickHouse unreachable", await stderr, StringComparison.Ordinal);
        Assert.InRange(storedAtKill, 1, 299_999);
        await CliProcess.RunSucceedsAsync(dir, ["export", .. outputs("stored"), "--store", store]);
        Assert.Equal(CliProcess.SortedLines(dir.File("reference-bars.ndjson")), CliProcess.SortedLines(dir.File("stored-bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("reference-alerts.ndjson")), CliProcess.SortedLines(dir.File("stored-alerts.ndjson")));
        Assert.NotEmpty(CliProcess.SortedLines(dir.File("stored-alerts.ndjson")));

        await using var reference = DuckDbStore.Open(dir.File("reference.duckdb"));
        await reference.InitializeAsync(ct);
        var referenceTicks = await reference.QueryTicksAsync(new TickQuery(), ct).CountAsync(ct);
        var stored = (await client.QueryAsync("SELECT count() AS n, uniqExact(symbol, ts, trade_id) AS u FROM ticks FINAL", row => (N: row.GetProperty("n").GetInt64(), U: row.GetProperty("u").GetInt64()), ct))[0];
        Assert.Equal((referenceTicks, referenceTicks), (stored.N, stored.U));
        await using var clickHouse = ClickHouseStore.Open(store);
        Assert.Equal(await reference.ReadCountsAsync(ct), await clickHouse.ReadCountsAsync(ct));
    }

    [Fact]
    public async Task Replay_ClickHouseDownLongerThanRetryFor_FailsWithOneLineAndResumesFromItsCheckpoint()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var input = WriteDisorderedTicks(dir.File("ticks.ndjson"), 100_000);
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/bounded?retry_for=1s";
        string[] replay = ["replay", "-q", "-i", input, "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"), "--checkpoint", dir.File("replay.checkpoint"), "--checkpoint-every", "20000", "--speed", "400", "--store", store];

        using var paced = Process.Start(CliProcess.StartInfo(dir.Path, null, replay))!;
        var stderr = paced.StandardError.ReadToEndAsync(ct);
        _ = paced.StandardOutput.ReadToEndAsync(ct);
        while (!File.Exists(dir.File("replay.checkpoint")))
        {
            Assert.False(paced.HasExited, "the replay ended before its first checkpoint: " + (paced.HasExited ? await stderr : ""));
            await Task.Delay(100, ct);
        }

        await server.KillAsync();
        await paced.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(1, paced.ExitCode);
        Assert.StartsWith($"error: store: ClickHouse at {server.Url}/ did not answer", (await stderr).Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal)), StringComparison.Ordinal);

        await server.RestartAsync(ct);
        await CliProcess.RunSucceedsAsync(dir, [.. replay[..^4], "--store", store]); // resumes unpaced from the checkpoint
        await CliProcess.RunSucceedsAsync(dir, ["replay", "-q", "-i", input, "--bars-out", dir.File("reference-bars.ndjson"), "--alerts-out", dir.File("reference-alerts.ndjson")]);
        await CliProcess.RunSucceedsAsync(dir, ["export", "--bars-out", dir.File("stored-bars.ndjson"), "--alerts-out", dir.File("stored-alerts.ndjson"), "--store", store]);
        Assert.Equal(CliProcess.SortedLines(dir.File("reference-bars.ndjson")), CliProcess.SortedLines(dir.File("stored-bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("reference-alerts.ndjson")), CliProcess.SortedLines(dir.File("stored-alerts.ndjson")));
    }

    [Fact]
    public async Task Up_ClickHouseDownLongerThanRetryFor_ExitsWithOneLineInsteadOfHanging()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        using var up = Process.Start(CliProcess.StartInfo(dir.Path, null, "up", "--no-web", "--rate", "500", "--no-checkpoint", "--store", $"clickhouse://127.0.0.1:{server.HttpPort}/live?retry_for=1s"))!;
        var stderr = up.StandardError.ReadToEndAsync(ct);
        _ = up.StandardOutput.ReadToEndAsync(ct);
        using (var client = new ClickHouseHttpClient(new Uri(server.Url), "live", null, null))
        {
            await Eventually.UntilAsync(async token => await CountTicksAsync(client, token) > 0, TimeSpan.FromSeconds(60), "the pipeline's first ticks in ClickHouse", ct);
        }

        await server.KillAsync();
        await up.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(1, up.ExitCode);
        Assert.StartsWith("error: store: ClickHouse at ", (await stderr).Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_OnClickHouse_TheApiServesWhatThePipelineStored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/dashboard";
        using var up = Process.Start(CliProcess.StartInfo(dir.Path, null, "up", "--feed", $"replay:{Golden("ticks.ndjson")}", "--speed", "1000000", "--duration", "60", "--urls", url, "--store", store))!;
        var stderr = up.StandardError.ReadToEndAsync(ct);
        _ = up.StandardOutput.ReadToEndAsync(ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var expectedBars = File.ReadAllLines(Golden("expected-bars.ndjson")).Select(l => JsonNode.Parse(l)!).ToList();
            var expectedAlerts = File.ReadAllLines(Golden("expected-alerts.ndjson")).Select(l => JsonNode.Parse(l)!).ToList();

            // The feed ends at once and closes every window; the API shows everything once it is stored.
            var clock = Stopwatch.StartNew();
            JsonArray alerts;
            while (true)
            {
                Assert.False(up.HasExited, up.HasExited ? await stderr : "");
                alerts = await GetArrayAsync(http, "/api/alerts", ct) ?? [];
                if (alerts.Count >= expectedAlerts.Count || clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    break;
                }

                await Task.Delay(200, ct);
            }

            Assert.Equal(Canonical(expectedAlerts), Canonical(alerts));
            foreach (var series in expectedBars.GroupBy(b => (Symbol: (string)b["symbol"]!, Window: (string)b["window"]!)))
            {
                var bars = await GetArrayAsync(http, $"/api/bars?symbol={Uri.EscapeDataString(series.Key.Symbol)}&window={series.Key.Window}", ct);
                Assert.Equal(Canonical(series), Canonical(bars!));
            }

            var symbols = (await GetArrayAsync(http, "/api/symbols", ct))!.Select(s => (string)s!["symbol"]!).Order(StringComparer.Ordinal);
            Assert.Equal(expectedBars.Select(b => (string)b["symbol"]!).Distinct().Order(StringComparer.Ordinal), symbols);
            using var ready = JsonDocument.Parse(await http.GetStringAsync(new Uri("/health/ready", UriKind.Relative), ct));
            var backend = ready.RootElement.GetProperty("backends").EnumerateArray().Single(b => b.GetProperty("name").GetString() == "store");
            Assert.Equal(("up", store), (backend.GetProperty("status").GetString(), backend.GetProperty("url").GetString()));
        }
        finally
        {
            up.Kill(entireProcessTree: true);
            await up.WaitForExitAsync(ct);
        }
    }

    [Fact]
    public async Task BenchClickHouse_SmallRun_ReportsInsertRateAndQueryLatency_AndRefusesAFullDatabase()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        string[] bench = ["bench", "clickhouse", "--ticks", "20000", "--batch", "5000", "--symbols", "5", "--requests", "2", "--store", $"clickhouse://127.0.0.1:{server.HttpPort}/bench"];

        var first = await CliProcess.RunAsync(dir.Path, bench);
        var again = await CliProcess.RunAsync(dir.Path, bench);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("insert: 20,000 ticks in ", first.Stdout, StringComparison.Ordinal);
        foreach (var query in new[] { "/api/symbols (5 rows", "/api/bars?symbol=", "/api/alerts?limit=100", "/api/ticks?symbol=" })
        {
            Assert.Contains("  " + query, first.Stdout, StringComparison.Ordinal);
        }

        Assert.Equal(2, again.ExitCode);
        Assert.Contains("database 'bench' already holds 20,000 ticks", again.ErrorLines.Single(), StringComparison.Ordinal);
    }

    private static async Task<JsonArray?> GetArrayAsync(HttpClient http, string path, CancellationToken ct)
    {
        try
        {
            return JsonNode.Parse(await http.GetStringAsync(new Uri(path, UriKind.Relative), ct))!.AsArray();
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    /// <summary>Records as sorted canonical JSON text, so the API's and the golden files' key order and number
    /// spelling do not matter.</summary>
    private static List<string> Canonical(IEnumerable<JsonNode?> records) =>
        [.. records.Select(r => new JsonObject(r!.AsObject().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, p.Value is JsonValue v && v.TryGetValue<double>(out var d) ? JsonValue.Create(d) : p.Value?.DeepClone()))).ToJsonString()).Order(StringComparer.Ordinal)];

    private static async Task<long> CountTicksAsync(ClickHouseHttpClient client, CancellationToken ct)
    {
        try
        {
            return (await client.QueryAsync("SELECT count() AS n FROM ticks", row => row.GetProperty("n").GetInt64(), ct))[0];
        }
        catch (ClickHouseException)
        {
            return 0; // the schema is not there yet
        }
    }

    private static string WriteDisorderedTicks(string path, int count)
    {
        // 12 symbols, 120 ticks/s of event time; 0.5% late and 0.5% repeated, so late and duplicate counts are exercised.
        var random = new Random(17);
        var ticks = new List<Tick>(count + (count / 100));
        foreach (var tick in new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(12) with { RatePerSecond = 120, Seed = 9 }).Generate(count))
        {
            var roll = random.Next(1000);
            ticks.Add(roll < 5 ? tick with { Ts = tick.Ts - random.Next(1_000, 400_000) } : tick);
            if (roll is >= 5 and < 10)
            {
                ticks.Add(tick);
            }
        }

        using var stream = File.Create(path);
        TickFileWriter.WriteNdjson(stream, ticks);
        return path;
    }
}

using System.Text.Json;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.Cli.Tests.Backtest;

/// <summary>
/// <c>backtest</c> against stored ticks: the same bars and alerts as <c>replay</c> of those ticks (DuckDB, while
/// another process holds the database open for writing, and ClickHouse), the warm-up before <c>--from</c>, and
/// its one-line errors.
/// </summary>
public class BacktestCommandTests
{
    // Only indicators that look back a fixed number of bars, so a warm-up of that many bars gives exactly the values of a run from the start.
    private const string Pipeline = """
        version: 1
        out_of_orderness: 2s
        windows:
          - { name: "10s", type: tumbling, size: 10s }
          - { name: "30s", type: hopping, size: 30s, slide: 10s }
        indicators:
          - { name: fast, window: "10s", type: sma, of: close, period: 3 }
          - { name: slow, window: "10s", type: sma, of: close, period: 8 }
          - { name: vol_z, window: "10s", type: zscore, of: volume, period: 8 }
          - { name: bb, window: "30s", type: bollinger, of: close, period: 6, k: 1.5 }
        rules:
          - { name: golden_cross, window: "10s", when: "crosses_above(fast, slow)" }
          - { name: volume_anomaly, window: "10s", when: "vol_z >= 1.5 and close > open", for: 1 }
          - { name: band_break, window: "30s", when: "crosses_below(close, bb.lower) or change_pct(close, 2) < -0.05" }
          - { name: surge, window: "10s", type: volume_surge, factor: 1.3, lookback: 5 }
        """;

    [Fact]
    public async Task Backtest_OfDuckDbHeldOpenByAWriter_GivesReplaysBarsAndAlerts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, ct);
        var input = KafkaPipelineTests.WriteTicks(dir, 40_000, disorder: false);
        var database = dir.File("store.duckdb");
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", pipeline, "--input", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"), "--store", $"duckdb://{database}");

        // A writer holds the file (as 'up' would) and keeps adding ticks after the backtest's range while it runs.
        var lastTs = File.ReadLines(input).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("ts").GetString()).Max(StringComparer.Ordinal)!;
        Assert.True(EventTime.TryParse(lastTs, out var last));
        await using (var writer = DuckDbStore.Open(database))
        {
            await writer.InitializeAsync(ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var writing = Task.Run(
                async () =>
                {
                    for (var i = 1; !stop.IsCancellationRequested; i++)
                    {
                        var batch = new StoreBatch();
                        batch.Ticks.Add(new Tick("SYM001", last + 60_000 + i, 100, 1, TradeId.None, null, AssetClass.Stock));
                        await writer.WriteAsync(batch, CancellationToken.None);
                        await Task.Delay(5, CancellationToken.None);
                    }
                },
                CancellationToken.None);

            var result = await CliProcess.RunAsync(dir.Path, ["backtest", "--pipeline", pipeline, "--to", (last + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--bars-out", dir.File("bt-bars.ndjson"), "--alerts-out", dir.File("bt-alerts.ndjson"), "--store", $"duckdb://{database}"]);
            await stop.CancelAsync();
            await writing;
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("reading a copy of", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("backtested 40,000 stored ticks", result.Stdout, StringComparison.Ordinal);
        }

        Assert.Equal(File.ReadAllLines(dir.File("replay-bars.ndjson")), File.ReadAllLines(dir.File("bt-bars.ndjson")));
        var alerts = File.ReadAllLines(dir.File("replay-alerts.ndjson"));
        Assert.Equal(alerts, File.ReadAllLines(dir.File("bt-alerts.ndjson")));
        Assert.Equal(["band_break", "golden_cross", "surge", "volume_anomaly"], alerts.Select(RuleOf).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Backtest_From_WarmsUpOnEarlierTicks_AndReportsWhatReplayFiresFromThere()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, ct);
        var input = KafkaPipelineTests.WriteTicks(dir, 40_000, disorder: false);
        var store = $"duckdb://{dir.File("store.duckdb")}";
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", pipeline, "--input", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"), "--store", store);

        // Halfway through the bars: the warm-up (8 bars of 10 s plus the rules' history) lies well inside the data.
        var starts = File.ReadLines(dir.File("replay-bars.ndjson")).Select(StartOf).Distinct().Order().ToList();
        var from = starts[starts.Count / 2];
        var result = await CliProcess.RunAsync(dir.Path, ["backtest", "--pipeline", pipeline, "--from", EventTime.ToIso(from), "--bars-out", dir.File("bt-bars.ndjson"), "--alerts-out", dir.File("bt-alerts.ndjson"), "--store", store]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("to warm up, not reported", result.Stdout, StringComparison.Ordinal);

        var expectedBars = File.ReadLines(dir.File("replay-bars.ndjson")).Where(l => StartOf(l) >= from).ToList();
        var expectedAlerts = File.ReadLines(dir.File("replay-alerts.ndjson")).Where(l => StartOf(l) >= from).ToList();
        Assert.NotEmpty(expectedAlerts);
        Assert.Equal(expectedBars, File.ReadAllLines(dir.File("bt-bars.ndjson")));
        Assert.Equal(expectedAlerts, File.ReadAllLines(dir.File("bt-alerts.ndjson")));
    }

    [Fact]
    public async Task Backtest_OfClickHouse_GivesReplaysBarsAndAlerts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ClickHouseServerProcess.StartAsync(ct);
        using var dir = new TempDir();
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, ct);
        var input = KafkaPipelineTests.WriteTicks(dir, 20_000, disorder: false);
        var store = $"clickhouse://127.0.0.1:{server.HttpPort}/backtest";
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", pipeline, "--input", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"), "--store", store);
        await CliProcess.RunSucceedsAsync(dir, "backtest", "-q", "--pipeline", pipeline, "--bars-out", dir.File("bt-bars.ndjson"), "--alerts-out", dir.File("bt-alerts.ndjson"), "--store", store);

        Assert.Equal(File.ReadAllLines(dir.File("replay-bars.ndjson")), File.ReadAllLines(dir.File("bt-bars.ndjson")));
        Assert.Equal(File.ReadAllLines(dir.File("replay-alerts.ndjson")), File.ReadAllLines(dir.File("bt-alerts.ndjson")));
        Assert.NotEmpty(File.ReadAllLines(dir.File("bt-alerts.ndjson")));
    }

    [Fact]
    public async Task Backtest_RefusesWhatCannotBeRun_InOneLineEach()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var input = KafkaPipelineTests.WriteTicks(dir, 2_000, disorder: false);
        var store = $"duckdb://{dir.File("store.duckdb")}";
        var empty = $"duckdb://{dir.File("empty.duckdb")}";
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--input", input, "--bars-out", dir.File("b.ndjson"), "--alerts-out", dir.File("a.ndjson"), "--store", store);
        await using (var created = DuckDbStore.Open(dir.File("empty.duckdb")))
        {
            await created.InitializeAsync(ct);
        }

        var bad = dir.File("bad.yaml");
        await File.WriteAllTextAsync(bad, "version: 1\nwindows:\n  - { name: 1m, type: tumbling, size: 1m }\nrules:\n  - { name: r, window: 5m, when: \"close > 1\" }\n", ct);
        string[] common = ["--alerts-out", dir.File("out.ndjson")];

        await AssertRefused(["backtest", "--store", store, "--from", "2026-03-02", "--to", "2026-03-01", .. common], "is not before --to");
        await AssertRefused(["backtest", "--store", store, "--from", "2001-01-01", "--to", "2001-01-02", .. common], "no stored ticks from 2001-01-01T00:00:00.000Z to 2001-01-02T00:00:00.000Z");
        await AssertRefused(["backtest", "--store", store, "--symbols", "SYM001,NOPE", .. common], "symbol 'NOPE' has no stored ticks");
        await AssertRefused(["backtest", "--store", empty, .. common], "has no ticks");
        await AssertRefused(["backtest", "--store", store, "--pipeline", bad, .. common], "5m");
        await AssertRefused(["backtest", "--store", "duckdb://:memory:", .. common], "in-memory database is private");

        async Task AssertRefused(string[] args, string expected)
        {
            var result = await CliProcess.RunAsync(dir.Path, args);
            Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}");
            var line = Assert.Single(result.ErrorLines, l => l.StartsWith("error:", StringComparison.Ordinal));
            Assert.Contains(expected, line, StringComparison.Ordinal);
        }
    }

    private static long StartOf(string line) =>
        EventTime.TryParse(JsonDocument.Parse(line).RootElement.GetProperty("window_start").GetString()!, out var ms) ? ms : throw new FormatException(line);

    private static string RuleOf(string line) => JsonDocument.Parse(line).RootElement.GetProperty("rule").GetString()!;
}

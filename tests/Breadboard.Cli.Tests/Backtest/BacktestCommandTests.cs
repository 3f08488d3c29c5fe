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
    public async Task Compare_OnAHandMadeHistory_CountsBeforeAfterAndOnlyEither()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        const string head = "version: 1\nout_of_orderness: 1s\nwindows:\n  - { name: 1m, type: tumbling, size: 1m }\nrules:\n";
        const string running = head + "  - { name: up, window: 1m, when: \"close > 100.5\" }\n  - { name: down, window: 1m, when: \"close < 100\" }\n";
        const string proposed = head + "  - { name: up, window: 1m, when: \"close > 99.5\" }\n";

        // One AAA tick a minute, closes 100, 102, 99, 105, 101. An expression rule fires once per run of true bars:
        // running 'up' fires on 102 and 105, 'down' on 99; proposed 'up' on 100 and 105. BBB stays at 50: running
        // 'down' fires once, on its first bar.
        double[] closes = [100, 102, 99, 105, 101];
        var lines = closes.SelectMany((c, i) => new[]
        {
            $"{{\"symbol\":\"AAA\",\"ts\":{Kit0 + (i * 60_000) + 30_000},\"price\":{c},\"volume\":1}}",
            $"{{\"symbol\":\"BBB\",\"ts\":{Kit0 + (i * 60_000) + 31_000},\"price\":50,\"volume\":1}}",
        });
        await File.WriteAllLinesAsync(dir.File("ticks.ndjson"), lines, ct);
        await File.WriteAllTextAsync(dir.File("proposed.yaml"), proposed, ct);
        var database = dir.File("store.duckdb");
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--input", dir.File("ticks.ndjson"), "--bars-out", dir.File("b.ndjson"), "--alerts-out", dir.File("a.ndjson"), "--store", $"duckdb://{database}");

        var store = $"duckdb://{database}";
        var missing = await CliProcess.RunAsync(dir.Path, ["backtest", "--store", store, "--pipeline", dir.File("proposed.yaml"), "--alerts-out", dir.File("out.ndjson"), "--compare"]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("has no running pipeline recorded", missing.Stderr, StringComparison.Ordinal);

        // What 'up' records when it starts.
        await using (var writer = DuckDbStore.Open(database))
        {
            await writer.InitializeAsync(ct);
            var definition = Core.Pipeline.PipelineLoader.Parse(running, "running");
            await writer.WritePipelineAsync(new StoredPipeline(definition.Digest(), Core.Pipeline.PipelineLoader.ToYaml(definition), 1, "up"), ct);
        }

        var result = await CliProcess.RunAsync(dir.Path, ["backtest", "--store", store, "--pipeline", dir.File("proposed.yaml"), "--alerts-out", dir.File("out.ndjson"), "--compare", "--report", dir.File("report.html")]);
        Assert.True(result.ExitCode == 0, result.Stderr);

        // The report (drawn in a real browser by BacktestReportTests) is one file with the chart library inside.
        var report = await File.ReadAllTextAsync(dir.File("report.html"), ct);
        Assert.Contains("LightweightCharts", report, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", report, StringComparison.Ordinal);
        string[] Row(string first, string? symbol = null) => result.Stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .First(t => t.Length > 1 && t[0] == first && (symbol is null || t[1] == symbol));
        Assert.Equal(["rule", "symbol", "before", "after", "only", "before", "only", "after"], Row("rule"));
        Assert.Equal(["down", "AAA", "1", "0", "1", "0"], Row("down", "AAA"));
        Assert.Equal(["down", "BBB", "1", "0", "1", "0"], Row("down", "BBB"));
        Assert.Equal(["up", "AAA", "2", "2", "1", "1"], Row("up"));
        Assert.Equal(["total", "4", "2", "3", "1"], Row("total"));
        Assert.DoesNotContain(result.Stdout.Split('\n'), l => l.StartsWith("up ", StringComparison.Ordinal) && l.Contains("BBB", StringComparison.Ordinal));
        Assert.Equal(2, File.ReadAllLines(dir.File("out.ndjson")).Length);
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

    // 2026-01-02T14:30:00Z.
    private const long Kit0 = 1_767_364_200_000;

    private static long StartOf(string line) =>
        EventTime.TryParse(JsonDocument.Parse(line).RootElement.GetProperty("window_start").GetString()!, out var ms) ? ms : throw new FormatException(line);

    private static string RuleOf(string line) => JsonDocument.Parse(line).RootElement.GetProperty("rule").GetString()!;
}

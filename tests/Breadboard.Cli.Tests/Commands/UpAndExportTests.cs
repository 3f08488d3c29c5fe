using System.Diagnostics;
using System.Globalization;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;

namespace Breadboard.Cli.Tests.Commands;

public class UpAndExportTests
{
    [Fact]
    public async Task Up_ForAFewSeconds_ShowsProgressStoresTicksAndResumesFromItsCheckpoint()
    {
        using var dir = new TempDir();
        var store = $"duckdb://{dir.File("up.duckdb")}";
        string[] args = ["up", "--duration", "4", "--rate", "500", "--store", store, "--checkpoint", dir.File("engine.checkpoint")];

        var first = await CliProcess.RunAsync(dir.Path, args);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains(first.Stdout.Split('\n'), l => l.StartsWith("ticks ", StringComparison.Ordinal) && l.Contains("/s)", StringComparison.Ordinal));
        Assert.Contains("store flushed, checkpoint saved", first.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("engine.checkpoint")));

        long stored;
        await using (var db = DuckDbStore.Open(dir.File("up.duckdb")))
        {
            await db.InitializeAsync(TestContext.Current.CancellationToken);
            stored = 0;
            await foreach (var _ in db.QueryTicksAsync(new TickQuery(), TestContext.Current.CancellationToken))
            {
                stored++;
            }
        }

        Assert.InRange(stored, 1_000, 4_000); // ~500/s for ~4 s, every tick the engine took is in the store

        var second = await CliProcess.RunAsync(dir.Path, args);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("resumed from checkpoint", second.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_StoppedBySigterm_WritesWhatItTookAndItsDefaultCheckpointThenExits()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();

        // The store outside ./data, so the default checkpoint's folder does not exist yet.
        using var up = Process.Start(CliProcess.StartInfo(dir.Path, null, "up", "--no-web", "--rate", "500", "--store", $"duckdb://{dir.File("up.duckdb")}"))!;
        var stdout = up.StandardOutput.ReadToEndAsync(ct);
        var stderr = up.StandardError.ReadToEndAsync(ct);
        await Task.Delay(TimeSpan.FromSeconds(4), ct);
        using (var kill = Process.Start("kill", ["-TERM", up.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }

        var clock = Stopwatch.StartNew();
        await up.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.True(up.ExitCode == 0, await stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Contains("store flushed, checkpoint saved", await stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir.Path, "data", "engine.checkpoint")));
    }

    [Fact]
    public async Task Up_WithAReplayFeed_ClosesEveryWindowAtTheEndAndStoresTheCounts()
    {
        using var dir = new TempDir();
        var golden = Path.Combine(AppContext.BaseDirectory, "Golden", "ticks.ndjson");
        var result = await CliProcess.RunAsync(dir.Path, ["up", "--feed", $"replay:{golden}", "--speed", "1000000", "--no-web", "--store", $"duckdb://{dir.File("up.duckdb")}"]);
        Assert.True(result.ExitCode == 0, result.Stderr);

        await using var db = DuckDbStore.Open(dir.File("up.duckdb"));
        await db.InitializeAsync(TestContext.Current.CancellationToken);
        var bars = 0;
        await foreach (var _ in db.QueryBarsAsync(new BarQuery(), TestContext.Current.CancellationToken))
        {
            bars++;
        }

        var counts = await db.ReadCountsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "expected-bars.ndjson")).Length, bars);
        Assert.Equal(new PipelineCounts(Rejects: 2, Late: 1, Duplicates: 2), counts);
    }

    [Fact]
    public async Task Export_AfterReplayIntoStore_GivesTheReplayedBarsAndAlerts()
    {
        using var dir = new TempDir();
        var golden = Path.Combine(AppContext.BaseDirectory, "Golden", "ticks.ndjson");
        var store = $"duckdb://{dir.File("replay.duckdb")}";

        var replay = await CliProcess.RunAsync(dir.Path, ["replay", "-q", "--store", store, "--input", golden, "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson")]);
        Assert.True(replay.ExitCode == 0, replay.Stderr);

        // Replaying again must not duplicate bars or alerts in the store (upserts by key and id).
        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, ["replay", "-q", "--store", store, "--input", golden, "--bars-out", dir.File("bars2.ndjson"), "--alerts-out", dir.File("alerts2.ndjson")])).ExitCode);

        var export = await CliProcess.RunAsync(dir.Path, ["export", "--store", store, "--bars-out", dir.File("exported-bars.ndjson"), "--alerts-out", dir.File("exported-alerts.ndjson")]);
        Assert.True(export.ExitCode == 0, export.Stderr);

        Assert.Equal(CliProcess.SortedLines(dir.File("bars.ndjson")), CliProcess.SortedLines(dir.File("exported-bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("alerts.ndjson")), CliProcess.SortedLines(dir.File("exported-alerts.ndjson")));

        var csv = await CliProcess.RunAsync(dir.Path, ["export", "--store", store, "--format", "csv", "--symbol", "AAPL", "--bars-out", dir.File("aapl.csv")]);
        Assert.Equal(0, csv.ExitCode);
        var lines = await File.ReadAllLinesAsync(dir.File("aapl.csv"), TestContext.Current.CancellationToken);
        Assert.Equal("symbol,window,window_start,window_end,open,high,low,close,volume,vwap,trades", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.StartsWith("AAPL,", l, StringComparison.Ordinal));
        Assert.Equal(14, lines.Length - 1); // AAPL's bars in the golden output
    }
}

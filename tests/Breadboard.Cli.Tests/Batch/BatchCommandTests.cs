using Breadboard.Core.Seams;
using Breadboard.DuckDb;

namespace Breadboard.Cli.Tests.Batch;

/// <summary>The batch steps through the real CLI, into DuckDB.</summary>
public sealed class BatchCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<CliProcess.Result> Run(TempDir dir, params string[] args) => await CliProcess.RunAsync(dir.Path, args);

    private static async Task<(List<Core.Model.Bar> Bars, List<BatchRun> Runs)> StoredAsync(string path)
    {
        await using var store = DuckDbStore.Open(path);
        await store.InitializeAsync(Ct);
        return (await store.QueryBarsAsync(new BarQuery(), Ct).ToListAsync(Ct), await store.QueryBatchRunsAsync(10, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task BatchRun_Synthetic_FillsTheStoreOnce_AndRecordsTheRun()
    {
        using var dir = new TempDir();
        string[] args = ["batch", "run", "--run-id", "r1", "--provider", "synthetic", "--symbols", "BTC-USD,AAPL", "--from", "2026-01-05", "--to", "2026-01-06", "--store", $"duckdb://{dir.File("b.duckdb")}"];

        var first = await Run(dir, args);
        var again = await Run(dir, args);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("run r1: 1,830 bars written into duckdb://" + dir.File("b.duckdb") + " (1,830 validated)", first.Stdout.Trim());
        Assert.True(again.ExitCode == 0, again.Stderr);
        var (bars, runs) = await StoredAsync(dir.File("b.duckdb"));
        Assert.Equal(1_440 + 390, bars.Count); // a crypto day and a Monday's stock session, stored once
        var run = Assert.Single(runs);
        Assert.Equal(("r1", "historical_fetch", "succeeded", 1_830L), (run.RunId, run.Job, run.Status, run.Rows));
    }

    [Fact]
    public async Task BatchSteps_OneByOne_WithAirflowRunIdAndTimes()
    {
        using var dir = new TempDir();
        const string runId = "scheduled__2026-01-05T06:00:00+00:00";
        var store = $"duckdb://{dir.File("b.duckdb")}";

        var fetch = await Run(dir, "batch", "fetch", "--run-id", runId, "--symbols", "ETH-USD", "--from", "2026-01-05T00:00:00+00:00", "--to", "2026-01-05T06:00:00+00:00");
        var writeTooSoon = await Run(dir, "batch", "write", "--run-id", runId, "--store", store);
        var validate = await Run(dir, "batch", "validate", "--run-id", runId);
        var write = await Run(dir, "batch", "write", "--run-id", runId, "--store", store);

        Assert.True(fetch.ExitCode == 0, fetch.Stderr);
        Assert.Equal(2, writeTooSoon.ExitCode);
        Assert.Equal($"error: run {runId}: `batch validate --run-id {runId}` has not passed (see data/staging/{runId})", writeTooSoon.ErrorLines.Single());
        Assert.Equal($"validate {runId}: 360 bars of 1 symbol(s): ok", validate.Stdout.Trim());
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(360, (await StoredAsync(dir.File("b.duckdb"))).Bars.Count);
    }

    [Fact]
    public async Task BatchRun_BadFile_ExitsOneWithAReadableSummary_AndWritesNothing()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("bars.csv"), "symbol,ts,open,high,low,close,volume\nAAPL,2026-01-05T14:30:00Z,10,11,9,10.5,100\nAAPL,2026-01-05T14:31:00Z,10,9,9,10.5,100\nAAPL,2026-01-05T14:32:00Z,10,11,9,10.5,-1\n", Ct);

        var result = await Run(dir, "batch", "run", "--run-id", "bad", "--provider", "file", "--path", dir.File("bars.csv"), "--symbols", "AAPL", "--from", "2026-01-05T14:30:00Z", "--to", "2026-01-05T14:34:00Z", "--store", $"duckdb://{dir.File("b.duckdb")}");

        Assert.Equal(1, result.ExitCode);
        var lines = result.Stdout.Trim().Split('\n');
        Assert.Equal("validate bad: 3 bars of 1 symbol(s): BAD DATA, 3 problem(s)", lines[0]);
        Assert.Equal(
            ["  gap: 1, first: AAPL 2026-01-05T14:33:00.000Z: 1 bar(s) missing until 2026-01-05T14:34:00.000Z", "  ohlc: 1, first: AAPL 2026-01-05T14:31:00.000Z: open 10 high 9 low 9 close 10.5: needs 0 < low ≤ open, close ≤ high", "  volume: 1, first: AAPL 2026-01-05T14:32:00.000Z: volume -1 is negative"],
            lines[1..]);
        Assert.Equal("error: validate bad: bad data; the report is data/staging/bad/report.json", result.ErrorLines.Single());
        Assert.True(File.Exists(Path.Combine(dir.Path, "data", "staging", "bad", "report.json")));
        var (bars, runs) = await StoredAsync(dir.File("b.duckdb"));
        Assert.Empty(bars);
        Assert.Equal("failed", Assert.Single(runs).Status);
    }

    [Fact]
    public async Task BatchRun_AfterACrashBetweenSteps_ResumesWithoutFetchingAgain()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("bars.ndjson"), "{\"symbol\":\"BTC-USD\",\"ts\":\"2026-01-05T00:00:00Z\",\"open\":1,\"high\":2,\"low\":1,\"close\":2,\"volume\":5}\n{\"symbol\":\"BTC-USD\",\"ts\":\"2026-01-05T00:01:00Z\",\"open\":2,\"high\":2,\"low\":1,\"close\":1,\"volume\":3}\n", Ct);
        string[] fetchArgs = ["--provider", "file", "--path", dir.File("bars.ndjson"), "--symbols", "BTC-USD", "--from", "2026-01-05T00:00:00Z", "--to", "2026-01-05T00:02:00Z"];

        var fetch = await Run(dir, ["batch", "fetch", "--run-id", "resume", .. fetchArgs]);
        File.Delete(dir.File("bars.ndjson")); // fetching again would now fail
        var run = await Run(dir, ["batch", "run", "--run-id", "resume", .. fetchArgs, "--store", $"duckdb://{dir.File("b.duckdb")}"]);

        Assert.True(fetch.ExitCode == 0, fetch.Stderr);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(2, (await StoredAsync(dir.File("b.duckdb"))).Bars.Count);
    }

    [Fact]
    public async Task Batch_BadArguments_OneLineErrors()
    {
        using var dir = new TempDir();

        var provider = await Run(dir, "batch", "fetch", "--run-id", "x", "--provider", "nope", "--symbols", "A", "--from", "2026-01-05", "--to", "2026-01-06");
        var range = await Run(dir, "batch", "fetch", "--run-id", "x", "--symbols", "A", "--from", "2026-01-06", "--to", "2026-01-05");
        var runId = await Run(dir, "batch", "validate", "--run-id", "../etc");

        Assert.Equal((2, "error: --provider nope: unknown provider 'nope'; known: synthetic, file, binance, polygon"), (provider.ExitCode, provider.ErrorLines.Single()));
        Assert.Equal((2, "error: --to 2026-01-05T00:00:00.000Z must be after --from 2026-01-06T00:00:00.000Z"), (range.ExitCode, range.ErrorLines.Single()));
        Assert.Equal(2, runId.ExitCode);
        Assert.StartsWith("error: --run-id '../etc': use letters", runId.ErrorLines.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_WithABatchJob_RunsItOnItsCron()
    {
        using var dir = new TempDir();

        // Every minute: the first occurrence comes within 60 s; the run fetches the hour before it.
        var up = await CliProcess.RunAsync(dir.Path, ["up", "--no-web", "--rate", "50", "--duration", "70", "--store", $"duckdb://{dir.File("up.duckdb")}", "--batch-symbols", "ETH-USD", "--batch-cron", "* * * * *"], timeoutSeconds: 150);

        Assert.True(up.ExitCode == 0, up.Stderr);
        Assert.Contains("batch: historical job scheduled, first run ", up.Stdout, StringComparison.Ordinal);
        var (bars, runs) = await StoredAsync(dir.File("up.duckdb"));
        var run = runs.First(r => r.Status == "succeeded");
        Assert.StartsWith("scheduled__", run.RunId, StringComparison.Ordinal);
        Assert.Equal(360, run.Rows); // ScheduleOptions.Lookback: 6 h of 1m bars
        Assert.InRange(bars.Count(b => b.Symbol == "ETH-USD" && b.Window == "1m"), 360, int.MaxValue);
    }
}

namespace Breadboard.Cli.Tests.Replay;

/// <summary>
/// The golden input exercises every engine rule once: ties in ts for open and close, an out-of-order tick, a
/// duplicate trade id (also one re-sent minutes later), a fully late tick, a −5.000 % drop that must fire, a
/// zero-volume window (vwap null), offsets in ts, epoch-ms ts, string prices, a blank line and two rejects.
/// The expected files were checked line by line against the contract, not just copied from a run.
/// </summary>
public class ReplayGoldenTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    [Fact]
    public async Task Replay_GoldenInput_WritesTheHandCheckedOutputs()
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path,
        [
            "replay", "--input", Golden("ticks.ndjson"),
            "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"),
            "--late-out", dir.File("late.ndjson"), "--rejects-out", dir.File("rejects.ndjson"),
        ]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("11 ticks from 14 lines", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("31 bars, 4 alerts, 1 late, 2 duplicates, 2 rejects", result.Stdout, StringComparison.Ordinal);
        foreach (var name in new[] { "bars", "alerts", "late", "rejects" })
        {
            Assert.Equal(await File.ReadAllTextAsync(Golden($"expected-{name}.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllTextAsync(dir.File($"{name}.ndjson"), TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task Replay_RunTwice_IsByteIdentical()
    {
        using var dir = new TempDir();
        string[] Args(string run) =>
        [
            "replay", "-q", "--input", Golden("ticks.ndjson"),
            "--bars-out", dir.File($"bars-{run}.ndjson"), "--alerts-out", dir.File($"alerts-{run}.ndjson"),
        ];

        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, Args("a"))).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(dir.Path, Args("b"))).ExitCode);
        Assert.Equal(await File.ReadAllBytesAsync(dir.File("bars-a.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllBytesAsync(dir.File("bars-b.ndjson"), TestContext.Current.CancellationToken));
        Assert.Equal(await File.ReadAllBytesAsync(dir.File("alerts-a.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllBytesAsync(dir.File("alerts-b.ndjson"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Replay_CsvInput_GivesTheSameBarsAsNdjson()
    {
        using var dir = new TempDir();
        var csv = dir.File("ticks.csv");
        await File.WriteAllLinesAsync(csv,
        [
            "ts,symbol,price,volume,trade_id",
            "2026-01-02T10:00:00.000Z,AAPL,100,1,1",
            "2026-01-02T10:00:30.000Z,AAPL,110,2,2",
            "\"2026-01-02T10:01:10.000Z\",\"AAPL\",\"90\",1,3",
            "2026-01-02T10:01:10.000Z,AAPL,abc,1,4",
        ], TestContext.Current.CancellationToken);
        var ndjson = dir.File("ticks.ndjson");
        await File.WriteAllLinesAsync(ndjson,
        [
            """{"symbol":"AAPL","ts":"2026-01-02T10:00:00.000Z","price":100,"volume":1,"trade_id":"1"}""",
            """{"symbol":"AAPL","ts":"2026-01-02T10:00:30.000Z","price":110,"volume":2,"trade_id":"2"}""",
            """{"symbol":"AAPL","ts":"2026-01-02T10:01:10.000Z","price":90,"volume":1,"trade_id":"3"}""",
        ], TestContext.Current.CancellationToken);

        var fromCsv = await CliProcess.RunAsync(dir.Path, ["replay", "--input", csv, "--bars-out", dir.File("a.ndjson"), "--alerts-out", dir.File("aa.ndjson"), "--rejects-out", dir.File("r.ndjson")]);
        var fromJson = await CliProcess.RunAsync(dir.Path, ["replay", "--input", ndjson, "--bars-out", dir.File("b.ndjson"), "--alerts-out", dir.File("ba.ndjson")]);

        Assert.Equal(0, fromCsv.ExitCode);
        Assert.Equal(0, fromJson.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(dir.File("b.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllTextAsync(dir.File("a.ndjson"), TestContext.Current.CancellationToken));
        var reject = Assert.Single(await File.ReadAllLinesAsync(dir.File("r.ndjson"), TestContext.Current.CancellationToken));
        Assert.Contains("\"line\":5", reject, StringComparison.Ordinal);
        Assert.Contains("price", reject, StringComparison.Ordinal);
    }
}

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
        Assert.Equal("store migrate: applied 1, 2 to migrated; now at version 2", first.Stdout.Trim());
        Assert.Equal("store migrate: migrated is at schema version 2; nothing to do", second.Stdout.Trim());

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
}

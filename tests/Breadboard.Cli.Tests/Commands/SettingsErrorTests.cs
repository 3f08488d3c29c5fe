using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Commands;

/// <summary>Bad settings and inputs end in one line on stderr naming what is wrong, and exit code 2.</summary>
public class SettingsErrorTests
{
    private static string Golden => Path.Combine(AppContext.BaseDirectory, "Golden", "ticks.ndjson");

    [Theory]
    [InlineData("--store", "foo://x", "BREADBOARD_STORE")]
    [InlineData("--bus", "kafka2://localhost:9092", "BREADBOARD_BUS")]
    [InlineData("--alerts", "smtp://x", "BREADBOARD_ALERTS")]
    [InlineData("--engine", "spark", "BREADBOARD_ENGINE")]
    [InlineData("--scheduler", "cron", "BREADBOARD_SCHEDULER")]
    public async Task Command_WithUnknownScheme_ExitsWith2AndOneLineNamingTheSetting(string flag, string value, string variable)
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["replay", flag, value, "--input", Golden, "--bars-out", dir.File("b"), "--alerts-out", dir.File("a")]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(flag, line, StringComparison.Ordinal);
        Assert.Contains(variable, line, StringComparison.Ordinal);
        Assert.Contains(value, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_WithUnknownSchemeFromEnvironment_NamesTheVariable()
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["validate-config"], new Dictionary<string, string> { ["BREADBOARD_STORE"] = "postgres://db" });

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("BREADBOARD_STORE", line, StringComparison.Ordinal);
        Assert.Contains("postgres://db", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_WithUnopenableStore_ExitsWith2AndOneLine()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("not-a-db.duckdb"), "this is not a DuckDB database file, just text", TestContext.Current.CancellationToken);
        var result = await CliProcess.RunAsync(dir.Path, ["up", "--duration", "1", "--store", $"duckdb://{dir.File("not-a-db.duckdb")}"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("--store", line, StringComparison.Ordinal);
        Assert.Contains("not-a-db.duckdb", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_WithMissingInput_ExitsWith2AndNamesTheFile()
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["replay", "--input", dir.File("nope.ndjson"), "--bars-out", dir.File("b"), "--alerts-out", dir.File("a")]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("nope.ndjson", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_CsvWithoutUsableHeader_ExitsWith2NamingTheFileAndTheMissingColumn()
    {
        using var dir = new TempDir();
        var csv = dir.File("ticks.csv");
        await File.WriteAllLinesAsync(csv, ["sym,ts,price,volume", "AAPL,2026-01-02T00:00:00Z,1,1"], TestContext.Current.CancellationToken);
        var result = await CliProcess.RunAsync(dir.Path, ["replay", "--input", csv, "--bars-out", dir.File("b"), "--alerts-out", dir.File("a")]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(csv, line, StringComparison.Ordinal);
        Assert.Contains("'symbol'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateConfig_WithBadPipeline_NamesTheFileAndEveryBadField()
    {
        using var dir = new TempDir();
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, """
            windows:
              - name: "1m"
                type: tumbling
                size: sixty
              - name: "5m"
                type: hopping
                size: 5m
                slide: 7m
            rules:
              - name: drop
                type: price_change
                window: "15m"
                op: "<="
                threshold_percent: -5
            """, TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir.Path, ["validate-config", "--pipeline", pipeline]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(result.ErrorLines, l => l.Contains(pipeline, StringComparison.Ordinal) && l.Contains("windows[0].size", StringComparison.Ordinal));
        Assert.Contains(result.ErrorLines, l => l.Contains("windows[1].slide", StringComparison.Ordinal));
        Assert.Contains(result.ErrorLines, l => l.Contains("rules[0].window", StringComparison.Ordinal) && l.Contains("15m", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidateConfig_ShippedPipeline_IsValidAndEqualsTheDefault()
    {
        using var dir = new TempDir();
        var shipped = Path.Combine(Repository.Root(), "config", "pipeline.yaml");
        var fromFile = await CliProcess.RunAsync(dir.Path, ["validate-config", "--pipeline", shipped, "--print"]);
        var builtIn = await CliProcess.RunAsync(dir.Path, ["validate-config", "--print"]);

        Assert.Equal(0, fromFile.ExitCode);
        Assert.Equal(builtIn.Stdout, fromFile.Stdout);
    }
}

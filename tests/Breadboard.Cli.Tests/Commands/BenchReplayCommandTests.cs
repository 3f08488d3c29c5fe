using System.Text.RegularExpressions;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>bench replay</c> times new replay processes and DuckDB on the same file; what it reports, not how fast.</summary>
public partial class BenchReplayCommandTests
{
    [Fact]
    public async Task BenchReplay_ReportsNewProcessesWarmAndDuckDbOnTheSameBars()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["bench", "replay", "--ticks", "20000", "--symbols", "5", "--runs", "2"], timeoutSeconds: 300);

        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        Assert.Equal(2, Regex.Count(result.Stdout, @"breadboard replay run \d: [\d.]+ s wall, [\d.]+ s CPU"));
        Assert.Equal(2, Regex.Count(result.Stdout, @"duckdb run \d: [\d.]+ s"));
        Assert.Contains("breadboard replay, warm (second run in one process): ", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"ratio breadboard \(new process\) / duckdb: median [\d.]+, best [\d.]+", result.Stdout);

        // Both sides computed the same number of bars from the file.
        var ours = BarCount().Match(result.Stdout[result.Stdout.IndexOf("breadboard replay, new process", StringComparison.Ordinal)..]);
        var theirs = BarCount().Match(result.Stdout[result.Stdout.IndexOf("duckdb: best", StringComparison.Ordinal)..]);
        Assert.True(ours.Success && theirs.Success, result.Stdout);
        Assert.Equal(theirs.Groups[1].Value, ours.Groups[1].Value);
        Assert.NotEqual("0", ours.Groups[1].Value);
    }

    [GeneratedRegex(@"; ([\d,]+) bars")]
    private static partial Regex BarCount();
}

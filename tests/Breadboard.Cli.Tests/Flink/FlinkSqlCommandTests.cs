namespace Breadboard.Cli.Tests.Flink;

/// <summary><c>breadboard flink sql</c> through the real CLI.</summary>
public sealed class FlinkSqlCommandTests
{
    [Fact]
    public async Task FlinkSql_PrintsTheScriptWithTheBusAndSettings()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "sql", "--bus", "kafka://k1:9092,k2:9092", "--parallelism", "4", "--checkpoint-interval", "1m", "--job-name", "bb-prod"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("'properties.bootstrap.servers' = 'k1:9092,k2:9092'", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("SET 'parallelism.default' = '4';", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("SET 'pipeline.name' = 'bb-prod';", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("THEN `event_ts` - INTERVAL '5' SECOND END", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("EXECUTE STATEMENT SET", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlinkSql_WithoutAKafkaBus_IsAOneLineError()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "sql"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: --bus (env BREADBOARD_BUS) = 'memory://': this command needs a Kafka bus", result.ErrorLines.Single(), StringComparison.Ordinal);
    }
}

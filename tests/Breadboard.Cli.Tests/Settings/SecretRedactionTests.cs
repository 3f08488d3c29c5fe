namespace Breadboard.Cli.Tests.Settings;

/// <summary>A secret put in a setting's URL is never echoed: not in errors, not in validate-config's printout.</summary>
public sealed class SecretRedactionTests
{
    private const string Secret = "PW";

    private static string Golden => Path.Combine(AppContext.BaseDirectory, "Golden", "ticks.ndjson");

    [Theory]
    [InlineData("--store", "clickhouse://admin:PW@127.0.0.1:1/db")]
    [InlineData("--store", "clickhouse://127.0.0.1:1/db?password=PW")]
    [InlineData("--store", "duckdb://./data/x.duckdb?token=PW")]
    [InlineData("--alerts", "nats://bob:PW@127.0.0.1:1")]
    [InlineData("--alerts", "nats://127.0.0.1:1?token=PW")]
    [InlineData("--alerts", "nats://127.0.0.1:1,bob:PW@127.0.0.1:2")]
    [InlineData("--bus", "kafka://bob:PW@127.0.0.1:1")]
    [InlineData("--engine", "flink+http://u:PW@h")]
    public async Task Replay_WithASecretInASettingsUrl_RefusesWithoutEchoingIt(string flag, string value)
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["replay", flag, value, "--input", Golden, "--bars-out", dir.File("b"), "--alerts-out", dir.File("a")]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(flag, line, StringComparison.Ordinal);
        AssertNoSecret(result);
    }

    [Theory]
    [InlineData("BREADBOARD_STORE", "clickhouse://admin:PW@127.0.0.1:1/db")]
    [InlineData("BREADBOARD_ALERTS", "nats://bob:PW@127.0.0.1:1")]
    public async Task Replay_WithASecretInASettingFromTheEnvironment_RefusesWithoutEchoingIt(string variable, string value)
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(
            dir.Path, ["replay", "--input", Golden, "--bars-out", dir.File("b"), "--alerts-out", dir.File("a")], new Dictionary<string, string> { [variable] = value });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(variable, Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        AssertNoSecret(result);
    }

    [Theory]
    [InlineData("--engine", "flink+http://u:PW@h")]
    [InlineData("--engine", "flink+https://PW@h:8083")]
    [InlineData("--store", "clickhouse://admin:PW@127.0.0.1:1/db")]
    [InlineData("--store", "clickhouse://127.0.0.1:1/db?password=PW")]
    [InlineData("--alerts", "nats://bob:PW@127.0.0.1:1")]
    [InlineData("--bus", "kafka://127.0.0.1:1?sig=PW")]
    public async Task ValidateConfig_WithCredentialsInAUrl_RefusesThemWithoutEchoingThem(string flag, string value)
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["validate-config", flag, value]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(flag, line, StringComparison.Ordinal);
        AssertNoSecret(result);
    }

    [Fact]
    public async Task FlinkStatus_WithCredentialsInTheEngineUrl_RefusesThemWithoutEchoingThem()
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["flink", "status", "--engine", "flink+http://u:PW@127.0.0.1:1"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("u:***@127.0.0.1:1", line, StringComparison.Ordinal);
        AssertNoSecret(result);
    }

    [Fact]
    public async Task ValidateConfig_WithFlinkEngine_ShowsTheSameCheckAsFlinkStatus()
    {
        using var dir = new TempDir();
        var validate = await CliProcess.RunAsync(dir.Path, ["validate-config", "--engine", "flink+http://u:PW@127.0.0.1:1"]);
        var status = await CliProcess.RunAsync(dir.Path, ["flink", "status", "--engine", "flink+http://u:PW@127.0.0.1:1"]);

        Assert.Equal(Assert.Single(status.ErrorLines), Assert.Single(validate.ErrorLines));
    }

    [Theory]
    [InlineData("--urls", "http://u:PW@127.0.0.1:0")]
    [InlineData("--urls", "http://127.0.0.1:0;ftp://u:PW@h")]
    public async Task Api_WithASecretInItsListenUrl_RefusesWithoutEchoingIt(string flag, string value)
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["api", flag, value], timeoutSeconds: 30);

        Assert.NotEqual(0, result.ExitCode);
        AssertNoSecret(result);
    }

    private static void AssertNoSecret(CliProcess.Result result)
    {
        Assert.DoesNotContain(Secret, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.Stderr, StringComparison.Ordinal);
    }
}

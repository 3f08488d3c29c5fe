namespace Breadboard.ClickHouse.Tests;

/// <summary>Kills and restarts its own server, so it does not share one with the other tests.</summary>
public sealed class ClickHouseRetryTests(ClickHouseServerFixture fixture) : IClassFixture<ClickHouseServerFixture>
{
    [Fact]
    public async Task Query_ServerKilledAndRestartedWithinTheRetryBudget_Succeeds()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fixture.CreateDatabaseAsync("restart", ct);
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        var opts = ClickHouseClientOpts.Default with { MaxRetries = 12, BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) };
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null, http, opts);
        await client.ExecuteAsync("CREATE TABLE t (k Int64) ENGINE = MergeTree ORDER BY k", ct);
        await client.InsertAsync("t", "k", (s, token) => s.WriteAsync("{\"k\":1}\n{\"k\":2}\n"u8.ToArray(), token).AsTask(), ct);

        await fixture.Server.KillAsync();
        var attemptsBefore = recording.Attempts;
        var insert = client.InsertAsync("t", "k", (s, token) => s.WriteAsync("{\"k\":3}\n"u8.ToArray(), token).AsTask(), ct);
        await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        await fixture.Server.RestartAsync(ct);
        await insert;

        Assert.True(recording.Attempts - attemptsBefore > 1, "the insert should have been retried");
        Assert.Equal([1L, 2, 3], await client.QueryAsync("SELECT k FROM t ORDER BY k", r => r.GetProperty("k").GetInt64(), ct));
    }

    [Fact]
    public async Task Execute_ServerDownBeyondTheRetryBudget_ThrowsNamingTheUrl()
    {
        var ct = TestContext.Current.CancellationToken;
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        var opts = ClickHouseClientOpts.Default with { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(20) };
        using var client = new ClickHouseHttpClient(fixture.Url, "default", null, null, http, opts);

        await fixture.Server.KillAsync();
        try
        {
            var error = await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.ExecuteAsync("SELECT 1", ct));

            Assert.Contains(fixture.Server.Url, error.Message, StringComparison.Ordinal);
            Assert.Contains("3 attempts", error.Message, StringComparison.Ordinal);
            Assert.Equal(3, recording.Attempts);
            Assert.False(await client.PingAsync(ct));
        }
        finally
        {
            await fixture.Server.RestartAsync(ct);
        }
    }
}

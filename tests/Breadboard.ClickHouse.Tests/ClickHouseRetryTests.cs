using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.TestKit;
using Breadboard.TestKit.Logging;

namespace Breadboard.ClickHouse.Tests;

/// <summary>Kills and restarts its own server, so it does not share one with the other tests.</summary>
[Slow]
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
        await Eventually.UntilAsync(() => recording.Attempts - attemptsBefore > 1, TimeSpan.FromSeconds(10), "the insert's first retry", ct);
        await fixture.Server.RestartAsync(ct);
        await insert;

        Assert.True(recording.Attempts - attemptsBefore > 1, "the insert should have been retried");
        Assert.Equal([1L, 2, 3], await client.QueryAsync("SELECT k FROM t ORDER BY k", r => r.GetProperty("k").GetInt64(), ct));
    }

    [Fact]
    public async Task Replicas_FirstOneDown_RequestsMoveToTheNextAtOnce_AndStayThere()
    {
        var ct = TestContext.Current.CancellationToken;
        var down = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        var opts = ClickHouseClientOpts.Default with { MaxRetries = 1, BaseDelay = TimeSpan.FromSeconds(30) };
        using var client = new ClickHouseHttpClient([down, fixture.Url], "default", null, null, http, opts);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Assert.Equal([1L], await client.QueryAsync("SELECT 1 AS v", r => r.GetProperty("v").GetInt64(), ct));
        Assert.Equal([2L], await client.QueryAsync("SELECT 2 AS v", r => r.GetProperty("v").GetInt64(), ct));

        // No pause before the second replica (the 30 s one is for after every replica failed), and the second
        // request went straight to the replica that answered.
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "failing over should not wait for the backoff");
        Assert.Equal([down.Port, fixture.Server.HttpPort, fixture.Server.HttpPort], recording.Requests.Select(r => r.RequestUri!.Port));
        Assert.Equal(new Uri(fixture.Url.AbsoluteUri.TrimEnd('/') + "/"), client.BaseUrl);
        Assert.Equal(false, client.Replicas[0].State.Up);
        Assert.Contains("refused", client.Replicas[0].State.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(true, client.Replicas[1].State.Up);
    }

    [Fact]
    public async Task CheckServers_PingsEveryReplicaTheUrlNames_UpOrDownWithWhy_WithoutMovingRequests()
    {
        var ct = TestContext.Current.CancellationToken;
        var downPort = ServerProcess.FreePort();
        await using var store = ClickHouseStore.Open($"clickhouse://127.0.0.1:{fixture.Server.HttpPort},127.0.0.1:{downPort}/default?cluster=c");

        var servers = await store.CheckServersAsync(ct);

        Assert.Equal([$"http://127.0.0.1:{fixture.Server.HttpPort}/", $"http://127.0.0.1:{downPort}/"], servers.Select(s => s.Server));
        Assert.Equal([true, false], servers.Select(s => s.Up));
        Assert.Null(servers[0].Error);
        Assert.Contains("refused", servers[1].Error, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(servers[1].Since);
    }

    [Fact]
    public async Task Replicas_AllDown_EachTriedInTurnThenThrowsNamingThemAll()
    {
        var ct = TestContext.Current.CancellationToken;
        Uri[] down = [new($"http://127.0.0.1:{ServerProcess.FreePort()}/"), new($"http://127.0.0.1:{ServerProcess.FreePort()}/")];
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(down, "default", null, null, http, ClickHouseClientOpts.Default with { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(20) });

        var error = await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.ExecuteAsync("SELECT 1", ct));

        Assert.Equal([down[0].Port, down[1].Port, down[0].Port, down[1].Port], recording.Requests.Select(r => r.RequestUri!.Port));
        Assert.Contains(down[0].AbsoluteUri, error.Message, StringComparison.Ordinal);
        Assert.Contains(down[1].AbsoluteUri, error.Message, StringComparison.Ordinal);
        Assert.Contains("4 attempts", error.Message, StringComparison.Ordinal);
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

    [Fact]
    public async Task StoreWrite_ServerDownLongerThanTheClientRetries_KeepsRetryingUntilItIsBack_NothingLostOrDoubled()
    {
        var ct = TestContext.Current.CancellationToken;
        var opts = ClickHouseClientOpts.Default with { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(50) };
        var log = new ListLogger();
        await using var store = ClickHouseStore.Open($"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/outage_{Guid.NewGuid():N}", opts: opts, logger: log);
        await store.InitializeAsync(ct);
        var batch = new StoreBatch();
        batch.Ticks.Add(new Tick("BTC-USD", 1_767_225_600_000, 100, 1, TradeId.FromNumber(1), "coinbase", AssetClass.Crypto));
        batch.Checkpoints.Add(new Checkpoint("replay:test", 1, [7]));
        batch.Counts = new PipelineCounts(1, 0, 0);

        await fixture.Server.KillAsync();
        var write = store.WriteAsync(batch, ct).AsTask();
        await Eventually.UntilAsync(() => log.Lines.Count(l => l.Contains("ClickHouse unreachable", StringComparison.Ordinal)) >= 2, TimeSpan.FromSeconds(30), "the store to say twice that it waits", ct);
        Assert.False(write.IsCompleted, "the write must wait for the server, not fail or return");
        await fixture.Server.RestartAsync(ct);
        await write.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await store.WriteAsync(batch, ct); // the caller's retry of the same batch

        Assert.Single(await store.QueryTicksAsync(new TickQuery(), ct).ToListAsync(ct));
        Assert.Equal(1, (await store.LoadCheckpointAsync("replay:test", ct))!.Position);

        // Rounds of retries come every second or so; the store says it waits once every 5 s, the exception attached.
        var waits = log.Lines.Where(l => l.Contains("ClickHouse unreachable", StringComparison.Ordinal)).ToList();
        Assert.InRange(waits.Count, 2, 3);
        Assert.All(waits, l => Assert.Contains(nameof(ClickHouseUnavailableException), l, StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("answered again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoreWrite_ServerDownBeyondRetryFor_Throws()
    {
        var ct = TestContext.Current.CancellationToken;
        var opts = ClickHouseClientOpts.Default with { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(50) };
        var log = new ListLogger();
        await using var store = ClickHouseStore.Open($"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/bounded_{Guid.NewGuid():N}?retry_for=2s", opts: opts, logger: log);
        await store.InitializeAsync(ct);
        var batch = new StoreBatch();
        batch.Counts = new PipelineCounts(1, 0, 0);

        await fixture.Server.KillAsync();
        try
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => store.WriteAsync(batch, ct).AsTask());

            Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
            Assert.Contains(fixture.Server.Url, error.Message, StringComparison.Ordinal);
            Assert.Contains(log.Lines, l => l.Contains("longer than retry_for", StringComparison.Ordinal));
        }
        finally
        {
            await fixture.Server.RestartAsync(ct);
        }
    }
}

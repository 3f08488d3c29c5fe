using System.Diagnostics;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.ClickHouse.Tests;

/// <summary>A real replicated cluster (ZooKeeper and three 18.16 replicas): replication, a killed replica's
/// catch-up, and ZooKeeper's loss and return.</summary>
[Slow]
[Collection(nameof(ClickHouseClusterGroup))]
public sealed class ClickHouseClusterTests(ClickHouseClusterFixture fixture)
{
    private const int TableIsReadOnly = 242;

    private static readonly TimeSpan ReplicationWait = TimeSpan.FromSeconds(30);

    // A restarted replica waits out its old ZooKeeper session (6 s), then its next activation attempt (every 10 s on 18.16).
    private static readonly TimeSpan RejoinWait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Insert_OnOneReplica_IsReadOnTheOthers()
    {
        var ct = TestContext.Current.CancellationToken;
        Log($"cluster start: ZooKeeper ready after {fixture.Cluster.ZooKeeperReadyAfter.TotalSeconds:0.00} s, all replicas after {fixture.Cluster.ReplicasReadyAfter.TotalSeconds:0.00} s, took DDL after {fixture.Cluster.DdlReadyAfter.TotalSeconds:0.00} s");
        var database = await CreateReplicatedTableAsync("replicated", ct);
        using var first = fixture.Client(0, database);

        await first.ExecuteAsync("INSERT INTO t SELECT number, toString(number) FROM system.numbers LIMIT 100", ct);
        await first.ExecuteAsync("INSERT INTO t (id, v) VALUES (7, 'seven')", ct);

        var expected = await ReadAsync(first, ct);
        Assert.Equal(100, expected.Count);
        Assert.Equal((7UL, "seven"), expected[7]);
        foreach (var replica in new[] { 1, 2 })
        {
            using var client = fixture.Client(replica, database);
            await Eventually.UntilAsync(async token => (await ReadAsync(client, token)).SequenceEqual(expected), ReplicationWait, $"replica r{replica + 1} to have replica r1's rows", ct);
        }

        var state = await first.QueryAsync(
            $"SELECT total_replicas, active_replicas, is_readonly FROM system.replicas WHERE database = '{database}' AND table = 't'",
            row => (Total: row.GetProperty("total_replicas").GetInt32(), Active: row.GetProperty("active_replicas").GetInt32(), ReadOnly: row.GetProperty("is_readonly").GetInt32()),
            ct);
        Assert.Equal([(3, 3, 0)], state);
        await fixture.DropDatabaseAsync(database, ct);
    }

    [Fact]
    public async Task Replica_KilledWhileInsertsGoOn_CatchesUpToIdenticalContentsAfterRestart()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await CreateReplicatedTableAsync("catchup", ct);
        using var first = fixture.Client(0, database);
        using var second = fixture.Client(1, database);
        await first.ExecuteAsync("INSERT INTO t SELECT number, 'before' FROM system.numbers LIMIT 50", ct);
        var before = await ReadAsync(first, ct);
        await Eventually.UntilAsync(async token => (await ReadAsync(second, token)).SequenceEqual(before), ReplicationWait, "replica r2 to have the first rows", ct);

        await fixture.Cluster.KillReplicaAsync(1);
        var restarted = false;
        try
        {
            // Several parts while r2 is down, one of them replacing rows it already has.
            await first.ExecuteAsync("INSERT INTO t SELECT number + 50, 'while down' FROM system.numbers LIMIT 50", ct);
            await first.ExecuteAsync("INSERT INTO t SELECT number + 100, 'while down' FROM system.numbers LIMIT 50", ct);
            await first.ExecuteAsync("INSERT INTO t (id, v) VALUES (3, 'replaced while down'), (4, 'replaced while down')", ct);
            var expected = await ReadAsync(first, ct);
            Assert.Equal(150, expected.Count);

            var clock = Stopwatch.StartNew();
            await fixture.Cluster.RestartReplicaAsync(1, ct);
            restarted = true;
            var backAfter = clock.Elapsed;
            await Eventually.UntilAsync(async token => (await ReadAsync(second, token)).SequenceEqual(expected), RejoinWait, "the restarted replica r2 to catch up", ct);
            Log($"catch-up: r2 answered /ping and the cluster took DDL {backAfter.TotalSeconds:0.00} s after its restart, r2 had every row after {clock.Elapsed.TotalSeconds:0.00} s");

            using var third = fixture.Client(2, database);
            Assert.Equal(expected, await ReadAsync(third, ct));
            await Eventually.UntilAsync(async token => await IsWritableAsync(second, token), RejoinWait, "the restarted replica r2 to take inserts", ct);
            Log($"catch-up: r2 took inserts {clock.Elapsed.TotalSeconds:0.00} s after its restart");
            await fixture.DropDatabaseAsync(database, ct);
        }
        finally
        {
            if (!restarted)
            {
                await fixture.Cluster.RestartReplicaAsync(1, CancellationToken.None);
            }
        }
    }

    [Fact]
    public async Task ZooKeeper_Stopped_InsertsFailAsReadOnly_AndWorkAgainOnceItIsBack()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await CreateReplicatedTableAsync("zookeeper", ct);
        using var first = fixture.Client(0, database);
        await first.ExecuteAsync("INSERT INTO t (id, v) VALUES (1, 'before')", ct);

        var clock = Stopwatch.StartNew();
        await fixture.Cluster.KillZooKeeperAsync();
        var zooKeeperBack = false;
        try
        {
            // The first insert may fail on the lost connection itself; the table turns read-only once the replica notices.
            await Eventually.UntilAsync(
                async token => (await TryInsertAsync(first, 2, "without zookeeper", token))?.Code == TableIsReadOnly,
                RejoinWait,
                "an insert to fail because the table is read-only",
                ct);
            Log($"zookeeper: read-only {clock.Elapsed.TotalSeconds:0.00} s after ZooKeeper was killed");
            Assert.Equal([(1UL, "before")], await ReadAsync(first, ct));

            clock.Restart();
            await fixture.Cluster.RestartZooKeeperAsync(ct);
            zooKeeperBack = true;
            var zooKeeperAfter = clock.Elapsed;
            foreach (var replica in new[] { 0, 1, 2 })
            {
                using var client = fixture.Client(replica, database);
                await Eventually.UntilAsync(
                    async token => await TryInsertAsync(client, (ulong)(10 + replica), $"on r{replica + 1} after", token) is null,
                    RejoinWait,
                    $"replica r{replica + 1} to take inserts again",
                    ct);
                Log($"zookeeper: r{replica + 1} took inserts {clock.Elapsed.TotalSeconds:0.00} s after the restart (ZooKeeper served and the cluster took DDL after {zooKeeperAfter.TotalSeconds:0.00} s)");
            }

            (ulong, string)[] expected = [(1, "before"), (10, "on r1 after"), (11, "on r2 after"), (12, "on r3 after")];
            foreach (var replica in new[] { 0, 1, 2 })
            {
                using var client = fixture.Client(replica, database);
                await Eventually.UntilAsync(async token => (await ReadAsync(client, token)).SequenceEqual(expected), ReplicationWait, $"replica r{replica + 1} to have every row", ct);
            }

            // ON CLUSTER DDL goes through ZooKeeper too: every replica's DDL worker is back.
            await fixture.DropDatabaseAsync(database, ct);
        }
        finally
        {
            if (!zooKeeperBack)
            {
                await fixture.Cluster.RestartZooKeeperAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>A database of its own with the table <c>t</c>, a ReplicatedReplacingMergeTree on every replica.</summary>
    private async Task<string> CreateReplicatedTableAsync(string prefix, CancellationToken cancellationToken)
    {
        var database = await fixture.CreateDatabaseAsync(prefix, cancellationToken);
        using var client = fixture.Client(0, database);
        await client.ExecuteAsync(
            $"CREATE TABLE {database}.t ON CLUSTER {ClickHouseClusterProcess.Cluster} (id UInt64, v String) " +
            $"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{database}/t', '{{replica}}') ORDER BY id",
            cancellationToken);
        return database;
    }

    private static Task<List<(ulong Id, string V)>> ReadAsync(ClickHouseHttpClient client, CancellationToken cancellationToken) =>
        client.QueryAsync("SELECT id, v FROM t FINAL ORDER BY id", row => (row.GetProperty("id").GetUInt64(), row.GetProperty("v").GetString()!), cancellationToken);

    /// <summary>Inserts one row; null when it went in, else the server's error.</summary>
    private static async Task<ClickHouseException?> TryInsertAsync(ClickHouseHttpClient client, ulong id, string v, CancellationToken cancellationToken)
    {
        try
        {
            await client.ExecuteAsync($"INSERT INTO t (id, v) VALUES ({id}, '{v}')", cancellationToken);
            return null;
        }
        catch (ClickHouseException e)
        {
            return e;
        }
    }

    /// <summary>Whether a replica takes an insert (of a row it replaces with itself, so the contents stay the same).</summary>
    private static async Task<bool> IsWritableAsync(ClickHouseHttpClient client, CancellationToken cancellationToken)
    {
        var rows = await client.QueryAsync("SELECT id, v FROM t FINAL ORDER BY id LIMIT 1", row => (Id: row.GetProperty("id").GetUInt64(), V: row.GetProperty("v").GetString()!), cancellationToken);
        return await TryInsertAsync(client, rows[0].Id, rows[0].V, cancellationToken) is null;
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}

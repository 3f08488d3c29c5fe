using System.Diagnostics;
using Breadboard.ClickHouse;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.Chaos;

/// <summary>
/// The run's ClickHouse: by default the seed's production layout, three 18.16 replicas of one shard with ZooKeeper,
/// the store URL naming all three; or one server (<c>--single-clickhouse</c>). Faults kill a replica or ZooKeeper,
/// or the one server.
/// </summary>
internal sealed class ChaosClickHouse : IAsyncDisposable
{
    private readonly ClickHouseServerProcess? _single;
    private readonly ClickHouseClusterProcess? _cluster;

    private ChaosClickHouse(ClickHouseServerProcess? single, ClickHouseClusterProcess? cluster) => (_single, _cluster) = (single, cluster);

    public bool Replicated => _cluster is not null;

    /// <summary>For the run's log: where the servers listen.</summary>
    public string Description => _cluster is { } cluster
        ? $"clickhouse {string.Join(", ", Enumerable.Range(0, cluster.Replicas.Count).Select(cluster.Url))} (cluster {ClickHouseClusterProcess.Cluster}, zookeeper 127.0.0.1:{cluster.ZooKeeper.Port})"
        : $"clickhouse {_single!.Url}";

    /// <param name="log">Where the cluster reports a replica it restarted because 18.16 left it unable to take DDL.</param>
    public static async Task<ChaosClickHouse> StartAsync(bool replicated, Action<string> log, CancellationToken cancellationToken) =>
        replicated
            ? new ChaosClickHouse(null, await ClickHouseClusterProcess.StartAsync(log: log, cancellationToken: cancellationToken))
            : new ChaosClickHouse(await ClickHouseServerProcess.StartAsync(cancellationToken), null);

    /// <summary>The store URL of <paramref name="database"/>: every replica and the cluster, or the one server.</summary>
    public string StoreUrl(string database) => _cluster is { } cluster
        ? $"clickhouse://{string.Join(",", Enumerable.Range(0, cluster.Replicas.Count).Select(i => new Uri(cluster.Url(i)).Authority))}/{database}?cluster={ClickHouseClusterProcess.Cluster}"
        : $"clickhouse://127.0.0.1:{_single!.HttpPort}/{database}";

    /// <summary>The kinds of fault this layout takes.</summary>
    public static IEnumerable<FaultPlan.FaultKind> FaultKinds(bool replicated) => replicated
        ? [new("kill clickhouse replica", 1, 15), new("kill zookeeper", 1, 8)]
        : [new("kill clickhouse-server", 1, 5)];

    /// <summary>Injects a fault of <see cref="FaultKinds"/> and undoes it after <paramref name="down"/>; a replica
    /// is chosen by <paramref name="pick"/> (1 to 3).</summary>
    public async Task InjectAsync(string kind, int pick, TimeSpan down, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case "kill clickhouse-server" when _single is not null:
                await _single.KillAsync();
                await Task.Delay(down, cancellationToken);
                await _single.RestartAsync(cancellationToken);
                break;
            case "kill clickhouse replica" when _cluster is not null:
                var replica = (pick - 1) % _cluster.Replicas.Count;
                await _cluster.KillReplicaAsync(replica);
                await Task.Delay(down, cancellationToken);
                await _cluster.RestartReplicaAsync(replica, cancellationToken);
                break;
            case "kill zookeeper" when _cluster is not null:
                await _cluster.KillZooKeeperAsync();
                await Task.Delay(down, cancellationToken);
                await _cluster.RestartZooKeeperAsync(cancellationToken);
                break;
            default:
                throw new ArgumentException($"'{kind}' is not a fault of this ClickHouse layout", nameof(kind));
        }
    }

    /// <summary>
    /// On a cluster, waits up to <paramref name="within"/> for every replica to hold the same rows of
    /// <paramref name="database"/> (a replica killed late in the run catches up) and says what they hold; null
    /// with one server.
    /// </summary>
    public async Task<Check?> ReplicasAgreeAsync(string database, TimeSpan within, CancellationToken cancellationToken)
    {
        if (_cluster is not { } cluster)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        var contents = new List<string>();
        while (true)
        {
            contents.Clear();
            for (var replica = 0; replica < cluster.Replicas.Count; replica++)
            {
                contents.Add(await ContentsAsync(cluster.Url(replica), database, cancellationToken));
            }

            if (contents.Distinct().Count() == 1)
            {
                return new Check("replicas", true, $"all {contents.Count} hold the same rows after {clock.Elapsed.TotalSeconds:F0} s: {contents[0]}");
            }

            if (clock.Elapsed > within)
            {
                return new Check("replicas", false, $"still differ after {within.TotalMinutes:F0} min: {string.Join(" | ", contents.Select((c, i) => $"r{i + 1} {c}"))}");
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }

    /// <summary>One replica's rows: counts and order-free fingerprints of ticks (as stored, so a block stored twice
    /// shows), bars, alerts and checkpoints, each table after FINAL but the ticks.</summary>
    private static async Task<string> ContentsAsync(string url, string database, CancellationToken cancellationToken)
    {
        using var client = new ClickHouseHttpClient(new Uri(url), database, null, null, opts: ClickHouseClientOpts.Default with { MaxRetries = 0 });
        const string Sql =
            """
            SELECT
                (SELECT concat(toString(count()), '/', toString(sum(cityHash64(symbol, ts, trade_id, price, volume)))) FROM ticks_local) AS ticks,
                (SELECT concat(toString(count()), '/', toString(sum(cityHash64(symbol, `window`, window_start, close, volume, trades)))) FROM bars_local FINAL) AS bars,
                (SELECT concat(toString(count()), '/', toString(sum(cityHash64(id, value, ts)))) FROM alerts_local FINAL) AS alerts,
                (SELECT concat(toString(count()), '/', toString(sum(cityHash64(key, position, late, duplicates)))) FROM checkpoints_local FINAL) AS checkpoints
            """;
        var row = (await client.QueryAsync(Sql, r => $"ticks {r.GetProperty("ticks").GetString()}, bars {r.GetProperty("bars").GetString()}, alerts {r.GetProperty("alerts").GetString()}, checkpoints {r.GetProperty("checkpoints").GetString()}", cancellationToken))[0];
        return row;
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_single is not null)
        {
            await _single.DisposeAsync();
        }
    }
}

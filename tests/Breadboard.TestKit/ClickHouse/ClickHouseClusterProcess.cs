using System.Diagnostics;
using Breadboard.TestKit.ZooKeeper;

namespace Breadboard.TestKit.ClickHouse;

/// <summary>
/// A real replicated ClickHouse cluster on loopback: a standalone ZooKeeper and three <c>clickhouse-server</c>
/// replicas of one shard (<c>{shard}</c> = <see cref="Shard"/>, <c>{replica}</c> = <c>r1</c>..<c>r3</c>), each on
/// its own free ports and in its own temporary directory, listed as the cluster <see cref="Cluster"/> for
/// <c>ON CLUSTER</c> DDL. Replicas and ZooKeeper can be killed and started again on the same ports and data.
/// </summary>
/// <remarks>Needs Debian's <c>clickhouse-server</c> (18.16) and <c>zookeeper</c> (3.8); a missing one is an
/// error. A replica killed with SIGKILL leaves its ZooKeeper session, and so its <c>is_active</c> node, behind:
/// restarted, it stays read-only until that session expires (<see cref="ClickHouseReplicaOpts.ZooKeeperSessionTimeout"/>)
/// and its next activation attempt succeeds (18.16 retries every 10 s). <c>ON CLUSTER</c> DDL waits for every
/// replica, so run it only while all of them are up. Start a replica only while ZooKeeper serves: an 18.16 server
/// whose first ZooKeeper connection fails keeps a DDL worker without one and crashes on its next <c>ON CLUSTER</c> query.</remarks>
public sealed class ClickHouseClusterProcess : IAsyncDisposable
{
    /// <summary>The cluster's name in every replica's <c>remote_servers</c>.</summary>
    public const string Cluster = "breadboard_replicated";

    /// <summary>The <c>{shard}</c> macro of every replica.</summary>
    public const string Shard = "01";

    private readonly ClickHouseServerProcess?[] _replicas;

    private ClickHouseClusterProcess(ZooKeeperProcess zooKeeper, int replicas)
    {
        ZooKeeper = zooKeeper;
        _replicas = new ClickHouseServerProcess?[replicas];
    }

    public ZooKeeperProcess ZooKeeper { get; }

    /// <summary>The replicas, in the order of the cluster (<c>r1</c> first).</summary>
    public IReadOnlyList<ClickHouseServerProcess> Replicas => _replicas.Select(r => r ?? throw new InvalidOperationException("The cluster has not started.")).ToList();

    /// <summary>How long ZooKeeper took to serve clients, from the start.</summary>
    public TimeSpan ZooKeeperReadyAfter { get; private set; }

    /// <summary>How long until every replica answered <c>/ping</c>, from the start (ZooKeeper's time included).</summary>
    public TimeSpan ReplicasReadyAfter { get; private set; }

    /// <summary>Starts ZooKeeper, then the replicas in parallel once it serves clients, and waits until each
    /// answers <c>/ping</c>.</summary>
    public static async Task<ClickHouseClusterProcess> StartAsync(int replicas = 3, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        var clock = Stopwatch.StartNew();
        var zooKeeper = await ZooKeeperProcess.StartAsync(cancellationToken);
        var cluster = new ClickHouseClusterProcess(zooKeeper, replicas) { ZooKeeperReadyAfter = clock.Elapsed };
        try
        {
            var ports = Enumerable.Range(0, replicas).Select(_ => (Http: ServerProcess.FreePort(), Tcp: ServerProcess.FreePort(), Interserver: ServerProcess.FreePort())).ToList();
            var tcpPorts = ports.Select(p => p.Tcp).ToList();
            await Task.WhenAll(Enumerable.Range(0, replicas).Select(async i =>
            {
                var opts = new ClickHouseReplicaOpts
                {
                    HttpPort = ports[i].Http,
                    TcpPort = ports[i].Tcp,
                    InterserverHttpPort = ports[i].Interserver,
                    ZooKeeperPort = zooKeeper.Port,
                    Cluster = Cluster,
                    Shard = Shard,
                    Replica = $"r{i + 1}",
                    ClusterTcpPorts = tcpPorts,
                };
                cluster._replicas[i] = await ClickHouseServerProcess.StartReplicaAsync(opts, cancellationToken);
            }));
            cluster.ReplicasReadyAfter = clock.Elapsed;
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>http://127.0.0.1:PORT</c> of replica <paramref name="replica"/> (0-based: 0 is <c>r1</c>).</summary>
    public string Url(int replica) => Replica(replica).Url;

    /// <summary>Kills replica <paramref name="replica"/> with SIGKILL (0-based); its ZooKeeper session lives on until it expires.</summary>
    public Task KillReplicaAsync(int replica) => Replica(replica).KillAsync();

    /// <summary>Starts replica <paramref name="replica"/> again on the same ports and data and waits for <c>/ping</c>
    /// (its replicated tables may still be read-only: see the remarks on the class).</summary>
    public Task RestartReplicaAsync(int replica, CancellationToken cancellationToken = default) => Replica(replica).RestartAsync(cancellationToken);

    /// <summary>Kills ZooKeeper with SIGKILL: replicated tables turn read-only on every replica.</summary>
    public Task KillZooKeeperAsync() => ZooKeeper.KillAsync();

    /// <summary>Starts ZooKeeper again on the same port and data and waits until it serves clients; the replicas
    /// reconnect on their own.</summary>
    public Task RestartZooKeeperAsync(CancellationToken cancellationToken = default) => ZooKeeper.RestartAsync(cancellationToken);

    /// <summary>Stops every process by its pid and deletes every temporary directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_replicas.OfType<ClickHouseServerProcess>().Select(r => r.DisposeAsync().AsTask()));
        await ZooKeeper.DisposeAsync();
    }

    private ClickHouseServerProcess Replica(int replica)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replica);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(replica, _replicas.Length);
        return _replicas[replica] ?? throw new InvalidOperationException("The cluster has not started.");
    }
}

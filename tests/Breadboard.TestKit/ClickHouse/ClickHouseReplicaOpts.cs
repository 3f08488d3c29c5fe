namespace Breadboard.TestKit.ClickHouse;

/// <summary>What makes a <see cref="ClickHouseServerProcess"/> one replica of a replicated cluster: its ports, its
/// ZooKeeper, its macros and the cluster of all the shard's replicas.</summary>
/// <remarks>Every port must be chosen before any replica starts, since each replica's config lists the others'
/// <c>tcp_port</c>s; <see cref="ClickHouseClusterProcess"/> does that.</remarks>
public sealed record ClickHouseReplicaOpts
{
    public required int HttpPort { get; init; }

    public required int TcpPort { get; init; }

    /// <summary>The port other replicas fetch this one's parts from (<c>interserver_http_port</c>).</summary>
    public required int InterserverHttpPort { get; init; }

    /// <summary>The ZooKeeper's client port on 127.0.0.1.</summary>
    public required int ZooKeeperPort { get; init; }

    /// <summary><c>session_timeout_ms</c>: how long ZooKeeper keeps a dead replica's session, and so its
    /// <c>is_active</c> node, which a restarted replica has to wait out.</summary>
    public TimeSpan ZooKeeperSessionTimeout { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>The name in <c>remote_servers</c> of the cluster of <see cref="ClusterTcpPorts"/>.</summary>
    public required string Cluster { get; init; }

    /// <summary>The <c>{shard}</c> macro.</summary>
    public string Shard { get; init; } = "01";

    /// <summary>The <c>{replica}</c> macro, unique in the shard (<c>r1</c>, <c>r2</c>, ...).</summary>
    public required string Replica { get; init; }

    /// <summary>The <c>tcp_port</c> of every replica of the one shard, this one's included.</summary>
    public required IReadOnlyList<int> ClusterTcpPorts { get; init; }
}

using Breadboard.TestKit.ClickHouse;

namespace Breadboard.ClickHouse.Tests;

/// <summary>One real replicated cluster (ZooKeeper and three replicas) for every test class of
/// <see cref="ClickHouseClusterGroup"/>; tests use their own database names.</summary>
/// <remarks>The tests of the group run one at a time: one that kills a replica or ZooKeeper starts it again
/// before it ends, and the restart returns once the cluster takes DDL again. The cluster restarts a replica that
/// 18.16 leaves unable to take DDL (<see cref="ClickHouseClusterProcess"/>); each restart, with its reason, is
/// written to the output of the test that next asks for a <see cref="Client"/>.</remarks>
public sealed class ClickHouseClusterFixture : IAsyncLifetime
{
    // ON CLUSTER DDL waits for every replica (up to distributed_ddl_task_timeout, 180 s): a bound well under that.
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Restarts reported by the cluster, waiting for a test's output (the watchdog runs outside any test).</summary>
    private readonly List<string> _reports = [];
    private ClickHouseClusterProcess? _cluster;

    public ClickHouseClusterProcess Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public async ValueTask InitializeAsync() =>
        _cluster = await ClickHouseClusterProcess.StartAsync(log: Report, cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _http.Dispose();
    }

    /// <summary>A client of replica <paramref name="replica"/> (0-based) that does not retry: the tests see each failure.</summary>
    public ClickHouseHttpClient Client(int replica, string database)
    {
        FlushReports();
        return new(new Uri(Cluster.Url(replica)), database, null, null, _http, ClickHouseClientOpts.Default with { MaxRetries = 0 });
    }

    /// <summary>A database of its own for one test, created on every replica (<c>ON CLUSTER</c>).</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        using var admin = Client(0, "default");
        await admin.ExecuteAsync($"CREATE DATABASE {name} ON CLUSTER {ClickHouseClusterProcess.Cluster}", cancellationToken);
        return name;
    }

    /// <summary>Drops a test's database on every replica (<c>ON CLUSTER</c>, so it also shows that every replica takes DDL).</summary>
    public async Task DropDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        using var admin = Client(0, "default");
        await admin.ExecuteAsync($"DROP DATABASE {database} ON CLUSTER {ClickHouseClusterProcess.Cluster}", cancellationToken);
    }

    private void Report(string line)
    {
        lock (_reports)
        {
            _reports.Add("cluster: " + line);
        }

        FlushReports();
    }

    private void FlushReports()
    {
        if (TestContext.Current.TestOutputHelper is not { } output)
        {
            return;
        }

        lock (_reports)
        {
            foreach (var line in _reports)
            {
                output.WriteLine(line);
            }

            _reports.Clear();
        }
    }
}

/// <summary>The test classes that share one <see cref="ClickHouseClusterFixture"/>.</summary>
[CollectionDefinition(nameof(ClickHouseClusterGroup))]
public sealed class ClickHouseClusterGroup : ICollectionFixture<ClickHouseClusterFixture>;

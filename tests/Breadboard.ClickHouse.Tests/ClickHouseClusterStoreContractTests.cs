using System.Text.RegularExpressions;
using Breadboard.Core.Seams;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;
using Breadboard.TestKit.Stores;

namespace Breadboard.ClickHouse.Tests;

/// <summary>
/// The <see cref="IMarketStore"/> contract on the cluster layout of a real replicated cluster: the store reads and
/// writes the replicated <c>_local</c> tables, with <c>FINAL</c> over ReplicatedReplacingMergeTree.
/// </summary>
/// <remarks>Each test's schema is the cluster DDL run on the first replica alone (without <c>ON CLUSTER</c>, which
/// would make every test wait for all three): the contract is about what the store reads back, and
/// <see cref="ClickHouseClusterStoreTests"/> covers migrations and replication.</remarks>
[Slow]
[Collection(nameof(ClickHouseClusterGroup))]
public sealed partial class ClickHouseClusterStoreContractTests(ClickHouseClusterFixture fixture) : MarketStoreContract
{
    private readonly string _database = $"cluster_contract_{Guid.NewGuid():N}";

    private string Url => $"clickhouse://{new Uri(fixture.Cluster.Url(0)).Authority}/{_database}?cluster={ClickHouseClusterProcess.Cluster}";

    protected override async Task<IMarketStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        using (var admin = fixture.Client(0, "default"))
        {
            foreach (var statement in ClickHouseSchema.Statements(_database, ClickHouseClusterProcess.Cluster))
            {
                await admin.ExecuteAsync(OnCluster().Replace(statement, ""), cancellationToken);
            }

            await admin.ExecuteAsync($"INSERT INTO {_database}.schema_migrations_local (version, name, applied_at) SELECT number + 1, '', now() FROM system.numbers LIMIT {ClickHouseSchema.LatestVersion}", cancellationToken);
        }

        var store = ClickHouseStore.Open(Url);
        await store.InitializeAsync(cancellationToken);
        return store;
    }

    protected override async Task<IMarketStore> ReopenAsync(IMarketStore store, CancellationToken cancellationToken)
    {
        await store.DisposeAsync();
        return ClickHouseStore.Open(Url);
    }

    [GeneratedRegex(" ON CLUSTER [A-Za-z_0-9]+")]
    private static partial Regex OnCluster();
}

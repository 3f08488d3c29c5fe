using Breadboard.Core.Seams;
using Breadboard.TestKit;
using Breadboard.TestKit.Stores;

namespace Breadboard.ClickHouse.Tests;

/// <summary>The <see cref="IMarketStore"/> contract on a real ClickHouse 18.16: each test's store in a database of its own.</summary>
[Slow]
public sealed class ClickHouseStoreContractTests(ClickHouseServerFixture fixture) : MarketStoreContract, IClassFixture<ClickHouseServerFixture>
{
    private readonly string _url = $"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/contract_{Guid.NewGuid():N}";

    protected override async Task<IMarketStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        var store = ClickHouseStore.Open(_url);
        await store.InitializeAsync(cancellationToken);
        return store;
    }

    protected override async Task<IMarketStore> ReopenAsync(IMarketStore store, CancellationToken cancellationToken)
    {
        await store.DisposeAsync();
        return ClickHouseStore.Open(_url);
    }
}

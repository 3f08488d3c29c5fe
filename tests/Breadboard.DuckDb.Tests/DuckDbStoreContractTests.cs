using Breadboard.Core.Seams;
using Breadboard.TestKit.Stores;

namespace Breadboard.DuckDb.Tests;

/// <summary>The <see cref="IMarketStore"/> contract on DuckDB: each test's store in a file of its own.</summary>
public sealed class DuckDbStoreContractTests : MarketStoreContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "breadboard-duckdb-tests", Guid.NewGuid().ToString("N"));

    private string FilePath => Path.Combine(_directory, "store.duckdb");

    protected override async Task<IMarketStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        var store = DuckDbStore.Open(FilePath);
        await store.InitializeAsync(cancellationToken);
        return store;
    }

    protected override async Task<IMarketStore> ReopenAsync(IMarketStore store, CancellationToken cancellationToken)
    {
        // A second process cannot open the file while this one holds it: close first, as a restart does.
        await store.DisposeAsync();
        return DuckDbStore.Open(FilePath);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test for.
        }
    }
}

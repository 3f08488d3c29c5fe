using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;

namespace Breadboard.DuckDb.Tests;

/// <summary>A store in its own file under a fresh temp directory, deleted afterwards.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private readonly string _directory;

    private TempStore(string directory, DuckDbStore store)
    {
        _directory = directory;
        Store = store;
    }

    public DuckDbStore Store { get; private set; }

    /// <summary>The database file; its parent directory does not exist until the store is opened.</summary>
    public string FilePath => Path.Combine(_directory, "nested", "store.duckdb");

    public static async Task<TempStore> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "breadboard-duckdb-tests", Guid.NewGuid().ToString("N"));
        var store = DuckDbStore.Open(Path.Combine(directory, "nested", "store.duckdb"));
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return new TempStore(directory, store);
    }

    /// <summary>Closes the store and opens the same file again, as a restart would.</summary>
    public async Task<DuckDbStore> ReopenAsync(ILogger? logger = null)
    {
        await Store.DisposeAsync();
        Store = DuckDbStore.Open(FilePath, logger);
        await Store.InitializeAsync(TestContext.Current.CancellationToken);
        return Store;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
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

/// <summary>Short constructors for test data; times are offsets in ms from <see cref="T0"/>.</summary>

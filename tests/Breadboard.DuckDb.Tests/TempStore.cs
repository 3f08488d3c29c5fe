using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using DuckDB.NET.Data;
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

    /// <summary>SQL that takes a file of the latest schema back to version 4 (alerts without their pipeline, no
    /// pipelines table), keeping its alerts: a file as an older build left it.</summary>
    public const string BackToVersion4 =
        """
        CREATE TABLE old_alerts AS SELECT id, rule, symbol, "window", window_start, window_end, value, threshold, ts FROM alerts;
        DROP TABLE alerts;
        CREATE TABLE alerts (
            id VARCHAR PRIMARY KEY, rule VARCHAR NOT NULL, symbol VARCHAR NOT NULL, "window" VARCHAR NOT NULL,
            window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, value DOUBLE NOT NULL, threshold DOUBLE NOT NULL,
            ts TIMESTAMP NOT NULL
        );
        INSERT INTO alerts SELECT * FROM old_alerts;
        DROP TABLE old_alerts;
        DROP TABLE pipelines;
        UPDATE schema_version SET version = 4;
        """;

    /// <summary>Runs <paramref name="sql"/> on the closed store's file with a connection of its own.</summary>
    public async Task ExecuteOnFileAsync(string sql)
    {
        await Store.DisposeAsync();
        await using var connection = new DuckDBConnection($"DataSource={FilePath}");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
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

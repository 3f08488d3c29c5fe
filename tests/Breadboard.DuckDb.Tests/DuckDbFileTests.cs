using DuckDB.NET.Data;

namespace Breadboard.DuckDb.Tests;

/// <summary><see cref="DuckDbFile.InspectAsync"/>: the schema version of a file read without changing it.</summary>
public sealed class DuckDbFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("breadboard-duckdb-file-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Inspect_CurrentOlderNewerAndForeignFiles_ReadsTheirVersion_AndLeavesThemAsTheyWere()
    {
        var path = Path.Combine(_directory, "bb.duckdb");
        await using (var store = DuckDbStore.Open(path))
        {
            await store.InitializeAsync(Ct);
        }

        Assert.Equal(new DuckDbFileState(DuckDbFile.LatestSchemaVersion, null), await DuckDbFile.InspectAsync(path, Ct));

        await ExecuteAsync(path, "UPDATE schema_version SET version = 3");
        var before = File.ReadAllBytes(path);
        Assert.Equal(new DuckDbFileState(3, null), await DuckDbFile.InspectAsync(path, Ct));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".wal"));

        await ExecuteAsync(path, "UPDATE schema_version SET version = 99");
        Assert.Equal(new DuckDbFileState(99, null), await DuckDbFile.InspectAsync(path, Ct));

        var foreign = Path.Combine(_directory, "other.duckdb");
        await ExecuteAsync(foreign, "CREATE TABLE t (a INTEGER)");
        Assert.Equal(new DuckDbFileState(0, null), await DuckDbFile.InspectAsync(foreign, Ct));
    }

    [Fact]
    public async Task Inspect_NoFile_ThrowsFileNotFound_AndCreatesNone()
    {
        var path = Path.Combine(_directory, "none.duckdb");

        await Assert.ThrowsAsync<FileNotFoundException>(() => DuckDbFile.InspectAsync(path, Ct));

        Assert.Empty(Directory.GetFiles(_directory));
    }

    private static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new DuckDBConnection($"DataSource={path}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }
}

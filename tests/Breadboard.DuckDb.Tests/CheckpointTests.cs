using Breadboard.Core.Seams;
using Breadboard.TestKit.Logging;
using DuckDB.NET.Data;

namespace Breadboard.DuckDb.Tests;

public class CheckpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Initialize_AFileOfSchemaVersion3WithCheckpoints_AddsTheirTotalsAsZero()
    {
        await using var temp = await TempStore.CreateAsync();
        var first = new StoreBatch { Counts = new PipelineCounts(1, 2, 3) };
        first.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 10, [1]));
        await temp.Store.WriteAsync(first, Ct);
        await temp.Store.DisposeAsync();

        // Back to version 3: the checkpoints table as it was before checkpoints carried totals, its row kept.
        await using (var connection = new DuckDBConnection($"DataSource={temp.FilePath}"))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText =
                """
                CREATE TABLE old AS SELECT key, position, state, updated FROM checkpoints;
                DROP TABLE checkpoints;
                CREATE TABLE checkpoints (key VARCHAR PRIMARY KEY, position BIGINT NOT NULL, state BLOB NOT NULL, updated TIMESTAMP NOT NULL);
                INSERT INTO checkpoints SELECT * FROM old;
                DROP TABLE old;
                UPDATE schema_version SET version = 3;
                """;
            await command.ExecuteNonQueryAsync(Ct);
        }

        var log = new ListLogger();
        var store = await temp.ReopenAsync(log);
        Assert.Equal($"store: DuckDB {temp.FilePath} upgraded from schema version 3 to 4", Assert.Single(log.Lines));
        var loaded = await store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);
        Assert.Equal((10L, default(PipelineCounts)), (loaded!.Position, loaded.Counts));
        Assert.Equal(new PipelineCounts(1, 2, 3), await store.ReadCountsAsync(Ct));

        var next = new StoreBatch();
        next.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 20, [2], new PipelineCounts(0, 1, 1)));
        await store.WriteAsync(next, Ct);
        Assert.Equal(new PipelineCounts(1, 3, 4), await store.ReadCountsAsync(Ct));
    }

}

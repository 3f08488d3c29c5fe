using Breadboard.Core.Seams;
using Breadboard.TestKit.Logging;

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

        // Back to version 3: the checkpoints table as it was before checkpoints carried totals, its row kept.
        await temp.ExecuteOnFileAsync(
            TempStore.BackToVersion4 +
            """
            CREATE TABLE old AS SELECT key, position, state, updated FROM checkpoints;
            DROP TABLE checkpoints;
            CREATE TABLE checkpoints (key VARCHAR PRIMARY KEY, position BIGINT NOT NULL, state BLOB NOT NULL, updated TIMESTAMP NOT NULL);
            INSERT INTO checkpoints SELECT * FROM old;
            DROP TABLE old;
            UPDATE schema_version SET version = 3;
            """);

        var log = new ListLogger();
        var store = await temp.ReopenAsync(log);
        Assert.Equal($"store: DuckDB {temp.FilePath} upgraded from schema version 3 to 5", Assert.Single(log.Lines));
        var loaded = await store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);
        Assert.Equal((10L, default(PipelineCounts)), (loaded!.Position, loaded.Counts));
        Assert.Equal(new PipelineCounts(1, 2, 3), await store.ReadCountsAsync(Ct));

        var next = new StoreBatch();
        next.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 20, [2], new PipelineCounts(0, 1, 1)));
        await store.WriteAsync(next, Ct);
        Assert.Equal(new PipelineCounts(1, 3, 4), await store.ReadCountsAsync(Ct));
    }

}

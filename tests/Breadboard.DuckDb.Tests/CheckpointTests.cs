using Breadboard.Core.Seams;
using DuckDB.NET.Data;

namespace Breadboard.DuckDb.Tests;

public class CheckpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteAsync_WithCheckpoint_StoresItWithTheBatchAndReplacesTheOldOne()
    {
        await using var temp = await TempStore.CreateAsync();
        var first = new StoreBatch();
        first.Ticks.Add(Make.Tick("AAPL", Make.T0, 1));
        first.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 10, [1, 2, 3]));
        await temp.Store.WriteAsync(first, Ct);
        var second = new StoreBatch();
        second.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 25, [4, 5]));
        await temp.Store.WriteAsync(second, Ct);

        var store = await temp.ReopenAsync();
        var loaded = await store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);

        Assert.NotNull(loaded);
        Assert.Equal(25, loaded.Position);
        Assert.Equal(new byte[] { 4, 5 }, loaded.State);
        Assert.Null(await store.LoadCheckpointAsync("kafka:stock-prices:1", Ct));
    }

    [Fact]
    public async Task Counts_OfACheckpoint_AreTotalsThatTheNextCheckpointOfItsKeyReplaces()
    {
        await using var temp = await TempStore.CreateAsync();
        static StoreBatch At(string key, long position, PipelineCounts totals, PipelineCounts increments = default)
        {
            var batch = new StoreBatch { Counts = increments };
            batch.Checkpoints.Add(new Checkpoint(key, position, [7], totals));
            return batch;
        }

        await temp.Store.WriteAsync(At("kafka:stock-prices:0", 10, new(1, 2, 3), increments: new(5, 0, 0)), Ct);
        await temp.Store.WriteAsync(At("kafka:stock-prices:1", 4, new(0, 1, 0)), Ct);
        await temp.Store.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), Ct);
        await temp.Store.WriteAsync(At("kafka:stock-prices:0", 20, new(1, 3, 5)), Ct); // the same input stored again

        var store = await temp.ReopenAsync();
        Assert.Equal(new PipelineCounts(6, 4, 5), await store.ReadCountsAsync(Ct));
        Assert.Equal(new PipelineCounts(1, 3, 5), (await store.LoadCheckpointAsync("kafka:stock-prices:0", Ct))!.Counts);
    }

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

        var store = await temp.ReopenAsync();
        var loaded = await store.LoadCheckpointAsync("kafka:stock-prices:0", Ct);
        Assert.Equal((10L, default(PipelineCounts)), (loaded!.Position, loaded.Counts));
        Assert.Equal(new PipelineCounts(1, 2, 3), await store.ReadCountsAsync(Ct));

        var next = new StoreBatch();
        next.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 20, [2], new PipelineCounts(0, 1, 1)));
        await store.WriteAsync(next, Ct);
        Assert.Equal(new PipelineCounts(1, 3, 4), await store.ReadCountsAsync(Ct));
    }

    [Fact]
    public async Task WriteAsync_Cancelled_StoresNeitherTheOutputsNorTheCheckpoint()
    {
        await using var temp = await TempStore.CreateAsync();
        var batch = new StoreBatch();
        for (var i = 0; i < 50_000; i++)
        {
            batch.Ticks.Add(Make.Tick("AAPL", Make.T0 + i, 1));
        }

        batch.Checkpoints.Add(new Checkpoint("kafka:stock-prices:0", 50_000, [9]));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await temp.Store.WriteAsync(batch, cancelled.Token));

        Assert.Null(await temp.Store.LoadCheckpointAsync("kafka:stock-prices:0", Ct));
        var ticks = 0;
        await foreach (var _ in temp.Store.QueryTicksAsync(new TickQuery(), Ct))
        {
            ticks++;
        }

        Assert.Equal(0, ticks);
    }
}

using Breadboard.Core.Seams;

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

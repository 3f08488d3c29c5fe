using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Core.Streaming;

/// <summary>
/// Collects what the engine emits, with the ticks it took and the counts of what it dropped, into
/// <see cref="StoreBatch"/>es, and writes them to the store and the alert bus.
/// </summary>
/// <remarks>Collecting happens on the engine's thread; <see cref="WriteAsync"/> may run elsewhere, one batch at a time.</remarks>
public sealed class StoreSink(IMarketStore? store, IAlertBus? alertBus, int batchSize = 50_000) : IEngineOutput
{
    private StoreBatch _batch = new();
    private long _rejects;
    private long _lateSeen;
    private long _duplicatesSeen;

    /// <summary>Records collected since the last <see cref="TakeBatch"/>.</summary>
    public int Pending => _batch.Ticks.Count + _batch.Bars.Count + _batch.Alerts.Count;

    public bool IsFull => Pending >= batchSize;

    /// <summary>A tick the engine took (not a duplicate), to be stored.</summary>
    public void Tick(in Tick tick)
    {
        if (store is not null)
        {
            _batch.Ticks.Add(tick);
        }
    }

    /// <summary>Input lines that were refused.</summary>
    public void Reject(long count = 1) => _rejects += count;

    public void OnBar(Bar bar)
    {
        if (store is not null)
        {
            _batch.Bars.Add(bar);
        }
    }

    public void OnAlert(Alert alert) => _batch.Alerts.Add(alert);

    public void OnLate(in Tick tick, long watermark)
    {
        // Counted through the engine's totals in TakeBatch; the tick itself is kept with the other ticks.
    }

    public void OnTick(in Tick tick, long position) => Tick(in tick);

    /// <summary>A tick the engine refused: counted with the rejects of the input.</summary>
    public void OnReject(in Tick tick, long position, string reason) => _rejects++;

    /// <summary>Hands over what was collected, with the increments of the drop counts since the last batch.</summary>
    public StoreBatch TakeBatch(WindowEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var batch = _batch;
        batch.Counts = new PipelineCounts(_rejects, engine.Late - _lateSeen, engine.Duplicates - _duplicatesSeen);
        _rejects = 0;
        _lateSeen = engine.Late;
        _duplicatesSeen = engine.Duplicates;
        _batch = new StoreBatch();
        return batch;
    }

    /// <summary>Writes a batch: to the store first, then its alerts to the bus, so a listener can always find an alert's bar.</summary>
    public async ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (store is not null && !batch.IsEmpty)
        {
            await store.WriteAsync(batch, cancellationToken);
        }

        if (alertBus is not null)
        {
            foreach (var alert in batch.Alerts)
            {
                await alertBus.PublishAsync(alert, cancellationToken);
            }

            await alertBus.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Takes and writes the current batch.</summary>
    public ValueTask FlushAsync(WindowEngine engine, CancellationToken cancellationToken = default) =>
        WriteAsync(TakeBatch(engine), cancellationToken);
}

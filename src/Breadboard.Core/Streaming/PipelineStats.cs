using Breadboard.Core.Engine;

namespace Breadboard.Core.Streaming;

/// <summary>Live counters of a running pipeline, written by the thread that drives the engine and safe to read from any other.</summary>
public sealed class PipelineStats
{
    private long _ticks, _bars, _alerts, _late, _duplicates, _rejects, _refused, _future, _stored, _watermark = long.MinValue;
    private int _running, _held;
    private string? _lastReject;

    public long Ticks => Volatile.Read(ref _ticks);

    public long Bars => Volatile.Read(ref _bars);

    public long Alerts => Volatile.Read(ref _alerts);

    public long Late => Volatile.Read(ref _late);

    public long Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Input refused by the feed (lines it could not read) or, with several engines, by them too.</summary>
    public long Rejects => Volatile.Read(ref _rejects);

    /// <summary>Ticks the engine refused (<see cref="WindowEngine.Refused"/>); with several engines they are in <see cref="Rejects"/>.</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Ticks refused as being from the future, by every engine.</summary>
    public long Future => Volatile.Read(ref _future);

    /// <summary>Ticks held by the future guard right now, waiting for later ticks to confirm their jump.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The reason of the latest refusal, to show where rejects have no file to go to.</summary>
    public string? LastReject => Volatile.Read(ref _lastReject);

    /// <summary>Batches written to the store.</summary>
    public long StoreBatches => Volatile.Read(ref _stored);

    /// <summary>The engine's watermark in epoch ms; <see cref="long.MinValue"/> before the first tick.</summary>
    public long Watermark => Volatile.Read(ref _watermark);

    /// <summary>True while the pipeline runs.</summary>
    public bool Running
    {
        get => Volatile.Read(ref _running) == 1;
        set => Volatile.Write(ref _running, value ? 1 : 0);
    }

    /// <summary>Copies the engine's counters; called by the thread that drives the engine.</summary>
    public void From(WindowEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Volatile.Write(ref _ticks, engine.Ticks);
        Volatile.Write(ref _bars, engine.BarsEmitted);
        Volatile.Write(ref _alerts, engine.AlertsEmitted);
        Volatile.Write(ref _late, engine.Late);
        Volatile.Write(ref _duplicates, engine.Duplicates);
        Volatile.Write(ref _watermark, engine.Watermark);
        Volatile.Write(ref _refused, engine.Refused);
        Volatile.Write(ref _future, engine.RefusedFuture);
        Volatile.Write(ref _held, engine.Held);
    }

    /// <summary>Sets the counters directly, for a pipeline that runs several engines (one per partition), whose refusals it counts as rejects.</summary>
    public void Set(long ticks, long bars, long alerts, long late, long duplicates, long watermark, long future = 0, int held = 0)
    {
        Volatile.Write(ref _ticks, ticks);
        Volatile.Write(ref _bars, bars);
        Volatile.Write(ref _alerts, alerts);
        Volatile.Write(ref _late, late);
        Volatile.Write(ref _duplicates, duplicates);
        Volatile.Write(ref _watermark, watermark);
        Volatile.Write(ref _future, future);
        Volatile.Write(ref _held, held);
    }

    public void Rejected(long count = 1) => Interlocked.Add(ref _rejects, count);

    /// <summary>Remembers why the latest tick was refused.</summary>
    public void RejectReason(string reason) => Volatile.Write(ref _lastReject, reason);

    public void Stored() => Interlocked.Increment(ref _stored);
}

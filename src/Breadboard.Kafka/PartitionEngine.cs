using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;

namespace Breadboard.Kafka;

/// <summary>One Kafka partition's engine and what it emitted since the last write.</summary>
/// <remarks>The processor's only contact with <see cref="WindowEngine"/>: one engine per partition, since a symbol lives on exactly one.</remarks>
internal sealed class PartitionEngine : IEngineOutput
{
    private readonly string _key;
    private readonly ILiveObserver? _observer;
    private long _lateSeen;
    private long _duplicatesSeen;

    private PartitionEngine(string key, ILiveObserver? observer)
    {
        _key = key;
        _observer = observer;
    }

    public WindowEngine Engine { get; private set; } = null!;

    /// <summary>What the engine emitted since the last write.</summary>
    public PartitionOutput Output { get; } = new();

    /// <summary>Ticks the engine refused while taking the last message, with their offsets, for the dead-letter topic.</summary>
    public List<(Tick Tick, long Offset, string Reason)> Refusals { get; } = [];

    /// <summary>The highest event time when the last message arrived: an idle partition advances from there.</summary>
    public long LastTickTs { get; set; }

    /// <summary>Late ticks since the last write.</summary>
    public long NewLate => Engine.Late - _lateSeen;

    /// <summary>Duplicates since the last write.</summary>
    public long NewDuplicates => Engine.Duplicates - _duplicatesSeen;

    /// <summary>A fresh engine, or one restored from its checkpoint's state (without the trade ids, which the caller restores).</summary>
    public static PartitionEngine Open(PipelineDefinition definition, string key, byte[]? state, TimeProvider wallClock, ILiveObserver? observer)
    {
        var partition = new PartitionEngine(key, observer);
        if (state is null)
        {
            partition.Engine = new WindowEngine(definition, partition, wallClock);
        }
        else
        {
            using var stream = new MemoryStream(state);
            partition.Engine = WindowEngine.Restore(definition, partition, stream, wallClock);
        }

        partition.SyncCounters();
        return partition;
    }

    /// <summary>The state for the checkpoint, with the totals of late ticks and duplicates.</summary>
    public CheckpointState Save()
    {
        using var state = new MemoryStream();
        Engine.Save(state, includeTradeIds: false); // the ticks themselves are in the batch: see TickProcessor.RestoreTradeIds
        return new CheckpointState(state.ToArray(), Engine.Late, Engine.Duplicates);
    }

    /// <summary>Forgets what was emitted: it is written (or dropped).</summary>
    public void Clear()
    {
        Output.Clear();
        SyncCounters();
    }

    public void OnBar(Bar bar)
    {
        Output.Bars.Add(bar);
        _observer?.OnClosedBar(bar);
    }

    public void OnAlert(Alert alert) => Output.Alerts.Add(alert);

    public void OnLate(in Tick tick, long watermark)
    {
        // Counted by the engine; the tick itself is stored with the others.
    }

    public void OnTick(in Tick tick, long position)
    {
        Output.Ticks.Add(tick);
        Output.Origins.Add(new TickOrigin(_key, position));
        _observer?.OnTick(in tick);
    }

    public void OnReject(in Tick tick, long position, string reason) => Refusals.Add((tick, position, reason));

    private void SyncCounters()
    {
        _lateSeen = Engine.Late;
        _duplicatesSeen = Engine.Duplicates;
    }
}

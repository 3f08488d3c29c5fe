using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Runtime;

namespace Breadboard.Kafka;

/// <summary>One Kafka partition's <see cref="EngineRun"/>, and where its event time was when its last message arrived.</summary>
/// <remarks>One engine per partition, since a symbol lives on exactly one.</remarks>
internal sealed class PartitionEngine
{
    private PartitionEngine(EngineRun run) => Run = run;

    public EngineRun Run { get; }

    public Core.Engine.WindowEngine Engine => Run.Engine;

    /// <summary>The highest event time when the last message arrived: an idle partition advances from there.</summary>
    public long LastTickTs { get; set; }

    /// <summary>A fresh engine, or one restored from its checkpoint's state (without the trade ids, which the caller restores).</summary>
    public static PartitionEngine Open(PipelineDefinition definition, string key, byte[]? state, TimeProvider wallClock, ILiveObserver? observer)
    {
        var options = new EngineRunOptions { OriginKey = key, WallClock = wallClock, Tap = observer is null ? null : new LiveTap(observer) };
        return new PartitionEngine(state is null ? EngineRun.Start(definition, options) : EngineRun.Resume(definition, state, options));
    }

    /// <summary>The state for the checkpoint, with the totals of late ticks and duplicates.</summary>
    public CheckpointState Save() =>
        new(Run.SaveState(includeTradeIds: false), Engine.Late, Engine.Duplicates); // the ticks themselves are in the batch: see TickProcessor.RestoreTradeIds

    /// <summary>Passes ticks taken and closed bars to the live view.</summary>
    private sealed class LiveTap(ILiveObserver observer) : Core.Engine.IEngineOutput
    {
        public void OnBar(Core.Model.Bar bar) => observer.OnClosedBar(bar);

        public void OnAlert(Core.Model.Alert alert)
        {
        }

        public void OnLate(in Core.Model.Tick tick, long watermark)
        {
        }

        public void OnTick(in Core.Model.Tick tick, long position) => observer.OnTick(in tick);

        public void OnReject(in Core.Model.Tick tick, long position, string reason)
        {
        }
    }
}

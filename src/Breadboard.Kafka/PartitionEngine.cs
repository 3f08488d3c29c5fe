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

    /// <summary>Set on a restored engine until the trade ids of its dedup horizon are read back from the store, up to this checkpoint.</summary>
    public TickOrigin? TradeIdsFrom { get; set; }

    /// <summary>A fresh engine, or one restored from its checkpoint's state (without the trade ids, which the caller restores).</summary>
    /// <param name="alertBus">Where each alert is published as soon as the engine fires it; null leaves alerts to the write.</param>
    public static PartitionEngine Open(PipelineDefinition definition, string key, byte[]? state, TimeProvider wallClock, ILiveObserver? observer, IAlertBus? alertBus = null)
    {
        var tap = observer is null && alertBus is null ? null : new Tap(observer, alertBus);
        var options = new EngineRunOptions { OriginKey = key, WallClock = wallClock, Tap = tap };
        var run = state is null ? EngineRun.Start(definition, options) : EngineRun.Resume(definition, state, options);
        tap?.Run = run;
        return new PartitionEngine(run);
    }

    /// <summary>The state for the checkpoint, with the totals of late ticks and duplicates.</summary>
    public CheckpointState Save() =>
        new(Run.SaveState(includeTradeIds: false), Engine.Late, Engine.Duplicates); // the ticks themselves are in the batch: see TickProcessor.RestoreTradeIds

    /// <summary>Passes ticks taken and closed bars to the live view as the engine takes and closes them, and alerts to the alert bus.</summary>
    /// <remarks>
    /// An alert published here, before the store write that checkpoints its input, may be published again after a
    /// crash: the same id, which the bus de-duplicates (NATS's <c>Nats-Msg-Id</c>). The write still waits for the
    /// bus's acknowledgements before it commits, so no alert is lost.
    /// </remarks>
    private sealed class Tap(ILiveObserver? observer, IAlertBus? alertBus) : Core.Engine.IEngineOutput
    {
        public EngineRun? Run { get; set; }

        public void OnBar(Core.Model.Bar bar) => observer?.OnClosedBar(bar);

        public void OnAlert(Core.Model.Alert alert)
        {
            if (alertBus is null)
            {
                return;
            }

            // On the consume thread: a bus whose buffer is full makes consuming wait (backpressure, nothing dropped).
            var publishing = alertBus.PublishAsync(alert);
            if (!publishing.IsCompletedSuccessfully)
            {
                publishing.AsTask().GetAwaiter().GetResult();
            }
        }

        public void OnLate(in Core.Model.Tick tick, long watermark)
        {
        }

        public void OnTick(in Core.Model.Tick tick, long position) => observer?.OnTick(in tick, Run?.ReceivedAt ?? 0);

        public void OnReject(in Core.Model.Tick tick, long position, string reason)
        {
        }
    }
}

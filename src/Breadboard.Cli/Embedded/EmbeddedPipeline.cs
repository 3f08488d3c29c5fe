using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Web.Live;

namespace Breadboard.Cli.Embedded;

/// <summary>Settings of the in-process pipeline; the defaults suit a laptop.</summary>
internal sealed record EmbeddedPipelineOptions
{
    public static EmbeddedPipelineOptions Default { get; } = new();

    /// <summary>Ticks the feed may run ahead of the engine before it waits (backpressure).</summary>
    public int TickBuffer { get; init; } = 65_536;

    /// <summary>Store batches the engine may run ahead of the store before it waits.</summary>
    public int BatchBuffer { get; init; } = 4;

    /// <summary>Records per store batch.</summary>
    public int BatchSize { get; init; } = 20_000;

    /// <summary>Longest a tick waits in a batch before it is written.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Engine checkpoint file; null keeps no checkpoint.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>When the feed ends by itself (a file), close every window, as end of input does in replay.</summary>
    public bool CloseAtEndOfInput { get; init; }

    /// <summary>How often the checkpoint is renewed while running.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock ticks from the future are measured against (the pipeline's future.clock_skew).</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;
}

/// <summary>
/// The embedded face: feed → bounded channel → engine → bounded channel → store and alert bus, in one process.
/// Each stage waits when the next is full, so a slow store slows the feed instead of filling memory.
/// </summary>
/// <remarks>
/// On stop (cancellation or the feed ending) the ticks already taken are processed and written before
/// <see cref="RunAsync"/> returns; windows stay open and go into the checkpoint, so the next run continues them.
/// A checkpoint is written only after the store has everything emitted before it.
/// </remarks>
internal sealed class EmbeddedPipeline(PipelineDefinition definition, IMarketStore store, IAlertBus alertBus, EmbeddedPipelineOptions? options = null, LiveHub? hub = null)
{
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(100);

    private readonly EmbeddedPipelineOptions _options = options ?? EmbeddedPipelineOptions.Default;
    private volatile bool _feedEnded;

    public PipelineStats Stats { get; } = new();

    /// <summary>Set when the run started from a checkpoint.</summary>
    public bool Restored { get; private set; }

    /// <summary>Set when a checkpoint existed but could not be used (another pipeline definition, damage); the run starts fresh.</summary>
    public string? CheckpointProblem { get; private set; }

    public async Task RunAsync(IAsyncEnumerable<Tick> feed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(feed);
        var sink = new StoreSink(store, alertBus, _options.BatchSize);
        var engine = LoadOrCreate(new EngineOutput(sink, hub, Stats));
        var ticks = Channel.CreateBounded<Tick>(new BoundedChannelOptions(_options.TickBuffer) { SingleReader = true, SingleWriter = true });
        var batches = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(_options.BatchBuffer) { SingleReader = true, SingleWriter = true });

        // A stage that fails stops the others instead of leaving them blocked on a full channel: the feed is
        // cancelled and the channel into the failed stage closed, so the run ends with the failure.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Stats.Running = true;
        try
        {
            var pump = PumpAsync(feed, ticks.Writer, failed.Token);
            var process = Task.Run(async () =>
            {
                try
                {
                    await ProcessAsync(engine, sink, ticks.Reader, batches.Writer);
                }
                catch
                {
                    await failed.CancelAsync();
                    throw;
                }
            }, CancellationToken.None);
            var write = Task.Run(async () =>
            {
                try
                {
                    await WriteAsync(sink, batches.Reader);
                }
                catch (Exception e)
                {
                    batches.Writer.TryComplete(e);
                    await failed.CancelAsync();
                    throw;
                }
            }, CancellationToken.None);
            try
            {
                await Task.WhenAll(pump, process, write);
            }
            catch when (write.IsFaulted)
            {
                // The store's (or the checkpoint's) error, not the channel closing behind it.
                ExceptionDispatchInfo.Throw(write.Exception!.InnerException!);
            }
        }
        finally
        {
            Stats.Running = false;
        }
    }

    private WindowEngine LoadOrCreate(IEngineOutput sink)
    {
        var path = _options.CheckpointPath;
        if (path is not null && File.Exists(path))
        {
            try
            {
                using var stream = File.OpenRead(path);
                var restored = WindowEngine.Restore(definition, sink, stream, _options.WallClock);
                Restored = true;
                return restored;
            }
            catch (InvalidDataException e)
            {
                CheckpointProblem = $"{path}: {e.Message}; starting without it";
            }
        }

        return new WindowEngine(definition, sink, _options.WallClock);
    }

    private async Task PumpAsync(IAsyncEnumerable<Tick> feed, ChannelWriter<Tick> writer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var tick in feed.WithCancellation(cancellationToken))
            {
                if (!writer.TryWrite(tick))
                {
                    await writer.WriteAsync(tick, cancellationToken);
                }
            }

            _feedEnded = true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the normal way out of a live feed.
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private async Task ProcessAsync(WindowEngine engine, StoreSink sink, ChannelReader<Tick> ticks, ChannelWriter<Envelope> batches)
    {
        try
        {
            var flushDue = DateTime.UtcNow + _options.FlushInterval;
            var checkpointDue = DateTime.UtcNow + _options.CheckpointInterval;
            var liveDue = DateTime.UtcNow + LiveInterval;
            Task<bool>? waiting = null;
            long rejectsStored = 0;
            while (true)
            {
                while (ticks.TryRead(out var tick))
                {
                    engine.Process(in tick);
                    if (sink.IsFull)
                    {
                        break;
                    }
                }

                Stats.From(engine);
                var now = DateTime.UtcNow;
                if (hub is not null && now >= liveDue)
                {
                    PublishOpenBars(engine, hub);
                    liveDue = now + LiveInterval;
                }

                if (sink.IsFull || (now >= flushDue && (sink.Pending > 0 || Stats.Rejects > rejectsStored)))
                {
                    // The feed counts its rejects on the stats; the store keeps the running total too.
                    var rejects = Stats.Rejects;
                    sink.Reject(rejects - rejectsStored);
                    rejectsStored = rejects;
                    var checkpoint = _options.CheckpointPath is not null && now >= checkpointDue;
                    await batches.WriteAsync(new Envelope(sink.TakeBatch(engine), checkpoint ? Snapshot(engine) : null));
                    flushDue = now + _options.FlushInterval;
                    if (checkpoint)
                    {
                        checkpointDue = now + _options.CheckpointInterval;
                    }
                }

                if (sink.IsFull)
                {
                    continue;
                }

                // One wait at a time: the channel has a single reader.
                waiting ??= ticks.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(waiting, Task.Delay(hub is null ? _options.FlushInterval : LiveInterval)) == waiting)
                {
                    var more = await waiting;
                    waiting = null;
                    if (!more)
                    {
                        break; // the feed has ended and every tick is processed
                    }
                }
            }

            // Final batch and checkpoint: open windows stay open, to be continued by the next run, unless the
            // input itself ended.
            if (_feedEnded && _options.CloseAtEndOfInput)
            {
                engine.CloseAll();
            }

            sink.Reject(Stats.Rejects - rejectsStored);
            await batches.WriteAsync(new Envelope(sink.TakeBatch(engine), _options.CheckpointPath is null ? null : Snapshot(engine)));
            Stats.From(engine);
        }
        finally
        {
            batches.TryComplete();
        }
    }

    private async Task WriteAsync(StoreSink sink, ChannelReader<Envelope> batches)
    {
        await foreach (var envelope in batches.ReadAllAsync())
        {
            // Not cancellable: on stop, what was taken is written before the process exits.
            await sink.WriteAsync(envelope.Batch, CancellationToken.None);
            Stats.Stored();
            if (envelope.Checkpoint is { } state && _options.CheckpointPath is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                var temp = path + ".tmp";
                await File.WriteAllBytesAsync(temp, state, CancellationToken.None);
                File.Move(temp, path, overwrite: true);
            }
        }
    }

    /// <summary>The bars so far of the charts the dashboard shows, so candles move between closes.</summary>
    private static void PublishOpenBars(WindowEngine engine, LiveHub hub)
    {
        foreach (var (symbol, window) in hub.Subscriptions)
        {
            if (engine.PeekOpenBar(symbol, window) is { } bar)
            {
                hub.OnBar(bar, final: false);
            }
        }
    }

    private static byte[] Snapshot(WindowEngine engine)
    {
        using var stream = new MemoryStream();
        engine.Save(stream);
        return stream.ToArray();
    }

    private sealed record Envelope(StoreBatch Batch, byte[]? Checkpoint);

    /// <summary>Sends what the engine emits to the store, and ticks and closed bars to the live stream.</summary>
    private sealed class EngineOutput(StoreSink sink, LiveHub? hub, PipelineStats stats) : IEngineOutput
    {
        public void OnBar(Bar bar)
        {
            sink.OnBar(bar);
            hub?.OnBar(bar, final: true);
        }

        public void OnAlert(Alert alert) => sink.OnAlert(alert); // alerts reach the stream through the alert bus

        public void OnLate(in Tick tick, long watermark) => sink.OnLate(in tick, watermark);

        public void OnTick(in Tick tick, long position)
        {
            sink.OnTick(in tick, position);
            hub?.OnTick(in tick);
        }

        /// <summary>Counted in the store with the rejects; the reason goes to /api/pipeline, as a live feed has no rejects file.</summary>
        public void OnReject(in Tick tick, long position, string reason)
        {
            sink.OnReject(in tick, position, reason);
            stats.RejectReason($"{tick.Symbol}: {reason}");
        }
    }
}

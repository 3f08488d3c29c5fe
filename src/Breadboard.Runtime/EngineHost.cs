using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Runtime.Outputs;
using Breadboard.Runtime.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Runtime;

/// <summary>Where a host writes and how often; every output is optional.</summary>
public sealed record EngineHostOptions
{
    public static EngineHostOptions Default { get; } = new();

    public IMarketStore? Store { get; init; }

    public IAlertBus? AlertBus { get; init; }

    /// <summary>Output files, written as the engine emits and flushed to disk before each checkpoint.</summary>
    public RecordFiles? Files { get; init; }

    /// <summary>The live view (the dashboard's stream): ticks taken, closed bars and alerts as they happen, and now and then the open bars it watches.</summary>
    public ILiveObserver? Live { get; init; }

    /// <summary>Also sees everything the engine emits, after the files and the live view (a backtest's reporting).</summary>
    public IEngineOutput? Output { get; init; }

    /// <summary>Records per store write; a full batch is written at once.</summary>
    public int BatchSize { get; init; } = 50_000;

    /// <summary>Longest a record waits for its store write; null writes by size alone (an offline run).</summary>
    public TimeSpan? FlushInterval { get; init; }

    /// <summary>
    /// A live face: each alert goes to the alert bus as the engine fires it, and the batch so far is written at once
    /// instead of waiting for <see cref="FlushInterval"/>, so alerts are in the store within a write of their
    /// window closing. The write still waits for the bus's acknowledgements before its checkpoint.
    /// </summary>
    public bool FlushOnAlert { get; init; }

    /// <summary>Store batches the engine may run ahead of their writes; 0 writes each batch before reading on.</summary>
    public int WriteBehind { get; init; }

    /// <summary>The checkpoint file; null keeps none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Checkpoint after this many reads (ticks and rejects); null: by time alone.</summary>
    public long? CheckpointEvery { get; init; }

    /// <summary>Checkpoint this often while running; null: by count alone.</summary>
    public TimeSpan? CheckpointInterval { get; init; }

    /// <summary>
    /// When the input is exhausted: close every window, and delete the checkpoint (an offline run is complete, and
    /// started again runs from the top). Otherwise windows stay open and go into the last checkpoint, to be continued.
    /// </summary>
    public bool CompleteAtEnd { get; init; }

    /// <summary>The clock ticks from the future are measured against on live faces; null on replays.</summary>
    public TimeProvider? WallClock { get; init; }

    /// <summary>Counters for the terminal, /api/pipeline and /metrics; the host updates them as it goes.</summary>
    public PipelineStats Stats { get; init; } = new();

    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>A reload applied: what changed, and the watermark then: bars ending after it are the new definition's.</summary>
public sealed record PipelineSwitch(PipelineChange Change, long Watermark);

/// <summary>Counts of one run.</summary>
/// <param name="Lines">Lines read, for inputs with lines.</param>
/// <param name="Ticks">Ticks the engine took (refused ones left out).</param>
/// <param name="Rejects">Input refused by the reader or the engine, in total.</param>
/// <param name="Resumed">The run continued from a checkpoint.</param>
/// <param name="Exhausted">The input ended by itself rather than being stopped.</param>
public sealed record RunResult(long Lines, long Ticks, long Bars, long Alerts, long Late, long Duplicates, long Rejects, bool Resumed, bool Exhausted, TimeSpan Elapsed);

/// <summary>
/// The engine host: ticks from a source through one engine to the outputs, in the order that loses nothing.
/// Every face drives its engine through it (a replay, the embedded pipeline); the Kafka processor drives one
/// <see cref="EngineRun"/> per partition the same way.
/// </summary>
/// <remarks>
/// <para>Order of a write: output files are written as the engine emits; a batch goes to the store, then its alerts
/// to the alert bus, acknowledged; then, when due, the checkpoint file, after the files are on disk. A checkpoint
/// therefore never counts an output that could still be lost. With <see cref="EngineHostOptions.FlushOnAlert"/>
/// alerts are handed to the bus before the store write, as the Kafka face does: a listener may hear of an alert
/// before its bar is stored, and after a crash the same alert (same id) may be published again, which the bus
/// de-duplicates (NATS's <c>Nats-Msg-Id</c>).</para>
/// <para>With <see cref="EngineHostOptions.WriteBehind"/>, writes run on their own task while the engine reads on;
/// the engine waits when that many batches are queued, so a slow store slows the source instead of filling memory.
/// A write that fails ends the run with its error; a store or bus that hangs is logged every few seconds.</para>
/// <para>On stop (the source ends), what was read is processed and written before <see cref="RunAsync"/> returns.</para>
/// </remarks>
public sealed class EngineHost(PipelineDefinition definition, EngineHostOptions? options = null)
{
    private const int ClockEvery = 1024;
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(100);

    private readonly EngineHostOptions _options = options ?? EngineHostOptions.Default;

    // A reload asked for and not yet applied; the engine's thread applies it between two ticks.
    private PendingReload? _reload;

    public PipelineStats Stats => _options.Stats;

    /// <summary>
    /// Runs <paramref name="next"/> from the next bar that closes (<see cref="WindowEngine.Reconfigure"/>), applied
    /// by the engine's thread between two ticks; completes with what changed once it is running.
    /// </summary>
    /// <exception cref="ArgumentException">Something other than rules and indicators changed; the old definition keeps running.</exception>
    /// <exception cref="InvalidOperationException">The host is not running, or another reload is waiting.</exception>
    public Task<PipelineSwitch> ReloadAsync(PipelineDefinition next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (!Stats.Running)
        {
            throw new InvalidOperationException("the pipeline is not running");
        }

        var pending = new PendingReload(next);
        if (Interlocked.CompareExchange(ref _reload, pending, null) is not null)
        {
            throw new InvalidOperationException("another reload is being applied; try again");
        }

        return pending.Done.Task;
    }

    /// <summary>Runs the source to its end (or stop), from <paramref name="resume"/> when given.</summary>
    /// <exception cref="InvalidDataException">The checkpoint's engine state does not fit the pipeline definition.</exception>
    public async Task<RunResult> RunAsync(ITickSource source, RunCheckpoint? resume = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var clock = Stopwatch.StartNew();
        var o = _options;
        var tap = new Tap(o.Files, o.Live, o.Output, o.Stats);
        var runOptions = new EngineRunOptions
        {
            KeepTicksAndBars = o.Store is not null,
            KeepAlerts = o.Store is not null || o.AlertBus is not null,
            Tap = tap,
            WallClock = o.WallClock,
        };
        var run = resume is null ? EngineRun.Start(definition, runOptions) : EngineRun.Resume(definition, resume.EngineState, runOptions);
        tap.Run = run;
        var flushOnAlert = o.FlushOnAlert && (o.Store is not null || o.AlertBus is not null);
        var engine = run.Engine;
        var rejects = resume?.Rejects ?? 0;
        RuntimeLog.Started(o.Logger, source.Name, resume is null ? "fresh" : $"resumed from a checkpoint at position {resume.Position}");

        var writer = new Writer(o);
        var flushEvery = o.FlushInterval is { } f ? (long)(f.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var checkpointEvery = o.CheckpointPath is not null && o.CheckpointInterval is { } c ? (long)(c.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var now = Stopwatch.GetTimestamp();
        long flushDue = Due(now, flushEvery), checkpointDue = Due(now, checkpointEvery), liveDue = now;
        var readsToCheckpoint = o.CheckpointPath is not null ? o.CheckpointEvery ?? long.MaxValue : long.MaxValue;
        var wait = o.FlushInterval is { } interval && (o.Live is null || interval < LiveInterval) ? interval : LiveInterval;
        var sinceClock = 0;
        o.Stats.Running = true;
        try
        {
            while (true)
            {
                if (Volatile.Read(ref _reload) is not null)
                {
                    ApplyReload(run);
                }

                var status = source.Read(out var tick, out var position);
                if (status == SourceStatus.Tick)
                {
                    run.ReceivedAt = source.ReceivedAt;
                    run.Process(in tick, position);
                    if (flushOnAlert && run.PendingAlerts > 0)
                    {
                        await writer.WriteAsync(run.TakeBatch(), null, cancellationToken);
                        flushDue = Due(Stopwatch.GetTimestamp(), flushEvery);
                    }
                }
                else if (status == SourceStatus.Rejected)
                {
                    rejects++;
                    run.Reject();
                    o.Files?.Write(source.LastReject!);
                    SourceTicks.CountReject(source, o.Stats);
                }
                else
                {
                    now = Stopwatch.GetTimestamp();
                    Look(run, now, ref liveDue);
                    if (status == SourceStatus.End)
                    {
                        break;
                    }

                    if (now >= checkpointDue)
                    {
                        await writer.WriteAsync(run.TakeBatch(), Checkpoint(source, rejects, run), cancellationToken);
                        (flushDue, checkpointDue) = (Due(now, flushEvery), Due(now, checkpointEvery));
                    }
                    else if (now >= flushDue && (run.Pending > 0 || run.PendingRejects > 0))
                    {
                        await writer.WriteAsync(run.TakeBatch(), null, cancellationToken);
                        flushDue = Due(now, flushEvery);
                    }

                    await source.WaitAsync(wait, CancellationToken.None);
                    continue;
                }

                if (run.Pending >= o.BatchSize)
                {
                    await writer.WriteAsync(run.TakeBatch(), null, cancellationToken);
                    flushDue = Due(Stopwatch.GetTimestamp(), flushEvery);
                }

                if (--readsToCheckpoint == 0)
                {
                    readsToCheckpoint = o.CheckpointEvery!.Value;
                    await writer.WriteAsync(run.TakeBatch(), Checkpoint(source, rejects, run), cancellationToken);
                }

                if (++sinceClock == ClockEvery)
                {
                    // A source that never runs dry still gets its timed writes, checkpoints and live updates.
                    sinceClock = 0;
                    now = Stopwatch.GetTimestamp();
                    Look(run, now, ref liveDue);
                    if (now >= checkpointDue)
                    {
                        await writer.WriteAsync(run.TakeBatch(), Checkpoint(source, rejects, run), cancellationToken);
                        (flushDue, checkpointDue) = (Due(now, flushEvery), Due(now, checkpointEvery));
                    }
                    else if (now >= flushDue)
                    {
                        await writer.WriteAsync(run.TakeBatch(), null, cancellationToken);
                        flushDue = Due(now, flushEvery);
                    }
                }
            }

            var complete = source.Exhausted && o.CompleteAtEnd;
            if (complete)
            {
                engine.CloseAll();
            }

            // The last batch; a run that will be continued also leaves its checkpoint.
            await writer.WriteAsync(run.TakeBatch(), complete ? null : Checkpoint(source, rejects, run), cancellationToken);
            await writer.CompleteAsync();
            o.Files?.Flush();
            if (complete && o.CheckpointPath is { } path)
            {
                File.Delete(path);
            }

            o.Stats.From(engine);
            RuntimeLog.Stopped(o.Logger, source.Name, source.Exhausted ? "input ended" : "stopped", engine.Ticks);
            return new RunResult(source.Line, engine.Ticks - engine.Refused, engine.BarsEmitted, engine.AlertsEmitted, engine.Late, engine.Duplicates, rejects + engine.Refused, resume is not null, source.Exhausted, clock.Elapsed);
        }
        catch
        {
            await writer.AbandonAsync();
            throw;
        }
        finally
        {
            o.Stats.Running = false;
            Interlocked.Exchange(ref _reload, null)?.Done.TrySetException(new InvalidOperationException("the pipeline stopped before the reload was applied"));
        }
    }

    private void ApplyReload(EngineRun run)
    {
        var pending = Interlocked.Exchange(ref _reload, null)!;
        try
        {
            var change = run.Engine.Reconfigure(pending.Definition);
            pending.Done.SetResult(new PipelineSwitch(change, run.Engine.Watermark));
        }
        catch (ArgumentException e)
        {
            pending.Done.SetException(e);
        }
    }

    private sealed class PendingReload(PipelineDefinition definition)
    {
        public PipelineDefinition Definition { get; } = definition;

        public TaskCompletionSource<PipelineSwitch> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static long Due(long now, long every) => every == long.MaxValue ? long.MaxValue : now + every;

    /// <summary>Copies the counters out, and now and then shows the live view the open bars it watches, so candles move between closes.</summary>
    private void Look(EngineRun run, long now, ref long liveDue)
    {
        _options.Stats.From(run.Engine);
        if (_options.Live is { } live && now >= liveDue)
        {
            foreach (var (symbol, window) in live.WatchedCharts)
            {
                if (run.Engine.PeekOpenBar(symbol, window) is { } bar)
                {
                    live.OnOpenBar(bar);
                }
            }

            liveDue = now + (long)(LiveInterval.TotalSeconds * Stopwatch.Frequency);
        }
    }

    /// <summary>The checkpoint at this point, after the output files are on disk; null when the run keeps none.</summary>
    private RunCheckpoint? Checkpoint(ITickSource source, long rejects, EngineRun run)
    {
        if (_options.CheckpointPath is null)
        {
            return null;
        }

        _options.Files?.FlushToDisk();
        return new RunCheckpoint(source.Position, source.Line, rejects, _options.Files?.Lengths ?? [], run.SaveState());
    }

    /// <summary>Writes batches in order (store, then alert bus, then checkpoint), inline or on a task of its own.</summary>
    private sealed class Writer
    {
        private readonly EngineHostOptions _o;

        // Alerts went to the bus when their batch was handed over; the write only waits for the acknowledgements.
        private readonly bool _publishFirst;
        private readonly Channel<(StoreBatch Batch, RunCheckpoint? Checkpoint)>? _queue;
        private readonly Task? _writing;

        public Writer(EngineHostOptions options)
        {
            _o = options;
            _publishFirst = options.FlushOnAlert;
            if (options.WriteBehind > 0)
            {
                _queue = Channel.CreateBounded<(StoreBatch, RunCheckpoint?)>(new BoundedChannelOptions(options.WriteBehind) { SingleReader = true, SingleWriter = true });
                _writing = Task.Run(DrainAsync, CancellationToken.None);
            }
        }

        public async ValueTask WriteAsync(StoreBatch batch, RunCheckpoint? checkpoint, CancellationToken cancellationToken)
        {
            if (_publishFirst && _o.AlertBus is { } bus)
            {
                // NATS's bus only buffers here (waiting when its buffer is full); the memory bus hands over at once.
                foreach (var alert in batch.Alerts)
                {
                    await bus.PublishAsync(alert, cancellationToken);
                }
            }

            if (_queue is null)
            {
                await WriteNowAsync(batch, checkpoint, cancellationToken);
                return;
            }

            try
            {
                await _queue.Writer.WriteAsync((batch, checkpoint), CancellationToken.None);
            }
            catch (ChannelClosedException)
            {
                await ThrowWriteFailureAsync();
            }
        }

        /// <summary>Waits for every queued write.</summary>
        public async ValueTask CompleteAsync()
        {
            if (_queue is not null)
            {
                _queue.Writer.TryComplete();
                await ThrowWriteFailureAsync();
            }
        }

        /// <summary>The run failed: queued writes still go out (they were taken), but their failure is not the run's.</summary>
        public async ValueTask AbandonAsync()
        {
            if (_queue is not null)
            {
                _queue.Writer.TryComplete();
                try
                {
                    await _writing!;
                }
                catch (Exception e)
                {
                    RuntimeLog.WriteFailed(_o.Logger, e);
                }
            }
        }

        private async Task ThrowWriteFailureAsync()
        {
            try
            {
                await _writing!;
            }
            catch (Exception e)
            {
                ExceptionDispatchInfo.Throw(e);
            }
        }

        private async Task DrainAsync()
        {
            try
            {
                await foreach (var (batch, checkpoint) in _queue!.Reader.ReadAllAsync())
                {
                    // Not cancellable: on stop, what was taken is written before the run returns.
                    await WriteNowAsync(batch, checkpoint, CancellationToken.None);
                }
            }
            catch (Exception e)
            {
                _queue!.Writer.TryComplete(e);
                throw;
            }
        }

        private async ValueTask WriteNowAsync(StoreBatch batch, RunCheckpoint? checkpoint, CancellationToken cancellationToken)
        {
            if (_o.Store is { } store && !batch.IsEmpty)
            {
                await Slow.WaitAsync(store.WriteAsync(batch, cancellationToken), "the store to take a batch", _o.Logger);
                foreach (var alert in batch.Alerts)
                {
                    Freshness.AlertReached(alert.Id, FreshnessStage.Store);
                }
            }

            if (_o.AlertBus is { } bus && batch.Alerts.Count > 0)
            {
                if (!_publishFirst)
                {
                    foreach (var alert in batch.Alerts)
                    {
                        await bus.PublishAsync(alert, cancellationToken);
                    }
                }

                await Slow.WaitAsync(bus.FlushAsync(cancellationToken), "the alert bus to acknowledge alerts", _o.Logger);
            }

            _o.Stats.Stored();
            if (checkpoint is not null && _o.CheckpointPath is { } path)
            {
                checkpoint.WriteTo(path);
                RuntimeLog.CheckpointWritten(_o.Logger, path, checkpoint.Position);
            }
        }
    }

    /// <summary>What the engine emits, passed on as it happens: to the output files, the live view, and the last-reject line.</summary>
    private sealed class Tap(RecordFiles? files, ILiveObserver? live, IEngineOutput? output, PipelineStats stats) : IEngineOutput
    {
        /// <summary>The run it taps, for the stamp of the input being processed.</summary>
        public EngineRun? Run { get; set; }

        public void OnBar(Bar bar)
        {
            files?.OnBar(bar);
            live?.OnClosedBar(bar);
            output?.OnBar(bar);
        }

        public void OnAlert(Alert alert)
        {
            files?.OnAlert(alert);
            live?.OnAlert(alert);
            output?.OnAlert(alert);
        }

        public void OnLate(in Tick tick, long watermark)
        {
            files?.OnLate(in tick, watermark);
            output?.OnLate(in tick, watermark);
        }

        public void OnTick(in Tick tick, long position)
        {
            live?.OnTick(in tick, Run?.ReceivedAt ?? 0);
            output?.OnTick(in tick, position);
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
            files?.OnReject(in tick, position, reason);
            output?.OnReject(in tick, position, reason);
            stats.RejectReason($"{tick.Symbol}: {reason}");
        }
    }
}

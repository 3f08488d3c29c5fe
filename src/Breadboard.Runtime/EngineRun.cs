using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;

namespace Breadboard.Runtime;

/// <summary>What an <see cref="EngineRun"/> keeps of what its engine emits, for the writes after it.</summary>
public sealed record EngineRunOptions
{
    public static EngineRunOptions Default { get; } = new();

    /// <summary>Keep the ticks the engine took, and bars, for a store.</summary>
    public bool KeepTicksAndBars { get; init; } = true;

    /// <summary>Keep alerts, for a store or an alert bus.</summary>
    public bool KeepAlerts { get; init; } = true;

    /// <summary>Record each tick's origin under this key (a Kafka partition's checkpoint key); null records none.</summary>
    public string? OriginKey { get; init; }

    /// <summary>Receives everything the engine emits as it emits it (output files, the live view); may be null.</summary>
    public IEngineOutput? Tap { get; init; }

    /// <summary>The clock ticks from the future are measured against on live faces; null on replays (input alone decides).</summary>
    public TimeProvider? WallClock { get; init; }
}

/// <summary>A tick the engine refused, with the position it was given with.</summary>
public readonly record struct Refusal(Tick Tick, long Position, string Reason);

/// <summary>
/// One engine and what it emitted since the last write: the unit every face drives, one per run or one per Kafka
/// partition. It collects into a <see cref="StoreBatch"/> and counts drops as increments since the last batch.
/// </summary>
/// <remarks>Everything here runs on the thread that calls <see cref="Process"/>.</remarks>
public sealed class EngineRun : IEngineOutput
{
    private readonly EngineRunOptions _options;
    private readonly IEngineOutput? _tap;
    private StoreBatch _batch = new();
    private long _rejects;
    private long _lateSeen;
    private long _duplicatesSeen;

    private EngineRun(EngineRunOptions options)
    {
        _options = options;
        _tap = options.Tap;
        Engine = null!;
    }

    public WindowEngine Engine { get; private set; }

    /// <summary>Ticks the engine refused, kept when the run records origins (for a dead-letter output); the caller clears it.</summary>
    public List<Refusal> Refusals { get; } = [];

    /// <summary>Records collected since the last <see cref="TakeBatch"/>.</summary>
    public int Pending => _batch.Ticks.Count + _batch.Bars.Count + _batch.Alerts.Count;

    /// <summary>Ticks collected since the last <see cref="TakeBatch"/>.</summary>
    public int PendingTicks => _batch.Ticks.Count;

    /// <summary>Alerts collected since the last <see cref="TakeBatch"/>.</summary>
    public int PendingAlerts => _batch.Alerts.Count;

    /// <summary>Late ticks since the last batch.</summary>
    public long NewLate => Engine.Late - _lateSeen;

    /// <summary>Duplicates since the last batch.</summary>
    public long NewDuplicates => Engine.Duplicates - _duplicatesSeen;

    /// <summary>Input refused since the last batch (the reader's and the engine's).</summary>
    public long PendingRejects => _rejects;

    /// <summary>A new engine.</summary>
    public static EngineRun Start(PipelineDefinition definition, EngineRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var run = new EngineRun(options ?? EngineRunOptions.Default);
        run.Engine = new WindowEngine(definition, run, run._options.WallClock);
        run.SyncCounters();
        return run;
    }

    /// <summary>An engine continued from its saved state.</summary>
    /// <exception cref="InvalidDataException">The state is damaged or was saved under another pipeline definition.</exception>
    public static EngineRun Resume(PipelineDefinition definition, byte[] state, EngineRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(state);
        var run = new EngineRun(options ?? EngineRunOptions.Default);
        using var stream = new MemoryStream(state, writable: false);
        run.Engine = WindowEngine.Restore(definition, run, stream, run._options.WallClock);
        run.SyncCounters();
        return run;
    }

    /// <summary>
    /// The <see cref="System.Diagnostics.Stopwatch"/> stamp of when the input being processed arrived (a tick, or a
    /// clock that moved event time on); 0 offline. An alert made meanwhile could close then (<see cref="Freshness"/>).
    /// </summary>
    public long ReceivedAt { get; set; }

    public void Process(in Tick tick, long position) => Engine.Process(in tick, position);

    /// <summary>Input that never reached the engine (a line that is not a tick): counted with the rejects.</summary>
    public void Reject(long count = 1) => _rejects += count;

    /// <summary>The engine's state, for a checkpoint.</summary>
    /// <param name="includeTradeIds">False when the ticks themselves are stored and the ids can be read back from there.</param>
    public byte[] SaveState(bool includeTradeIds = true)
    {
        using var stream = new MemoryStream();
        Engine.Save(stream, includeTradeIds);
        return stream.ToArray();
    }

    /// <summary>Hands over what was collected, with the increments of the drop counts since the last batch.</summary>
    public StoreBatch TakeBatch()
    {
        var batch = _batch;
        batch.Counts = new PipelineCounts(_rejects, NewLate, NewDuplicates);
        _batch = new StoreBatch();
        SyncCounters();
        return batch;
    }

    /// <summary>Adds what was collected to a batch several runs share (one per Kafka partition); <see cref="Clear"/> once it is written.</summary>
    public void AddTo(StoreBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Ticks.AddRange(_batch.Ticks);
        batch.TickOrigins.AddRange(_batch.TickOrigins);
        batch.Bars.AddRange(_batch.Bars);
        batch.Alerts.AddRange(_batch.Alerts);
    }

    /// <summary>Forgets what was collected: it is written, or dropped (its input will be read again by someone else).</summary>
    public void Clear()
    {
        _batch.Clear();
        Refusals.Clear();
        SyncCounters();
    }

    private void SyncCounters()
    {
        _rejects = 0;
        _lateSeen = Engine.Late;
        _duplicatesSeen = Engine.Duplicates;
    }

    void IEngineOutput.OnBar(Bar bar)
    {
        if (_options.KeepTicksAndBars)
        {
            _batch.Bars.Add(bar);
        }

        _tap?.OnBar(bar);
    }

    void IEngineOutput.OnAlert(Alert alert)
    {
        if (_options.KeepAlerts)
        {
            _batch.Alerts.Add(alert);
        }

        Freshness.AlertClosed(alert.Id, ReceivedAt);
        _tap?.OnAlert(alert);
    }

    void IEngineOutput.OnLate(in Tick tick, long watermark) => _tap?.OnLate(in tick, watermark); // counted by the engine; stored with the other ticks

    void IEngineOutput.OnTick(in Tick tick, long position)
    {
        if (_options.KeepTicksAndBars)
        {
            _batch.Ticks.Add(tick);
            if (_options.OriginKey is { } key)
            {
                _batch.TickOrigins.Add(new TickOrigin(key, position));
            }
        }

        _tap?.OnTick(in tick, position);
    }

    void IEngineOutput.OnReject(in Tick tick, long position, string reason)
    {
        _rejects++;
        if (_options.OriginKey is not null)
        {
            Refusals.Add(new Refusal(tick, position, reason));
        }

        _tap?.OnReject(in tick, position, reason);
    }
}

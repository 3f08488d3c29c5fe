using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Runtime.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Runtime.Faces;

/// <summary>Settings of the in-process pipeline; the defaults suit a laptop.</summary>
public sealed record EmbeddedPipelineOptions
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

    /// <summary>When the input ends by itself (a file), close every window, as end of input does in replay.</summary>
    public bool CloseAtEndOfInput { get; init; }

    /// <summary>How often the checkpoint is renewed while running.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock ticks from the future are measured against (the pipeline's future.clock_skew).</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;

    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>
/// The embedded face: a feed → the engine → the store and alert bus, in one process, through the
/// <see cref="EngineHost"/> with writes behind the engine. Each stage waits when the next is full, so a slow store
/// slows the feed instead of filling memory.
/// </summary>
/// <remarks>
/// On stop (cancellation or the feed ending) the ticks already taken are processed and written before
/// <see cref="RunAsync(ITickSource, CancellationToken)"/> returns; windows stay open and go into the checkpoint, so
/// the next run continues them. A checkpoint that cannot be used (another pipeline definition, damage) is reported
/// in <see cref="CheckpointProblem"/> and the run starts without it.
/// </remarks>
public sealed class EmbeddedPipeline(PipelineDefinition definition, IMarketStore store, IAlertBus alertBus, EmbeddedPipelineOptions? options = null, ILiveObserver? live = null)
{
    private readonly EmbeddedPipelineOptions _options = options ?? EmbeddedPipelineOptions.Default;

    private volatile EngineHost? _host;

    public PipelineStats Stats { get; } = new();

    /// <summary>Runs <paramref name="next"/>'s rules and indicators from the next bar that closes (<see cref="EngineHost.ReloadAsync"/>).</summary>
    /// <exception cref="InvalidOperationException">The pipeline is not running.</exception>
    public Task<PipelineSwitch> ReloadAsync(PipelineDefinition next) =>
        (_host ?? throw new InvalidOperationException("the pipeline is not running")).ReloadAsync(next);

    /// <summary>Set when the run started from a checkpoint.</summary>
    public bool Restored { get; private set; }

    /// <summary>Set when a checkpoint existed but could not be used; the run starts fresh.</summary>
    public string? CheckpointProblem { get; private set; }

    /// <summary>Runs a live feed (synthetic, a venue) until it ends or <paramref name="cancellationToken"/> stops it.</summary>
    public async Task RunAsync(IAsyncEnumerable<Tick> feed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(feed);
        using var source = new FeedTickSource("feed", feed, _options.TickBuffer, cancellationToken);
        await RunAsync(source, cancellationToken);
    }

    /// <summary>Runs a source (a feed, a paced file) until it ends.</summary>
    public async Task RunAsync(ITickSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var resume = LoadCheckpoint();
        Restored = resume is not null;
        var host = _host = new EngineHost(definition, new EngineHostOptions
        {
            Store = store,
            AlertBus = alertBus,
            Live = live,
            BatchSize = _options.BatchSize,
            FlushInterval = _options.FlushInterval,
            FlushOnAlert = true,
            WriteBehind = _options.BatchBuffer,
            CheckpointPath = _options.CheckpointPath,
            CheckpointInterval = _options.CheckpointInterval,
            CompleteAtEnd = _options.CloseAtEndOfInput,
            WallClock = _options.WallClock,
            Stats = Stats,
            Logger = _options.Logger,
        });

        // Not cancellable from here: the source stops with the token, and what it handed over is still written.
        await host.RunAsync(source, resume, CancellationToken.None);
    }

    private RunCheckpoint? LoadCheckpoint()
    {
        var path = _options.CheckpointPath;
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        try
        {
            var checkpoint = RunCheckpoint.ReadFrom(path);
            EngineRun.Resume(definition, checkpoint.EngineState); // refuses state saved under another definition
            return checkpoint;
        }
        catch (InvalidDataException e)
        {
            CheckpointProblem = $"{path}: {e.Message}; starting without it";
            RuntimeLog.CheckpointNotUsed(_options.Logger, CheckpointProblem);
            return null;
        }
    }
}

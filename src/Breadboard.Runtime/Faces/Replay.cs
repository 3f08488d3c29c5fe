using Breadboard.Core.Codec;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Runtime.Outputs;
using Breadboard.Runtime.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Runtime.Faces;

/// <summary>What to replay and where the results go.</summary>
public sealed record ReplayOptions
{
    public required string Input { get; init; }

    public TickFormat? Format { get; init; }

    public required PipelineDefinition Pipeline { get; init; }

    public required string BarsOut { get; init; }

    public required string AlertsOut { get; init; }

    public string? LateOut { get; init; }

    public string? RejectsOut { get; init; }

    /// <summary>Where to keep the checkpoint; with one, a killed run started again resumes where it left off.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Input lines between checkpoints.</summary>
    public long CheckpointEvery { get; init; } = 500_000;

    /// <summary>Replay at this multiple of event time; null is as fast as possible.</summary>
    public double? Speed { get; init; }

    public IMarketStore? Store { get; init; }

    public IAlertBus? AlertBus { get; init; }

    /// <summary>Ticks per store write.</summary>
    public int StoreBatchSize { get; init; } = 50_000;

    /// <summary>Longest a tick waits for its store write in a paced replay (<see cref="Speed"/>); an unpaced
    /// replay writes by size alone.</summary>
    public TimeSpan StoreFlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>
/// Offline replay: file → engine → NDJSON outputs (and the store and alert bus when configured), deterministic:
/// the same input and pipeline always give byte-identical outputs, interrupted or not.
/// </summary>
/// <remarks>
/// The checkpoint records the input position, the output files' lengths and the engine state, written after the
/// outputs are on disk. Resuming truncates the outputs to those lengths, so anything written after the checkpoint
/// is written again exactly once. The checkpoint is deleted when the run completes. A replay never reads the wall
/// clock: its output depends on its input alone.
/// </remarks>
public static class Replay
{
    /// <param name="progress">Called now and then with (bytes read, bytes total), for a progress bar.</param>
    /// <exception cref="InvalidDataException">The input, an output or the checkpoint cannot be used; the message names it.</exception>
    public static async Task<RunResult> RunAsync(ReplayOptions options, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var resume = options.Checkpoint is not null && File.Exists(options.Checkpoint) ? RunCheckpoint.ReadFrom(options.Checkpoint) : null;
        using var source = new FileTickSource(options.Input, new FileSourceOpts
        {
            Format = options.Format,
            Speed = options.Speed,
            StartPosition = resume?.Position ?? 0,
            StartLine = resume?.Line ?? 0,
            ThrowOnStop = true,
            Progress = progress,
        }, cancellationToken);
        using var files = new RecordFiles(new RecordPaths(options.BarsOut, options.AlertsOut, options.LateOut, options.RejectsOut), options.Pipeline.Aggregates, resume?.OutputLengths);
        var host = new EngineHost(options.Pipeline, new EngineHostOptions
        {
            Store = options.Store,
            AlertBus = options.AlertBus,
            Files = files,
            BatchSize = options.StoreBatchSize,
            FlushInterval = options.Speed is null ? null : options.StoreFlushInterval,
            CheckpointPath = options.Checkpoint,
            CheckpointEvery = options.CheckpointEvery,
            CompleteAtEnd = true,
            Logger = options.Logger,
        });
        return await host.RunAsync(source, resume, cancellationToken);
    }
}

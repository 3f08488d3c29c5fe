using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Kafka;

/// <summary>What the options of every consumer-group worker (<see cref="TickProcessor"/>, <see cref="OutputSink"/>) have.</summary>
public abstract record ConsumerGroupOptions
{
    public string GroupId { get; init; } = "";

    /// <summary>Longest a taken message waits before what it gave is written and its offset checkpointed.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>What a full batch is (ticks for the processor, messages for the sink); a full batch is written at once.</summary>
    public int BatchSize { get; init; } = 100_000;

    /// <summary>How long a caught-up partition must have had no message to count as quiet (see <see cref="DrainWhenIdle"/>).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Treat the topics as bounded input: once every assigned partition is caught up and has been quiet for
    /// <see cref="IdleTimeout"/>, write everything and stop — for backfills and for comparing with <c>replay</c>.
    /// </summary>
    public bool DrainWhenIdle { get; init; }

    /// <summary>How long the group waits for a member that stopped answering (a killed process) before its partitions move.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where assignments, waits on Kafka or the store, dead letters and librdkafka's own messages are logged.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>How often a delivery or write that keeps waiting says so.</summary>
    internal TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A member of a consumer group that writes what it consumes to the store, exactly once: the processor or the sink.</summary>
/// <remarks>The loop, the checkpoints and the write order are <see cref="GroupMember{TState}"/>'s; a worker is its role.</remarks>
public abstract class ConsumerGroupWorker : IDisposable
{
    private readonly IGroupMember _member;
    private readonly IDisposable _role;

    private protected ConsumerGroupWorker((IGroupMember Member, IDisposable Role) parts)
    {
        (_member, _role) = parts;
    }

    /// <summary>The worker's role (what it does with each message), for subclasses that reach into it.</summary>
    private protected IDisposable GroupRole => _role;

    /// <summary>Per-partition position and lag, refreshed at every write.</summary>
    public IReadOnlyList<PartitionLag> Lag => _member.Lag;

    /// <summary>Messages sent to a dead-letter topic.</summary>
    public long DeadLetters => _member.DeadLetters;

    /// <summary>Messages deleted by the broker's retention before this worker read them (each loss is logged as an error).</summary>
    public long LostToRetention => _member.LostToRetention;

    /// <summary>Set when the worker stopped because <see cref="ConsumerGroupOptions.DrainWhenIdle"/> found all input consumed.</summary>
    public bool Drained => _member.Drained;

    /// <summary>Runs until cancelled (or drained), then writes what it has, checkpoints and leaves the group.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) => _member.RunAsync(cancellationToken);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _member.Dispose();
            _role.Dispose();
        }
    }
}

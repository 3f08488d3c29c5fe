using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Breadboard.Kafka;

/// <summary>What the public face of a worker reads of its member.</summary>
internal interface IGroupMember : IDisposable
{
    IReadOnlyList<PartitionLag> Lag { get; }

    long DeadLetters { get; }

    long LostToRetention { get; }

    bool Drained { get; }

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The consumer-group skeleton that the processor and the sink share: the consume loop on its own thread,
/// assignment from the store's checkpoints, revocation, the behind-position guard, draining when idle, the
/// exactly-once write order, the advisory commit and lag. What a partition is and what it writes is the role's.
/// </summary>
/// <remarks>
/// <para>Exactly-once without Kafka transactions: each partition's next offset (and the role's state) is a
/// <see cref="Checkpoint"/> written in the same store batch as the outputs it covers, and an assigned partition
/// resumes from it (from the beginning when the store has none). Order of a write: Kafka outputs and dead letters
/// (delivered in full), the alert bus (flushed; a role may have published to it as it took messages), the store
/// batch with the checkpoints, then the advisory offset
/// commit that lag monitors read. A crash between two steps repeats the earlier ones with the same keys, which the
/// topics' readers, the alert bus and the store de-duplicate.</para>
/// <para>Rebalance callbacks run inside Consume on the consume thread, which is why the writes there are
/// synchronous: a revoked partition is written before it moves; a lost one (this member was kicked out) drops
/// what it took, since its next owner reads it again.</para>
/// </remarks>
internal sealed class GroupMember<TState> : IGroupMember
{
    private readonly KafkaBusOptions _bus;
    private readonly IGroupRole<TState> _role;
    private readonly ConsumerGroupOptions _settings;
    private readonly IMarketStore _store;
    private readonly IAlertBus? _alertBus;
    private readonly PipelineStats _stats;
    private readonly ILogger _logger;
    private readonly GroupProducer _producer;
    private readonly Dictionary<TopicPartition, GroupPartition<TState>> _partitions = [];
    private readonly StoreBatch _batch = new();
    private readonly List<GroupPartition<TState>> _written = [];
    private readonly Lock _lagGate = new();
    private IReadOnlyList<PartitionLag> _lag = [];
    private IConsumer<string?, byte[]>? _consumer;

    // The partition of the last message taken; forgotten whenever the assignment changes.
    private GroupPartition<TState>? _lastPartition;
    private long _pending;
    private long _lost;
    private volatile bool _drained;

    public GroupMember(KafkaBusOptions bus, IGroupRole<TState> role, ConsumerGroupOptions settings, IMarketStore store, IAlertBus? alertBus, PipelineStats stats)
    {
        _bus = bus;
        _role = role;
        _settings = settings;
        _store = store;
        _alertBus = alertBus;
        _stats = stats;
        _logger = settings.Logger;
        var producer = new ProducerConfig
        {
            BootstrapServers = bus.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        };
        role.Configure(producer);
        _producer = new GroupProducer(producer, role.Name, _logger, settings.WaitLogInterval);
    }

    /// <summary>Per-partition position and lag, refreshed at every write.</summary>
    public IReadOnlyList<PartitionLag> Lag
    {
        get
        {
            lock (_lagGate)
            {
                return _lag;
            }
        }
    }

    /// <summary>Messages sent to a dead-letter topic.</summary>
    public long DeadLetters => _producer.DeadLetters;

    /// <summary>Set when the member stopped because <see cref="ConsumerGroupOptions.DrainWhenIdle"/> found all input consumed.</summary>
    public bool Drained => _drained;

    /// <summary>Messages the broker deleted (retention) before this member read them: lost to the pipeline, and logged.</summary>
    public long LostToRetention => Interlocked.Read(ref _lost);

    /// <summary>What the assigned partitions hold for the next write, in the unit of the batch size.</summary>
    internal long Pending => _pending;

    internal IReadOnlyCollection<GroupPartition<TState>> Partitions => _partitions.Values;

    /// <summary>Runs until cancelled (or drained), then writes what it has, checkpoints and leaves the group.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        var config = GroupConsumers.Config(_bus, _settings.GroupId, _settings.SessionTimeout);
        _role.Configure(config);
        using var consumer = new ConsumerBuilder<string?, byte[]>(config)
            .SetPartitionsAssignedHandler((_, assigned) => Assign(assigned))
            .SetPartitionsRevokedHandler((_, revoked) => Revoke(revoked, flush: true))
            .SetPartitionsLostHandler((_, lost) => Revoke(lost, flush: false))
            .SetErrorHandler((c, error) => _logger.OnClientError(_role.Name, c.Name, error))
            .SetLogHandler((c, message) => _logger.OnClientLog(_role.Name, c.Name, message))
            .Build();
        _consumer = consumer;
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.Started(_role.Name, _settings.GroupId, SecretText.Redact(_bus.BootstrapServers), string.Join(", ", _role.Topics));
        }

        consumer.Subscribe(_role.Topics);
        _stats.Running = true;
        var lastWrite = Stopwatch.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ConsumeResult<string?, byte[]>? result;
                try
                {
                    result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e) when (e.Error.Code == ErrorCode.Local_AutoOffsetReset)
                {
                    SkipLost(consumer, e.ConsumerRecord?.TopicPartition);
                    continue;
                }

                // One clock read per message, shared by the message's partition and the write timer.
                var now = Stopwatch.GetTimestamp();
                if (result is not null && !result.IsPartitionEOF && TryFind(result, out var partition))
                {
                    Take(partition, result, now);
                }

                if (_pending >= _settings.BatchSize || Stopwatch.GetElapsedTime(lastWrite, now) >= _settings.FlushInterval)
                {
                    if (_settings.DrainWhenIdle && AllCaughtUpAndQuiet())
                    {
                        foreach (var p in _partitions.Values)
                        {
                            _role.EndOfInput(p);
                        }

                        Write(_partitions.Values);
                        _drained = true;
                        _logger.Drained(_role.Name, _settings.IdleTimeout.TotalSeconds);
                        break;
                    }

                    MoveOnIdle();
                    Write(_partitions.Values);
                    lastWrite = Stopwatch.GetTimestamp();
                }
            }

            Write(_partitions.Values);
            consumer.Close(); // leaves the group; the revoke handler has nothing left to write
        }
        finally
        {
            _stats.Running = false;
            _consumer = null;
        }
    }

    /// <summary>The assigned partition a message came from; false when it is not (or no longer) assigned here.</summary>
    private bool TryFind(ConsumeResult<string?, byte[]> result, [NotNullWhen(true)] out GroupPartition<TState>? partition)
    {
        // Messages come a partition's fetched batch at a time, so the last one's partition is nearly always the
        // answer; matching it by number and topic spares the object that ConsumeResult.TopicPartition creates and
        // the hash of its topic on every message.
        partition = _lastPartition;
        if (partition is not null && partition.Partition.Partition.Value == result.Partition.Value && string.Equals(partition.Partition.Topic, result.Topic, StringComparison.Ordinal))
        {
            return true;
        }

        if (_partitions.TryGetValue(result.TopicPartition, out partition))
        {
            _lastPartition = partition;
            return true;
        }

        return false;
    }

    /// <summary>Takes over partitions at the positions of their checkpoints in the store.</summary>
    internal List<TopicPartitionOffset> Assign(List<TopicPartition> assigned)
    {
        _lastPartition = null;
        var result = new List<TopicPartitionOffset>();
        foreach (var tp in assigned)
        {
            var partition = new GroupPartition<TState>(tp, CheckpointKey(_role.CheckpointPrefix, tp));
            var checkpoint = _store.LoadCheckpointAsync(partition.Key).AsTask().GetAwaiter().GetResult();
            partition.State = _role.Open(tp, partition.Key, checkpoint);

            // No checkpoint: nothing of this partition is in the store yet, so read it from the start.
            partition.NextOffset = checkpoint is null ? Offset.Beginning : checkpoint.Position;
            partition.RejectsBefore = checkpoint?.Counts.Rejects ?? 0;
            partition.LastMessage = Stopwatch.GetTimestamp(); // quiet since it was assigned
            _partitions[tp] = partition;
            result.Add(new TopicPartitionOffset(tp, partition.NextOffset));
        }

        if (result.Count > 0 && _logger.IsEnabled(LogLevel.Information))
        {
            _logger.Assigned(_role.Name, string.Join(", ", result.Select(r => $"{r.TopicPartition} {Describe(r.Offset)}")));
        }

        return result;
    }

    /// <summary>Lets partitions go: handed over (<paramref name="flush"/>) they are written first; lost, what they took is dropped.</summary>
    internal void Revoke(List<TopicPartitionOffset> revoked, bool flush)
    {
        _lastPartition = null;
        var leaving = revoked.Select(r => r.TopicPartition).Where(_partitions.ContainsKey).Select(tp => _partitions[tp]).ToList();
        long dropped = 0;
        if (flush)
        {
            Write(leaving);
        }
        else
        {
            // Lost, not handed over: what was taken from these partitions is read again by their next owner, and
            // must not be written here under a checkpoint this member no longer owns.
            foreach (var partition in leaving)
            {
                dropped += _role.Pending(partition.State);
            }
        }

        foreach (var partition in leaving)
        {
            _pending -= _role.Pending(partition.State);
            if (!flush)
            {
                _role.Reset(partition.State);
            }

            _partitions.Remove(partition.Partition);
        }

        if (leaving.Count == 0)
        {
            return;
        }

        var names = string.Join(", ", leaving.Select(p => p.Partition.ToString()));
        if (flush)
        {
            _logger.Revoked(_role.Name, names);
        }
        else
        {
            _logger.Lost(_role.Name, names, dropped);
        }
    }

    /// <summary>Takes a message unless it is behind the partition's position.</summary>
    /// <returns>False when the message was taken already.</returns>
    internal bool Take(GroupPartition<TState> partition, ConsumeResult<string?, byte[]> result) =>
        Take(partition, result, Stopwatch.GetTimestamp());

    /// <summary>Takes a message that arrived at <paramref name="arrived"/> (a <see cref="Stopwatch"/> timestamp) unless it is behind the partition's position.</summary>
    /// <returns>False when the message was taken already.</returns>
    private bool Take(GroupPartition<TState> partition, ConsumeResult<string?, byte[]> result, long arrived)
    {
        if (result.Offset.Value < partition.NextOffset.Value)
        {
            // Taken already, by this member or before the checkpoint it resumed from: around rebalances librdkafka
            // has been seen handing a member such a message again, which taken again would count twice.
            return false;
        }

        partition.NextOffset = result.Offset.Value + 1;
        partition.LastMessage = arrived;
        partition.LastMessageTime = result.Message.Timestamp.UnixTimestampMs;
        var before = _role.Pending(partition.State);
        _role.Take(partition, result, _producer);
        _pending += _role.Pending(partition.State) - before;
        return true;
    }

    /// <summary>
    /// A partition's position is no longer on the broker (retention deleted messages before the group read them):
    /// counts the messages lost, says so, and goes on from the oldest message there is.
    /// </summary>
    private void SkipLost(IConsumer<string?, byte[]> consumer, TopicPartition? where)
    {
        if (where is null || !_partitions.TryGetValue(where, out var partition))
        {
            return;
        }

        var start = consumer.QueryWatermarkOffsets(where, TimeSpan.FromSeconds(10)).Low.Value;
        var from = partition.NextOffset.Value;
        var lost = from >= 0 && start > from ? start - from : 0;
        Interlocked.Add(ref _lost, lost);
        _logger.LostToRetention(_role.Name, where.ToString(), from, start, lost);
        partition.NextOffset = start;

        // After the reset error librdkafka no longer fetches the partition, and a seek is refused ("erroneous
        // state"): assigning it again at the log start is what starts it again.
        consumer.IncrementalUnassign([where]);
        consumer.IncrementalAssign([new TopicPartitionOffset(where, start)]);
    }

    /// <summary>Lets the role move on the partitions that are caught up and quiet (the processor closes their windows).</summary>
    private void MoveOnIdle()
    {
        foreach (var partition in _partitions.Values)
        {
            var quiet = Stopwatch.GetElapsedTime(partition.LastMessage);
            if (quiet >= _settings.IdleTimeout && _role.MovesOnWhenIdle(partition) && CaughtUp(partition))
            {
                _role.MoveOnIdle(partition, quiet);
            }
        }
    }

    /// <summary>True when there are partitions and every one is caught up and has been quiet for the idle timeout.</summary>
    private bool AllCaughtUpAndQuiet() =>
        _partitions.Count > 0 && _partitions.Values.All(p => Stopwatch.GetElapsedTime(p.LastMessage) >= _settings.IdleTimeout && CaughtUp(p));

    private bool CaughtUp(GroupPartition<TState> partition) => GroupConsumers.CaughtUp(_consumer!, partition.Partition, partition.NextOffset);

    /// <summary>Writes every assigned partition that has something to write.</summary>
    internal void WriteAll() => Write(_partitions.Values);

    /// <summary>Makes what these partitions took durable: Kafka outputs and dead letters, the alert bus, the store with their checkpoints, then commits offsets.</summary>
    private void Write(IEnumerable<GroupPartition<TState>> partitions)
    {
        var batch = _batch;
        batch.Clear();
        _written.Clear();
        var offsets = new List<TopicPartitionOffset>();
        foreach (var partition in partitions)
        {
            if (!partition.Dirty)
            {
                continue;
            }

            var kept = _role.Collect(partition, batch);
            var totals = new PipelineCounts(partition.RejectsBefore + partition.Rejects, kept.Late, kept.Duplicates);
            batch.Checkpoints.Add(new Checkpoint(partition.Key, partition.NextOffset.Value, kept.State, totals));
            offsets.Add(new TopicPartitionOffset(partition.Partition, partition.NextOffset));
            _written.Add(partition);
        }

        if (_written.Count == 0)
        {
            RefreshLag();
            return;
        }

        _role.Publish(batch, _producer);
        _producer.Deliver(); // outputs and dead letters before the checkpoint that moves past their input
        if (_alertBus is not null)
        {
            // A role that published its alerts as it made them leaves only their acknowledgements to wait for.
            Wait(PublishAlertsAsync(_alertBus, _role.PublishesAlertsAsTaken ? [] : batch.Alerts), "alert bus publish");
        }

        Wait(_store.WriteAsync(batch), "store write");
        foreach (var alert in batch.Alerts)
        {
            Freshness.AlertReached(alert.Id, FreshnessStage.Store);
        }

        _role.Stored(batch, _written, _partitions.Values);
        foreach (var partition in _written)
        {
            _pending -= _role.Pending(partition.State);
            partition.RejectsBefore += partition.Rejects;
            partition.Rejects = 0;
            partition.Dirty = false;
            _role.Reset(partition.State);
        }

        try
        {
            _consumer?.Commit(offsets);
        }
        catch (KafkaException e)
        {
            // Advisory only (lag monitoring): the store's checkpoints are what resumption reads.
            _logger.CommitFailed(e, _role.Name);
        }

        RefreshLag();
    }

    private static async ValueTask PublishAlertsAsync(IAlertBus bus, List<Alert> alerts)
    {
        foreach (var alert in alerts)
        {
            await bus.PublishAsync(alert);
        }

        await bus.FlushAsync();
    }

    /// <summary>Blocks on <paramref name="pending"/> for as long as it takes, saying so every few seconds; its failure is thrown as it is.</summary>
    private void Wait(ValueTask pending, string what)
    {
        if (!pending.IsCompleted)
        {
            var task = pending.AsTask();
            var since = Stopwatch.GetTimestamp();
            var logged = false;
            while (Task.WaitAny([task], _settings.WaitLogInterval) < 0)
            {
                var waited = Stopwatch.GetElapsedTime(since).TotalSeconds;
                _logger.WriteWaiting(_role.Name, what, waited);
                logged = true;
            }

            if (logged)
            {
                var waited = Stopwatch.GetElapsedTime(since).TotalSeconds;
                _logger.WaitOver(_role.Name, what, waited);
            }

            pending = new ValueTask(task);
        }

        pending.GetAwaiter().GetResult();
    }

    private void RefreshLag()
    {
        if (_consumer is null)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lag = new List<PartitionLag>();
        foreach (var partition in _partitions.Values)
        {
            lag.Add(GroupConsumers.Lag(_consumer, partition.Partition, partition.NextOffset, partition.LastMessageTime, now));
        }

        lock (_lagGate)
        {
            _lag = lag;
        }
    }

    /// <summary>A partition's checkpoint key: <c>PREFIX:TOPIC:PARTITION</c>.</summary>
    internal static string CheckpointKey(string prefix, TopicPartition partition) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}:{partition.Topic}:{partition.Partition.Value}");

    private static string Describe(Offset offset) =>
        offset == Offset.Beginning ? "from the beginning (no checkpoint)" : string.Create(CultureInfo.InvariantCulture, $"at {offset.Value}");

    public void Dispose() => _producer.Dispose();
}

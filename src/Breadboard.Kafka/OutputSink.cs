using System.Diagnostics;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>Settings of a sink.</summary>
public sealed record SinkOptions
{
    public static SinkOptions Default { get; } = new();

    public string GroupId { get; init; } = KafkaBusOptions.SinkGroup;

    /// <summary>Longest a consumed message waits before it is written and its offset checkpointed.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Messages per write; a full batch is written at once.</summary>
    public int BatchSize { get; init; } = 100_000;

    /// <summary>
    /// Also store the ticks of <c>stock-prices</c> and <c>crypto-prices</c>: with the Flink engine nothing else
    /// writes them, and the dashboard's prices and symbols read them from the store.
    /// </summary>
    public bool IncludeTicks { get; init; } = true;

    /// <summary>Treat the topics as bounded: once every assigned partition is caught up and quiet for <see cref="IdleTimeout"/>, write and stop.</summary>
    public bool DrainWhenIdle { get; init; }

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the group waits for a member that stopped answering before its partitions move.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The sink role: consumes the <c>bars</c> and <c>alerts</c> topics (written by Flink, or by the local processor)
/// and the tick topics into the store and the alert bus, exactly once, so the dashboard and the notifiers work
/// the same whichever engine runs.
/// </summary>
/// <remarks>
/// <para>Reads with <c>isolation.level=read_committed</c>: Flink's exactly-once Kafka sinks write in transactions,
/// and records of an aborted or still-open transaction must never reach the store.</para>
/// <para>Exactly once as in <see cref="TickProcessor"/>: each partition's next offset is a <see cref="Checkpoint"/>
/// (key <c>sink:TOPIC:PARTITION</c>, no state) written in the same store batch as the records it covers, and a
/// partition resumes from it. Records consumed again after a crash are the same records: bars upsert by
/// (symbol, window, window_start), alerts by id, ticks by their origin, and the alert bus drops a re-published
/// alert id (NATS's duplicate window). Order of a write: dead letters (flushed), the alert bus (flushed), the store
/// batch with its checkpoints, then the advisory offset commit that lag monitors read.</para>
/// </remarks>
public sealed class OutputSink : IDisposable
{
    private readonly KafkaBusOptions _bus;
    private readonly IMarketStore _store;
    private readonly IAlertBus? _alertBus;
    private readonly SinkOptions _options;
    private readonly PipelineStats _stats;
    private readonly ILiveObserver? _observer;
    private readonly Dictionary<TopicPartition, PartitionPosition> _partitions = [];
    private readonly TickMessages _ticks = new();
    private readonly IProducer<string, byte[]> _deadLetters;
    private readonly Lock _lagGate = new();
    private readonly StoreBatch _batch = new();
    private IReadOnlyList<PartitionLag> _lag = [];
    private IConsumer<string?, byte[]>? _consumer;
    private int _pending;
    private long _ticksStored, _barsStored, _alertsStored;

    public OutputSink(KafkaBusOptions bus, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, SinkOptions? options = null, ILiveObserver? observer = null)
    {
        _bus = bus;
        _store = store;
        _alertBus = alertBus;
        _stats = stats;
        _options = options ?? SinkOptions.Default;
        _observer = observer;
        _deadLetters = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bus.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
    }

    /// <summary>The topics a sink with these options reads.</summary>
    public static IReadOnlyList<string> TopicsOf(SinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.IncludeTicks
            ? [KafkaBusOptions.BarsTopic, KafkaBusOptions.AlertsTopic, .. KafkaBusOptions.TickTopics]
            : [KafkaBusOptions.BarsTopic, KafkaBusOptions.AlertsTopic];
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
    public long DeadLetters { get; private set; }

    /// <summary>Set when the sink stopped because <see cref="SinkOptions.DrainWhenIdle"/> found all input consumed.</summary>
    public bool Drained { get; private set; }

    /// <summary>Runs until cancelled (or drained), then writes what it has and leaves the group.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        var config = GroupConsumers.Config(_bus, _options.GroupId, _options.SessionTimeout);
        // Records of aborted or open transactions stay invisible; "caught up" then means reaching the last stable
        // offset, which the high watermark stands for once every transaction is decided.
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        using var consumer = new ConsumerBuilder<string?, byte[]>(config)
            .SetPartitionsAssignedHandler((_, assigned) => Assign(assigned))
            .SetPartitionsRevokedHandler((_, revoked) => Revoke(revoked, flush: true))
            .SetPartitionsLostHandler((_, lost) => Revoke(lost, flush: false))
            .Build();
        _consumer = consumer;
        consumer.Subscribe(TopicsOf(_options));
        _stats.Running = true;
        var flushDue = Stopwatch.StartNew();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is not null && !result.IsPartitionEOF && _partitions.TryGetValue(result.TopicPartition, out var position))
                {
                    Take(position, result);
                }

                if (_pending >= _options.BatchSize || flushDue.Elapsed >= _options.FlushInterval)
                {
                    if (_options.DrainWhenIdle && AllCaughtUpAndQuiet())
                    {
                        Write(_partitions.Values);
                        Drained = true;
                        break;
                    }

                    Write(_partitions.Values);
                    flushDue.Restart();
                }
            }

            Write(_partitions.Values);
            consumer.Close();
        }
        finally
        {
            _stats.Running = false;
            _consumer = null;
        }
    }

    private List<TopicPartitionOffset> Assign(List<TopicPartition> assigned)
    {
        var result = new List<TopicPartitionOffset>();
        foreach (var tp in assigned)
        {
            var position = new PartitionPosition(tp);
            var checkpoint = _store.LoadCheckpointAsync(position.Key).AsTask().GetAwaiter().GetResult();
            // No checkpoint: nothing of this partition is in the store yet, so read it from the start.
            position.NextOffset = checkpoint is null ? Offset.Beginning : checkpoint.Position;
            position.RejectsBefore = checkpoint?.Counts.Rejects ?? 0;
            position.LastMessage = Stopwatch.GetTimestamp();
            _partitions[tp] = position;
            result.Add(new TopicPartitionOffset(tp, position.NextOffset));
        }

        return result;
    }

    private void Revoke(List<TopicPartitionOffset> revoked, bool flush)
    {
        var leaving = revoked.Select(r => r.TopicPartition).Where(_partitions.ContainsKey).Select(tp => _partitions[tp]).ToList();
        if (flush)
        {
            Write(leaving);
        }
        else
        {
            // Lost, not handed over: what was taken from these partitions is read again by their next owner, and
            // must not be written here under a checkpoint this member no longer owns.
            DropPending(leaving);
        }

        foreach (var position in leaving)
        {
            _partitions.Remove(position.Partition);
        }
    }

    private void Take(PartitionPosition position, ConsumeResult<string?, byte[]> result)
    {
        if (result.Offset.Value < position.NextOffset.Value)
        {
            return; // taken already: see TickProcessor.Take
        }

        position.NextOffset = result.Offset.Value + 1;
        position.LastMessage = Stopwatch.GetTimestamp();
        position.LastMessageTime = result.Message.Timestamp.UnixTimestampMs;
        position.Dirty = true;
        position.Taken++;
        _pending++;
        var value = result.Message.Value ?? [];
        switch (result.Topic)
        {
            case KafkaBusOptions.BarsTopic:
                if (RecordJson.TryParseBar(value, out var bar, out var barError) && (barError = RecordJson.CheckValues(bar!)) is null)
                {
                    position.Bars.Add(bar!);
                }
                else
                {
                    DeadLetter(position, result, KafkaBusOptions.OutputDeadLetterTopic, barError!);
                }

                break;
            case KafkaBusOptions.AlertsTopic:
                if (RecordJson.TryParseAlert(value, out var alert, out var alertError) && (alertError = RecordJson.CheckValues(alert!)) is null)
                {
                    position.Alerts.Add(alert!);
                }
                else
                {
                    DeadLetter(position, result, KafkaBusOptions.OutputDeadLetterTopic, alertError!);
                }

                break;
            default:
                if (_ticks.TryParse(value, out var tick, out var tickError))
                {
                    position.Ticks.Add(tick);
                    position.Origins.Add(new TickOrigin(position.Key, result.Offset.Value));
                }
                else
                {
                    DeadLetter(position, result, KafkaBusOptions.DeadLetterTopic, tickError!);
                }

                break;
        }
    }

    private void DeadLetter(PartitionPosition position, ConsumeResult<string?, byte[]> result, string topic, string reason)
    {
        _deadLetters.Produce(topic, GroupConsumers.DeadLetter(result, reason));
        DeadLetters++;
        position.Rejects++;
    }

    private bool AllCaughtUpAndQuiet() =>
        _partitions.Count > 0 && _partitions.Values.All(p => Stopwatch.GetElapsedTime(p.LastMessage) >= _options.IdleTimeout && CaughtUp(p));

    private bool CaughtUp(PartitionPosition position) => GroupConsumers.CaughtUp(_consumer!, position.Partition, position.NextOffset);

    /// <summary>Writes what these partitions took: dead letters, then alerts to the bus, then the store with their checkpoints.</summary>
    private void Write(IEnumerable<PartitionPosition> partitions)
    {
        var batch = _batch;
        batch.Clear();
        var written = new List<PartitionPosition>();
        var offsets = new List<TopicPartitionOffset>();
        foreach (var position in partitions)
        {
            if (!position.Dirty)
            {
                continue;
            }

            batch.Ticks.AddRange(position.Ticks);
            batch.TickOrigins.AddRange(position.Origins);
            batch.Bars.AddRange(position.Bars);
            batch.Alerts.AddRange(position.Alerts);
            batch.Checkpoints.Add(new Checkpoint(position.Key, position.NextOffset.Value, [], new PipelineCounts(position.RejectsBefore + position.Rejects, 0, 0)));
            offsets.Add(new TopicPartitionOffset(position.Partition, position.NextOffset));
            written.Add(position);
        }

        if (written.Count == 0)
        {
            RefreshLag();
            return;
        }

        // Dead letters are delivered before the checkpoint that moves past their input.
        while (_deadLetters.Flush(TimeSpan.FromSeconds(30)) > 0)
        {
            // Kafka is unreachable: keep trying rather than checkpoint past records that were never set aside.
        }

        if (_alertBus is not null)
        {
            foreach (var alert in batch.Alerts)
            {
                _alertBus.PublishAsync(alert).AsTask().GetAwaiter().GetResult();
            }

            _alertBus.FlushAsync().AsTask().GetAwaiter().GetResult();
        }

        _store.WriteAsync(batch).AsTask().GetAwaiter().GetResult();

        foreach (var tick in batch.Ticks)
        {
            _observer?.OnTick(in tick);
        }

        foreach (var bar in batch.Bars)
        {
            _observer?.OnClosedBar(bar);
        }

        _ticksStored += batch.Ticks.Count;
        _barsStored += batch.Bars.Count;
        _alertsStored += batch.Alerts.Count;
        foreach (var position in written)
        {
            _stats.Rejected(position.Rejects);
            position.RejectsBefore += position.Rejects;
        }

        _stats.Set(_ticksStored, _barsStored, _alertsStored, 0, 0, long.MinValue);
        _stats.Stored();
        DropPending(written);
        try
        {
            _consumer?.Commit(offsets);
        }
        catch (KafkaException)
        {
            // Advisory only (lag monitoring): the store's checkpoints are what resumption reads.
        }

        RefreshLag();
    }

    private void DropPending(List<PartitionPosition> positions)
    {
        foreach (var position in positions)
        {
            _pending -= position.Taken;
            position.Clear();
        }
    }

    private void RefreshLag()
    {
        if (_consumer is null)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lag = new List<PartitionLag>();
        foreach (var position in _partitions.Values)
        {
            lag.Add(GroupConsumers.Lag(_consumer, position.Partition, position.NextOffset, position.LastMessageTime, now));
        }

        lock (_lagGate)
        {
            _lag = lag;
        }
    }

    public void Dispose()
    {
        _deadLetters.Flush(TimeSpan.FromSeconds(10));
        _deadLetters.Dispose();
        _ticks.Dispose();
    }

    /// <summary>One assigned partition: where it is and what was taken from it since the last write.</summary>
    private sealed class PartitionPosition(TopicPartition partition)
    {
        public TopicPartition Partition { get; } = partition;

        /// <summary>The partition's checkpoint key; distinct from the processor's, so both can share a store.</summary>
        public string Key { get; } = $"sink:{partition.Topic}:{partition.Partition.Value}";

        public Offset NextOffset { get; set; }

        public List<Tick> Ticks { get; } = [];

        public List<TickOrigin> Origins { get; } = [];

        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        /// <summary>Stopwatch timestamp of the last message, or of the assignment before the first.</summary>
        public long LastMessage { get; set; }

        public long LastMessageTime { get; set; }

        public bool Dirty { get; set; }

        /// <summary>Messages taken since the last write, dead letters included.</summary>
        public int Taken { get; set; }

        /// <summary>Dead letters since the last write.</summary>
        public long Rejects { get; set; }

        /// <summary>Dead letters up to the last write (or the checkpoint it resumed from): the checkpoint carries totals.</summary>
        public long RejectsBefore { get; set; }

        public void Clear()
        {
            Ticks.Clear();
            Origins.Clear();
            Bars.Clear();
            Alerts.Clear();
            Taken = 0;
            Rejects = 0;
            Dirty = false;
        }
    }
}

using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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

    /// <summary>Where assignments, waits on Kafka or the store, dead letters and librdkafka's own messages are logged.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>
/// The sink role: consumes the <c>bars</c> and <c>alerts</c> topics (written by Flink, or by the local processor)
/// and the tick topics into the store and the alert bus, exactly once, so the dashboard and the notifiers work
/// the same whichever engine runs.
/// </summary>
/// <remarks>
/// <para>Reads with <c>isolation.level=read_committed</c>: Flink's exactly-once Kafka sinks write in transactions,
/// and records of an aborted or still-open transaction must never reach the store.</para>
/// <para>Exactly once as in <see cref="TickProcessor"/> (both are a <see cref="GroupMember{TState}"/>): each
/// partition's next offset is a <see cref="Checkpoint"/> (key <c>sink:TOPIC:PARTITION</c>, no state) written in the
/// same store batch as the records it covers, and a partition resumes from it. Records consumed again after a crash
/// are the same records: bars upsert by (symbol, window, window_start), alerts by id, ticks by their origin, and the
/// alert bus drops a re-published alert id (NATS's duplicate window). Order of a write: dead letters (flushed), the
/// alert bus (flushed), the store batch with its checkpoints, then the advisory offset commit that lag monitors
/// read.</para>
/// </remarks>
public sealed class OutputSink : IDisposable
{
    private readonly GroupMember<SinkRecords> _member;
    private readonly Role _role;

    public OutputSink(KafkaBusOptions bus, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, SinkOptions? options = null, ILiveObserver? observer = null)
    {
        options ??= SinkOptions.Default;
        _role = new Role(stats, options, observer);
        _member = new GroupMember<SinkRecords>(bus, _role, Settings(options), store, alertBus, stats);
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
    public IReadOnlyList<PartitionLag> Lag => _member.Lag;

    /// <summary>Messages sent to a dead-letter topic.</summary>
    public long DeadLetters => _member.DeadLetters;

    /// <summary>Set when the sink stopped because <see cref="SinkOptions.DrainWhenIdle"/> found all input consumed.</summary>
    public bool Drained => _member.Drained;

    /// <summary>Runs until cancelled (or drained), then writes what it has and leaves the group.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) => _member.RunAsync(cancellationToken);

    public void Dispose()
    {
        _member.Dispose();
        _role.Dispose();
    }

    internal static GroupSettings Settings(SinkOptions options) => new()
    {
        GroupId = options.GroupId,
        FlushInterval = options.FlushInterval,
        BatchSize = options.BatchSize,
        IdleTimeout = options.IdleTimeout,
        DrainWhenIdle = options.DrainWhenIdle,
        SessionTimeout = options.SessionTimeout,
        Logger = options.Logger,
    };

    /// <summary>What a sink partition took since the last write.</summary>
    internal sealed class SinkRecords
    {
        public List<Tick> Ticks { get; } = [];

        public List<TickOrigin> Origins { get; } = [];

        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        /// <summary>Messages taken since the last write, dead letters included.</summary>
        public int Taken { get; set; }

        public void Clear()
        {
            Ticks.Clear();
            Origins.Clear();
            Bars.Clear();
            Alerts.Clear();
            Taken = 0;
        }
    }

    /// <summary>The sink's part: records parsed by topic, stored as they are, checkpoints without state.</summary>
    internal sealed class Role(PipelineStats stats, SinkOptions options, ILiveObserver? observer) : IGroupRole<SinkRecords>, IDisposable
    {
        private readonly TickMessages _ticks = new();
        private long _ticksStored, _barsStored, _alertsStored;

        public string Name => "sink";

        /// <summary>Distinct from the processor's, so both can share a store.</summary>
        public string CheckpointPrefix => "sink";

        public IReadOnlyList<string> Topics { get; } = TopicsOf(options);

        // Records of aborted or open transactions stay invisible; "caught up" then means reaching the last stable
        // offset, which the high watermark stands for once every transaction is decided.
        public void Configure(ConsumerConfig config) => config.IsolationLevel = IsolationLevel.ReadCommitted;

        public void Configure(ProducerConfig config)
        {
            // Dead letters only: the defaults.
        }

        public SinkRecords Open(TopicPartition partition, string key, Checkpoint? checkpoint) => new();

        public int Pending(SinkRecords state) => state.Taken;

        public void Take(GroupPartition<SinkRecords> partition, ConsumeResult<string?, byte[]> result, GroupProducer producer)
        {
            var records = partition.State;
            partition.Dirty = true;
            records.Taken++;
            var value = result.Message.Value ?? [];
            switch (result.Topic)
            {
                case KafkaBusOptions.BarsTopic:
                    if (RecordJson.TryParseBar(value, out var bar, out var barError) && (barError = RecordJson.CheckValues(bar!)) is null)
                    {
                        records.Bars.Add(bar!);
                    }
                    else
                    {
                        producer.DeadLetter(partition, KafkaBusOptions.OutputDeadLetterTopic, GroupConsumers.DeadLetter(result, barError!), result.Offset.Value, barError!);
                    }

                    break;
                case KafkaBusOptions.AlertsTopic:
                    if (RecordJson.TryParseAlert(value, out var alert, out var alertError) && (alertError = RecordJson.CheckValues(alert!)) is null)
                    {
                        records.Alerts.Add(alert!);
                    }
                    else
                    {
                        producer.DeadLetter(partition, KafkaBusOptions.OutputDeadLetterTopic, GroupConsumers.DeadLetter(result, alertError!), result.Offset.Value, alertError!);
                    }

                    break;
                default:
                    if (_ticks.TryParse(value, out var tick, out var tickError))
                    {
                        records.Ticks.Add(tick);
                        records.Origins.Add(new TickOrigin(partition.Key, result.Offset.Value));
                    }
                    else
                    {
                        producer.DeadLetter(partition, KafkaBusOptions.DeadLetterTopic, GroupConsumers.DeadLetter(result, tickError!), result.Offset.Value, tickError!);
                    }

                    break;
            }
        }

        public bool MovesOnWhenIdle(GroupPartition<SinkRecords> partition) => false;

        public void MoveOnIdle(GroupPartition<SinkRecords> partition, TimeSpan quiet)
        {
            // Records are stored as they come: nothing waits for time to pass.
        }

        public void EndOfInput(GroupPartition<SinkRecords> partition)
        {
            // Nothing is held back: the last write has everything.
        }

        public CheckpointState Collect(GroupPartition<SinkRecords> partition, StoreBatch batch)
        {
            var records = partition.State;
            batch.Ticks.AddRange(records.Ticks);
            batch.TickOrigins.AddRange(records.Origins);
            batch.Bars.AddRange(records.Bars);
            batch.Alerts.AddRange(records.Alerts);
            return CheckpointState.Stateless;
        }

        public void Publish(StoreBatch batch, GroupProducer producer)
        {
            // The records came from Kafka: nothing to publish back.
        }

        public void Stored(StoreBatch batch, IReadOnlyList<GroupPartition<SinkRecords>> written, IReadOnlyCollection<GroupPartition<SinkRecords>> assigned)
        {
            foreach (var tick in batch.Ticks)
            {
                observer?.OnTick(in tick);
            }

            foreach (var bar in batch.Bars)
            {
                observer?.OnClosedBar(bar);
            }

            _ticksStored += batch.Ticks.Count;
            _barsStored += batch.Bars.Count;
            _alertsStored += batch.Alerts.Count;
            foreach (var partition in written)
            {
                stats.Rejected(partition.Rejects);
            }

            stats.Set(_ticksStored, _barsStored, _alertsStored, 0, 0, long.MinValue);
            stats.Stored();
        }

        public void Reset(SinkRecords state) => state.Clear();

        public void Dispose() => _ticks.Dispose();
    }
}

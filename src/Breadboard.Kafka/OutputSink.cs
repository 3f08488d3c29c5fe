using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>Settings of a sink.</summary>
public sealed record SinkOptions : ConsumerGroupOptions
{
    public SinkOptions()
    {
        GroupId = KafkaBusOptions.SinkGroup;
    }

    public static SinkOptions Default { get; } = new();

    /// <summary>
    /// Also store the ticks of <c>stock-prices</c> and <c>crypto-prices</c>: with the Flink engine nothing else
    /// writes them, and the dashboard's prices and symbols read them from the store.
    /// </summary>
    public bool IncludeTicks { get; init; } = true;
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
public sealed class OutputSink : ConsumerGroupWorker
{
    public OutputSink(KafkaBusOptions bus, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, SinkOptions? options = null, ILiveObserver? observer = null)
        : base(Build(bus, store, alertBus, stats, options ?? SinkOptions.Default, observer))
    {
    }

    /// <summary>The topics a sink with these options reads.</summary>
    public static IReadOnlyList<string> TopicsOf(SinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.IncludeTicks
            ? [KafkaBusOptions.BarsTopic, KafkaBusOptions.AlertsTopic, .. KafkaBusOptions.TickTopics]
            : [KafkaBusOptions.BarsTopic, KafkaBusOptions.AlertsTopic];
    }

    private static (IGroupMember, IDisposable) Build(KafkaBusOptions bus, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, SinkOptions options, ILiveObserver? observer)
    {
        var role = new Role(stats, options, observer);
        return (new GroupMember<SinkRecords>(bus, role, options, store, alertBus, stats), role);
    }

    /// <summary>What a sink partition took since the last write.</summary>
    internal sealed class SinkRecords
    {
        public PartitionOutput Output { get; } = new();

        /// <summary>Messages taken since the last write, dead letters included.</summary>
        public int Taken { get; set; }

        public void Clear()
        {
            Output.Clear();
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
            var records = partition.State.Output;
            partition.Dirty = true;
            partition.State.Taken++;
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
            partition.State.Output.AddTo(batch);
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

using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Runtime;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>Settings of a processor; the defaults suit the seed's 10K msg/s.</summary>
/// <remarks>
/// A partition that is caught up and has had no message for <see cref="ConsumerGroupOptions.IdleTimeout"/> moves its
/// event time on with the wall clock, so its last windows close instead of waiting for the next trade; with
/// <see cref="ConsumerGroupOptions.DrainWhenIdle"/> every window closes at the end of the input.
/// </remarks>
public sealed record ProcessorOptions : ConsumerGroupOptions
{
    public ProcessorOptions()
    {
        GroupId = KafkaBusOptions.ProcessorGroup;
        BatchSize = 200_000;
    }

    public static ProcessorOptions Default { get; } = new();

    /// <summary>Also publish bars and alerts to the <c>bars</c> and <c>alerts</c> topics.</summary>
    public bool PublishOutputs { get; init; } = true;

    /// <summary>The clock ticks from the future are measured against (the pipeline's future.clock_skew).</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;
}

/// <summary>
/// The consumer-group processor: reads ticks from <c>stock-prices</c> and <c>crypto-prices</c> as a member of
/// <c>stream-processor</c>, runs one engine per assigned partition, and writes bars, alerts, ticks and counts to
/// the store and the alert bus, exactly once.
/// </summary>
/// <remarks>
/// <para>Exactly-once without Kafka transactions, as every <see cref="GroupMember{TState}"/>: each partition's engine
/// state and next offset are a <see cref="Checkpoint"/> (key <c>kafka:TOPIC:PARTITION</c>) committed in the same
/// store transaction as the outputs they produced. On assignment a partition resumes from its checkpoint (or from
/// the beginning when the store has none); outputs published before a crash are published again with the same
/// keys (bar key, alert id), which the store upserts and the alert bus de-duplicates. Alerts go to the alert bus as
/// soon as the engine fires them (not after the write: a user sees them within a NATS round trip of their window
/// closing); a write waits for their acknowledgements before it commits. Order of a write: Kafka output topics and
/// dead letters (flushed), the alert bus's acknowledgements, then the store transaction, then the advisory offset
/// commit that lag monitors read.</para>
/// <para>One engine per partition: a symbol lives on exactly one partition, so every window is fed by one
/// partition and its watermark is that partition's. An idle partition therefore never holds back another's
/// windows, and the output does not depend on how partitions are spread over processors.</para>
/// </remarks>
public sealed class TickProcessor : ConsumerGroupWorker
{
    public TickProcessor(KafkaBusOptions bus, PipelineDefinition definition, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, ProcessorOptions? options = null, ILiveObserver? observer = null)
        : base(Build(bus, definition, store, alertBus, stats, options ?? ProcessorOptions.Default, observer))
    {
    }

    private static (IGroupMember, IDisposable) Build(KafkaBusOptions bus, PipelineDefinition definition, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, ProcessorOptions options, ILiveObserver? observer)
    {
        var role = new Role(definition, store, stats, options, observer, alertBus);
        return (new GroupMember<PartitionEngine>(bus, role, options, store, alertBus, stats), role);
    }

    /// <summary>
    /// Runs <paramref name="next"/>'s rules and indicators: each partition's engine switches before the next
    /// message, idle move or write it handles (<see cref="WindowEngine.Reconfigure"/>), so from its next bar that
    /// closes; a partition assigned later starts on it. Completes at once, with what changes.
    /// </summary>
    /// <exception cref="ArgumentException">Something other than rules and indicators changed; nothing switches.</exception>
    public PipelineSwitch Reload(PipelineDefinition next) => new(((Role)GroupRole).Switch(next), long.MinValue);

    /// <summary>The processor's part: an engine per partition, fed the parsed ticks, its outputs and state written.</summary>
    internal sealed class Role(PipelineDefinition definition, IMarketStore store, PipelineStats stats, ProcessorOptions options, ILiveObserver? observer, IAlertBus? alertBus = null)
        : IGroupRole<PartitionEngine>, IDisposable
    {
        private readonly TickMessages _messages = new();

        // The definition partitions run; a reload replaces it and each partition switches on its next event.
        private volatile PipelineDefinition _definition = definition;

        public PipelineChange Switch(PipelineDefinition next)
        {
            var change = PipelineChange.Between(_definition, next);
            _definition = next;
            return change;
        }

        /// <summary>The partition's engine, switched to the definition running now if a reload came since its last event.</summary>
        private PartitionEngine Current(GroupPartition<PartitionEngine> partition)
        {
            var work = partition.State;
            if (work.TradeIdsFrom is { } checkpoint)
            {
                RestoreTradeIds(work.Engine, checkpoint);
                work.TradeIdsFrom = null;
            }

            if (!ReferenceEquals(work.Engine.Definition, _definition))
            {
                work.Engine.Reconfigure(_definition);
            }

            return work;
        }
        private long _consumed, _statsBars, _statsAlerts, _statsLate, _statsDuplicates;

        public string Name => "process";

        public string CheckpointPrefix => "kafka";

        public IReadOnlyList<string> Topics => KafkaBusOptions.TickTopics;

        /// <summary>Alerts go to the alert bus as the engines fire them; the write only waits for their acknowledgements.</summary>
        public bool PublishesAlertsAsTaken => alertBus is not null;

        public void Configure(ConsumerConfig config)
        {
            config.FetchMaxBytes = 64 * 1024 * 1024;

            // A fetch that finds nothing new waits at most this long: librdkafka's mock cluster holds such a fetch
            // for the whole wait even when data arrives meanwhile (a real broker answers once data is there), which
            // at the default 500 ms delivered ticks to the dashboard in half-second bursts. Costs a few empty
            // fetches a second per broker when idle.
            config.FetchWaitMaxMs = 20;
        }

        public void Configure(ProducerConfig config)
        {
            config.CompressionType = CompressionType.Lz4;
            config.LingerMs = 5;
        }

        public PartitionEngine Open(TopicPartition partition, string key, Checkpoint? checkpoint)
        {
            var work = PartitionEngine.Open(_definition, key, checkpoint?.State, options.WallClock, observer, alertBus);

            // Not here, inside the group's rebalance: reading a dedup horizon of trade ids takes seconds to tens of
            // seconds, and a member that long in its assignment callback was dropped from the group, its partitions
            // lost, reassigned and restored again, over and over (found by the chaos run: 26 s per round, for
            // minutes). Restored before the partition's engine is first used, outside the rebalance.
            work.TradeIdsFrom = checkpoint is null ? null : new TickOrigin(key, checkpoint.Position);
            return work;
        }

        public int Pending(PartitionEngine state) => state.Run.PendingTicks;

        public void Take(GroupPartition<PartitionEngine> partition, ConsumeResult<string?, byte[]> result, GroupProducer producer)
        {
            var work = Current(partition);
            _consumed++;
            if (!_messages.TryParse(result.Message.Value, out var tick, out var error))
            {
                producer.DeadLetter(partition, KafkaBusOptions.DeadLetterTopic, GroupConsumers.DeadLetter(result, error!), result.Offset.Value, error!);
                stats.RejectReason($"{result.Topic}/{result.Partition.Value}@{result.Offset.Value}: {error}");
                return;
            }

            work.Run.ReceivedAt = partition.LastMessage; // stamped when the consumer handed the message over
            work.Run.Process(in tick, result.Offset.Value);
            foreach (var (refused, offset, reason) in work.Run.Refusals)
            {
                producer.DeadLetter(partition, KafkaBusOptions.DeadLetterTopic, GroupConsumers.DeadLetter(partition.Partition, offset, refused, reason), offset, reason);
                stats.RejectReason($"{refused.Symbol}: {reason}");
            }

            work.Run.Refusals.Clear();
            work.LastTickTs = work.Engine.MaxEventTime;
            partition.Dirty = true;
        }

        public bool MovesOnWhenIdle(GroupPartition<PartitionEngine> partition) => partition.State.Engine.MaxEventTime != long.MinValue;

        /// <summary>Closes the windows of a partition that is caught up and quiet, by moving its event time on with the clock.</summary>
        public void MoveOnIdle(GroupPartition<PartitionEngine> partition, TimeSpan quiet)
        {
            partition.State.Run.ReceivedAt = System.Diagnostics.Stopwatch.GetTimestamp(); // the clock's move is what lets windows close
            Current(partition).Engine.AdvanceEventTime(partition.State.LastTickTs + (long)quiet.TotalMilliseconds);
            partition.Dirty = true;
        }

        public void EndOfInput(GroupPartition<PartitionEngine> partition)
        {
            partition.State.Run.ReceivedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            Current(partition).Engine.CloseAll();
            partition.Dirty = true;
        }

        public CheckpointState Collect(GroupPartition<PartitionEngine> partition, StoreBatch batch)
        {
            partition.State.Run.AddTo(batch);
            return partition.State.Save();
        }

        public void Publish(StoreBatch batch, GroupProducer producer)
        {
            if (!options.PublishOutputs)
            {
                return;
            }

            foreach (var bar in batch.Bars)
            {
                producer.Produce(KafkaBusOptions.BarsTopic, new Message<string, byte[]> { Key = $"{bar.Symbol}|{bar.Window}|{bar.WindowStart}", Value = RecordJson.Bar(bar) });
            }

            foreach (var alert in batch.Alerts)
            {
                producer.Produce(KafkaBusOptions.AlertsTopic, new Message<string, byte[]> { Key = alert.Id, Value = RecordJson.Alert(alert) });
            }
        }

        public void Stored(StoreBatch batch, IReadOnlyList<GroupPartition<PartitionEngine>> written, IReadOnlyCollection<GroupPartition<PartitionEngine>> assigned)
        {
            long rejects = 0, late = 0, duplicates = 0;
            foreach (var partition in written)
            {
                rejects += partition.Rejects;
                late += partition.State.Run.NewLate;
                duplicates += partition.State.Run.NewDuplicates;
            }

            _statsBars += batch.Bars.Count;
            _statsAlerts += batch.Alerts.Count;
            _statsLate += late;
            _statsDuplicates += duplicates;
            stats.Rejected(rejects);

            var watermark = long.MinValue;
            long future = 0;
            var held = 0;
            foreach (var partition in assigned)
            {
                var engine = partition.State.Engine;
                if (engine.Watermark != long.MinValue && (watermark == long.MinValue || engine.Watermark < watermark))
                {
                    watermark = engine.Watermark;
                }

                future += engine.RefusedFuture;
                held += engine.Held;
            }

            stats.Set(_consumed, _statsBars, _statsAlerts, _statsLate, _statsDuplicates, watermark, future, held);
            stats.Stored();
        }

        public void Reset(PartitionEngine state) => state.Run.Clear();

        /// <summary>
        /// Gives a restored engine back the trade ids of its dedup horizon, read from the ticks in the store. A
        /// checkpoint leaves them out because they grow with horizon × rate; every tick the engine took is stored
        /// with or before the checkpoint. Ticks of this partition at or after the checkpoint's offset are left out:
        /// a store without transactions may hold them from a write that crashed before its checkpoint, and they are
        /// about to be read again.
        /// </summary>
        private void RestoreTradeIds(WindowEngine engine, TickOrigin checkpoint)
        {
            if (engine.Symbols.Count == 0)
            {
                return;
            }

            // One query for the partition's symbols, in the order the ticks arrived within each symbol.
            var from = engine.TradeIdHorizonStart;
            var query = new TickQuery(From: from == long.MinValue ? null : from, Before: checkpoint) { Symbols = [.. engine.Symbols] };
            var ids = store.QueryTradeIdsAsync(query).GetAsyncEnumerator();
            try
            {
                while (ids.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                {
                    engine.RememberTradeId(ids.Current.Symbol, ids.Current.TradeId, ids.Current.Ts);
                }
            }
            finally
            {
                ids.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        public void Dispose() => _messages.Dispose();
    }
}

using System.Diagnostics;
using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>Settings of a processor; the defaults suit the seed's 10K msg/s.</summary>
public sealed record ProcessorOptions
{
    public static ProcessorOptions Default { get; } = new();

    public string GroupId { get; init; } = KafkaBusOptions.ProcessorGroup;

    /// <summary>Longest a consumed tick waits before its outputs are written and its offset checkpointed.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Ticks per write; a full batch is written at once.</summary>
    public int BatchSize { get; init; } = 200_000;

    /// <summary>
    /// A partition that is caught up and has had no message for this long moves its event time on with the wall
    /// clock, so its last windows close instead of waiting for the next trade.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Treat the topics as bounded input: once every assigned partition is caught up and has been quiet for
    /// <see cref="IdleTimeout"/>, close every window (end of input), write, and stop — for backfills and for
    /// comparing with <c>replay</c>.
    /// </summary>
    public bool DrainWhenIdle { get; init; }

    /// <summary>How long the group waits for a member that stopped answering (a killed process) before its partitions move.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Also publish bars and alerts to the <c>bars</c> and <c>alerts</c> topics.</summary>
    public bool PublishOutputs { get; init; } = true;

    /// <summary>The clock ticks from the future are measured against (the pipeline's future.clock_skew).</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;
}

/// <summary>One partition's consumption, for lag reports.</summary>
public sealed record PartitionLag(string Topic, int Partition, long Position, long HighWatermark, double LagSeconds)
{
    public long LagMessages => Math.Max(0, HighWatermark - Position);
}

/// <summary>
/// The consumer-group processor: reads ticks from <c>stock-prices</c> and <c>crypto-prices</c> as a member of
/// <c>stream-processor</c>, runs one engine per assigned partition, and writes bars, alerts, ticks and counts to
/// the store and the alert bus, exactly once.
/// </summary>
/// <remarks>
/// <para>Exactly-once without Kafka transactions: each partition's engine state and next offset are a
/// <see cref="Checkpoint"/> committed in the same store transaction as the outputs they produced. On assignment a
/// partition resumes from its checkpoint (or from the beginning when the store has none); outputs published before
/// a crash are published again with the same keys (bar key, alert id), which the store upserts and the alert bus
/// de-duplicates. Order of a write: Kafka output topics and dead letters (flushed), the alert bus, then the store
/// transaction, then the advisory offset commit that lag monitors read.</para>
/// <para>One engine per partition: a symbol lives on exactly one partition, so every window is fed by one
/// partition and its watermark is that partition's. An idle partition therefore never holds back another's
/// windows, and the output does not depend on how partitions are spread over processors.</para>
/// <para>The consume loop runs on its own thread and blocks on the store between polls; rebalance callbacks run
/// inside Consume on that thread, which is why writes there are synchronous.</para>
/// </remarks>
public sealed class TickProcessor : IDisposable
{
    private readonly KafkaBusOptions _bus;
    private readonly PipelineDefinition _definition;
    private readonly IMarketStore _store;
    private readonly IAlertBus? _alertBus;
    private readonly ProcessorOptions _options;
    private readonly PipelineStats _stats;
    private readonly Dictionary<TopicPartition, PartitionWork> _partitions = [];
    private readonly TickMessages _messages = new();
    private readonly IProducer<string, byte[]> _outputs;
    private readonly Lock _lagGate = new();
    private IReadOnlyList<PartitionLag> _lag = [];
    private IConsumer<string?, byte[]>? _consumer;
    private long _pendingTicks;
    private long _consumed, _statsBars, _statsAlerts, _statsLate, _statsDuplicates;

    private readonly ILiveObserver? _observer;

    public TickProcessor(KafkaBusOptions bus, PipelineDefinition definition, IMarketStore store, IAlertBus? alertBus, PipelineStats stats, ProcessorOptions? options = null, ILiveObserver? observer = null)
    {
        _observer = observer;
        _bus = bus;
        _definition = definition;
        _store = store;
        _alertBus = alertBus;
        _stats = stats;
        _options = options ?? ProcessorOptions.Default;
        _outputs = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bus.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            CompressionType = CompressionType.Lz4,
            LingerMs = 5,
        }).Build();
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

    /// <summary>Messages sent to the dead-letter topic.</summary>
    public long DeadLetters { get; private set; }

    /// <summary>Set when the processor stopped because <see cref="ProcessorOptions.DrainWhenIdle"/> found all input consumed.</summary>
    public bool Drained { get; private set; }

    /// <summary>Runs until cancelled, then writes what it has, checkpoints and leaves the group.</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        var config = GroupConsumers.Config(_bus, _options.GroupId, _options.SessionTimeout);
        config.FetchMaxBytes = 64 * 1024 * 1024;
        using var consumer = new ConsumerBuilder<string?, byte[]>(config)
            .SetPartitionsAssignedHandler((c, assigned) => Assign(assigned))
            .SetPartitionsRevokedHandler((c, revoked) => Revoke(revoked, flush: true))
            .SetPartitionsLostHandler((c, lost) => Revoke(lost, flush: false))
            .Build();
        _consumer = consumer;
        consumer.Subscribe(KafkaBusOptions.TickTopics);
        _stats.Running = true;
        var flushDue = Stopwatch.StartNew();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is not null && !result.IsPartitionEOF && _partitions.TryGetValue(result.TopicPartition, out var work))
                {
                    Take(work, result);
                }

                if (_pendingTicks >= _options.BatchSize || flushDue.Elapsed >= _options.FlushInterval)
                {
                    if (_options.DrainWhenIdle && AllCaughtUpAndQuiet())
                    {
                        foreach (var partition in _partitions.Values)
                        {
                            partition.Engine!.CloseAll();
                            partition.Dirty = true;
                        }

                        Write(_partitions.Values);
                        Drained = true;
                        break;
                    }

                    AdvanceIdle();
                    Write(_partitions.Values);
                    flushDue.Restart();
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

    private List<TopicPartitionOffset> Assign(List<TopicPartition> assigned)
    {
        var result = new List<TopicPartitionOffset>();
        foreach (var tp in assigned)
        {
            var checkpoint = _store.LoadCheckpointAsync(Key(tp)).AsTask().GetAwaiter().GetResult();
            var work = new PartitionWork(tp, _observer);
            if (checkpoint is null)
            {
                // No checkpoint in this store: nothing of this partition is in it yet, so read it from the start.
                work.Engine = new WindowEngine(_definition, work, _options.WallClock);
                work.NextOffset = Offset.Beginning;
            }
            else
            {
                using var state = new MemoryStream(checkpoint.State);
                work.Engine = WindowEngine.Restore(_definition, work, state, _options.WallClock);
                work.NextOffset = checkpoint.Position;
                work.RejectsBefore = checkpoint.Counts.Rejects;
                RestoreTradeIds(work.Engine, new TickOrigin(work.Key, checkpoint.Position));
            }

            work.SyncCounters();
            work.LastMessage = Stopwatch.GetTimestamp(); // quiet since it was assigned
            _partitions[tp] = work;
            result.Add(new TopicPartitionOffset(tp, work.NextOffset));
        }

        return result;
    }

    /// <summary>
    /// Gives a restored engine back the trade ids of its dedup horizon, read from the ticks in the store. A
    /// checkpoint leaves them out because they grow with horizon × rate; every tick the engine took is stored with
    /// or before the checkpoint. Ticks of this partition at or after the checkpoint's offset are left out: a store
    /// without transactions may hold them from a write that crashed before its checkpoint, and they are about to
    /// be read again.
    /// </summary>
    private void RestoreTradeIds(WindowEngine engine, TickOrigin checkpoint)
    {
        var from = engine.TradeIdHorizonStart;
        foreach (var symbol in engine.Symbols.ToList())
        {
            var ticks = _store.QueryTicksAsync(new TickQuery(symbol, from == long.MinValue ? null : from, null, int.MaxValue, checkpoint)).GetAsyncEnumerator();
            try
            {
                while (ticks.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                {
                    engine.RememberTradeId(symbol, ticks.Current.TradeId, ticks.Current.Ts);
                }
            }
            finally
            {
                ticks.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private void Revoke(List<TopicPartitionOffset> revoked, bool flush)
    {
        var leaving = revoked.Select(r => r.TopicPartition).Where(_partitions.ContainsKey).Select(tp => _partitions[tp]).ToList();
        if (flush)
        {
            Write(leaving);
        }

        foreach (var work in leaving)
        {
            _pendingTicks -= work.Ticks.Count;
            _partitions.Remove(work.Partition);
        }
    }

    private void Take(PartitionWork work, ConsumeResult<string?, byte[]> result)
    {
        if (result.Offset.Value < work.NextOffset.Value)
        {
            // Taken already, by this engine or before the checkpoint it resumed from: around rebalances librdkafka
            // has been seen handing a member such a message again, which taken again counts as a duplicate of itself.
            return;
        }

        work.NextOffset = result.Offset.Value + 1;
        work.LastMessage = Stopwatch.GetTimestamp();
        work.LastMessageTime = result.Message.Timestamp.UnixTimestampMs;
        _consumed++;
        if (!_messages.TryParse(result.Message.Value, out var tick, out var error))
        {
            DeadLetter(result, error!);
            _stats.RejectReason($"{result.Topic}/{result.Partition.Value}@{result.Offset.Value}: {error}");
            work.Rejects++;
            return;
        }

        var taken = work.Ticks.Count;
        work.Engine!.Process(in tick, result.Offset.Value);
        _pendingTicks += work.Ticks.Count - taken;
        foreach (var (refused, offset, reason) in work.Refusals)
        {
            _outputs.Produce(KafkaBusOptions.DeadLetterTopic, GroupConsumers.DeadLetter(work.Partition, offset, refused, reason));
            DeadLetters++;
            work.Rejects++;
            _stats.RejectReason($"{refused.Symbol}: {reason}");
        }

        work.Refusals.Clear();
        work.LastTickTs = work.Engine.MaxEventTime;
        work.Dirty = true;
    }

    private void DeadLetter(ConsumeResult<string?, byte[]> result, string reason)
    {
        _outputs.Produce(KafkaBusOptions.DeadLetterTopic, GroupConsumers.DeadLetter(result, reason));
        DeadLetters++;
    }

    /// <summary>Closes the windows of partitions that are caught up and quiet, by moving their event time on with the clock.</summary>
    private void AdvanceIdle()
    {
        foreach (var work in _partitions.Values)
        {
            var quiet = Stopwatch.GetElapsedTime(work.LastMessage);
            if (quiet >= _options.IdleTimeout && work.Engine!.MaxEventTime != long.MinValue && CaughtUp(work))
            {
                work.Engine.AdvanceEventTime(work.LastTickTs + (long)quiet.TotalMilliseconds);
                work.Dirty = true;
            }
        }
    }

    /// <summary>True when there are partitions and every one is caught up and has been quiet for the idle timeout.</summary>
    private bool AllCaughtUpAndQuiet() =>
        _partitions.Count > 0 && _partitions.Values.All(w => Stopwatch.GetElapsedTime(w.LastMessage) >= _options.IdleTimeout && CaughtUp(w));

    private bool CaughtUp(PartitionWork work) => GroupConsumers.CaughtUp(_consumer!, work.Partition, work.NextOffset);

    /// <summary>Makes the outputs of these partitions durable, then their checkpoints, then commits offsets.</summary>
    private void Write(IEnumerable<PartitionWork> partitions)
    {
        var batch = new StoreBatch();
        var offsets = new List<TopicPartitionOffset>();
        long rejects = 0, late = 0, duplicates = 0;
        foreach (var work in partitions)
        {
            if (!work.Dirty)
            {
                continue;
            }

            batch.Ticks.AddRange(work.Ticks);
            batch.TickOrigins.AddRange(work.Origins);
            batch.Bars.AddRange(work.Bars);
            batch.Alerts.AddRange(work.Alerts);
            rejects += work.Rejects;
            late += work.Engine!.Late - work.LateSeen;
            duplicates += work.Engine.Duplicates - work.DuplicatesSeen;
            using var state = new MemoryStream();
            work.Engine.Save(state, includeTradeIds: false); // the ticks themselves are in the batch: see RestoreTradeIds
            var totals = new PipelineCounts(work.RejectsBefore + work.Rejects, work.Engine.Late, work.Engine.Duplicates);
            batch.Checkpoints.Add(new Checkpoint(work.Key, work.NextOffset.Value, state.ToArray(), totals));
            offsets.Add(new TopicPartitionOffset(work.Partition, work.NextOffset));
        }

        if (batch.Checkpoints.Count == 0)
        {
            RefreshLag();
            return;
        }

        PublishOutputs(batch);
        if (_alertBus is not null)
        {
            foreach (var alert in batch.Alerts)
            {
                _alertBus.PublishAsync(alert).AsTask().GetAwaiter().GetResult();
            }

            _alertBus.FlushAsync().AsTask().GetAwaiter().GetResult();
        }

        _store.WriteAsync(batch).AsTask().GetAwaiter().GetResult();

        foreach (var work in partitions)
        {
            if (work.Dirty)
            {
                _pendingTicks -= work.Ticks.Count;
                work.Clear();
                work.SyncCounters();
            }
        }

        UpdateStats(batch, new PipelineCounts(rejects, late, duplicates));
        try
        {
            _consumer?.Commit(offsets);
        }
        catch (KafkaException)
        {
            // Advisory only (lag monitoring): the store's checkpoint is what resumption reads.
        }

        RefreshLag();
    }

    private void PublishOutputs(StoreBatch batch)
    {
        if (_options.PublishOutputs)
        {
            foreach (var bar in batch.Bars)
            {
                _outputs.Produce(KafkaBusOptions.BarsTopic, new Message<string, byte[]> { Key = $"{bar.Symbol}|{bar.Window}|{bar.WindowStart}", Value = RecordJson.Bar(bar) });
            }

            foreach (var alert in batch.Alerts)
            {
                _outputs.Produce(KafkaBusOptions.AlertsTopic, new Message<string, byte[]> { Key = alert.Id, Value = RecordJson.Alert(alert) });
            }
        }

        // Dead letters and outputs are delivered before the checkpoint that moves past their input.
        while (_outputs.Flush(TimeSpan.FromSeconds(30)) > 0)
        {
            // Kafka is unreachable: keep trying rather than checkpoint past outputs that were never delivered.
        }
    }

    private void UpdateStats(StoreBatch batch, PipelineCounts counted)
    {
        _statsBars += batch.Bars.Count;
        _statsAlerts += batch.Alerts.Count;
        _statsLate += counted.Late;
        _statsDuplicates += counted.Duplicates;
        _stats.Rejected(counted.Rejects);

        _stats.Set(
            _consumed,
            _statsBars,
            _statsAlerts,
            _statsLate,
            _statsDuplicates,
            _partitions.Values.Select(p => p.Engine!.Watermark).Where(w => w != long.MinValue).DefaultIfEmpty(long.MinValue).Min(),
            _partitions.Values.Sum(p => p.Engine!.RefusedFuture),
            _partitions.Values.Sum(p => p.Engine!.Held));
        _stats.Stored();
    }

    private void RefreshLag()
    {
        if (_consumer is null)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lag = new List<PartitionLag>();
        foreach (var work in _partitions.Values)
        {
            lag.Add(GroupConsumers.Lag(_consumer, work.Partition, work.NextOffset, work.LastMessageTime, now));
        }

        lock (_lagGate)
        {
            _lag = lag;
        }
    }

    private static string Key(TopicPartition tp) => $"kafka:{tp.Topic}:{tp.Partition.Value}";

    public void Dispose()
    {
        _outputs.Flush(TimeSpan.FromSeconds(10));
        _outputs.Dispose();
        _messages.Dispose();
    }

    /// <summary>One assigned partition: its engine, what it produced since the last write, and where it is.</summary>
    private sealed class PartitionWork(TopicPartition partition, ILiveObserver? observer) : IEngineOutput
    {
        public TopicPartition Partition { get; } = partition;

        /// <summary>The partition's checkpoint key.</summary>
        public string Key { get; } = TickProcessor.Key(partition);

        public WindowEngine? Engine { get; set; }

        public Offset NextOffset { get; set; }

        public List<Tick> Ticks { get; } = [];

        /// <summary>Each tick's offset, in the order of <see cref="Ticks"/>.</summary>
        public List<TickOrigin> Origins { get; } = [];

        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        /// <summary>Rejects since the last write.</summary>
        public long Rejects { get; set; }

        /// <summary>Rejects up to the last write (or the checkpoint it resumed from): the checkpoint carries totals.</summary>
        public long RejectsBefore { get; set; }

        public long LateSeen { get; private set; }

        public long DuplicatesSeen { get; private set; }

        /// <summary>Stopwatch timestamp of the last message, or of the assignment before the first.</summary>
        public long LastMessage { get; set; }

        /// <summary>Kafka timestamp (ms) of the last message, for lag in seconds.</summary>
        public long LastMessageTime { get; set; }

        /// <summary>The highest event time when the last message arrived: an idle partition advances from there.</summary>
        public long LastTickTs { get; set; }

        public bool Dirty { get; set; }

        public void OnBar(Bar bar)
        {
            Bars.Add(bar);
            observer?.OnClosedBar(bar);
        }

        public void OnAlert(Alert alert) => Alerts.Add(alert);

        public void OnLate(in Tick tick, long watermark)
        {
            // Counted by the engine; the tick itself is stored with the others.
        }

        public void OnTick(in Tick tick, long position)
        {
            Ticks.Add(tick);
            Origins.Add(new TickOrigin(Key, position));
            observer?.OnTick(in tick);
        }

        /// <summary>Ticks the engine refused while taking the last message, with their offsets, for the dead-letter topic.</summary>
        public List<(Tick Tick, long Offset, string Reason)> Refusals { get; } = [];

        public void OnReject(in Tick tick, long position, string reason) => Refusals.Add((tick, position, reason));

        public void SyncCounters()
        {
            LateSeen = Engine!.Late;
            DuplicatesSeen = Engine.Duplicates;
        }

        public void Clear()
        {
            Ticks.Clear();
            Origins.Clear();
            Bars.Clear();
            Alerts.Clear();
            RejectsBefore += Rejects;
            Rejects = 0;
            Dirty = false;
        }
    }
}

using System.Collections.Concurrent;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Confluent.Kafka;

namespace Breadboard.Kafka.Tests;

/// <summary>What a write did, in order, across the fakes of one test.</summary>
internal sealed class Journal
{
    public ConcurrentQueue<string> Events { get; } = new();

    public void Add(string e) => Events.Enqueue(e);
}

/// <summary>A store that keeps checkpoints and counts writes, and can fail or hold a write at the door.</summary>
internal sealed class RecordingStore(Journal journal) : IMarketStore
{
    private readonly ConcurrentDictionary<string, Checkpoint> _checkpoints = new();
    private int _writes;

    /// <summary>Called at every write before it counts; throwing from it fails the write.</summary>
    public Func<StoreBatch, ValueTask>? OnWrite { get; set; }

    public int Writes => Volatile.Read(ref _writes);

    public List<Alert> Alerts { get; } = [];

    public List<Tick> Ticks { get; } = [];

    public List<TickOrigin> Origins { get; } = [];

    public List<Bar> Bars { get; } = [];

    public Checkpoint? this[string key] => _checkpoints.TryGetValue(key, out var c) ? c : null;

    public void Put(Checkpoint checkpoint) => _checkpoints[checkpoint.Key] = checkpoint;

    public async ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default)
    {
        if (OnWrite is { } onWrite)
        {
            await onWrite(batch);
        }

        journal.Add($"store {batch.Alerts.Count} alerts, {batch.Checkpoints.Count} checkpoints");
        Alerts.AddRange(batch.Alerts);
        Ticks.AddRange(batch.Ticks);
        Origins.AddRange(batch.TickOrigins);
        Bars.AddRange(batch.Bars);
        foreach (var checkpoint in batch.Checkpoints)
        {
            _checkpoints[checkpoint.Key] = checkpoint;
        }

        Interlocked.Increment(ref _writes);
    }

    public ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult(this[key]);

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default)
    {
        journal.Add($"query ticks of {string.Join(",", [.. query.Symbol is null ? [] : new[] { query.Symbol }, .. query.Symbols ?? []])}");
        return Ticks.Where(t => t.Symbol == query.Symbol || (query.Symbols?.Contains(t.Symbol) ?? false)).ToAsyncEnumerable();
    }

    public IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>An alert bus that records what it was given, and can fail.</summary>
internal sealed class RecordingBus(Journal journal) : IAlertBus
{
    /// <summary>Called at every publish before it counts; throwing from it fails the publish.</summary>
    public Action<Alert>? OnPublish { get; set; }

    public List<Alert> Published { get; } = [];

    public ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        OnPublish?.Invoke(alert);
        Published.Add(alert);
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        journal.Add($"bus flushed {Published.Count} alerts");
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// A role whose messages are words: each word taken becomes an alert (so the bus and the store see it) and, with
/// <see cref="OutputTopic"/>, a message produced there; the word "bad" is dead-lettered to <see cref="DeadLetterTopic"/>.
/// </summary>
internal sealed class WordRole(Journal journal) : IGroupRole<List<string>>
{
    public const string DeadLetterTopic = "words-dlq";

    public string Name => "words";

    public string CheckpointPrefix => "words";

    public IReadOnlyList<string> Topics { get; init; } = ["words"];

    public string? OutputTopic { get; init; }

    /// <summary>Messages the role was handed, by offset.</summary>
    public List<long> TakenOffsets { get; } = [];

    public List<TopicPartition> Opened { get; } = [];

    public void Configure(ConsumerConfig config)
    {
    }

    public void Configure(ProducerConfig config)
    {
    }

    public List<string> Open(TopicPartition partition, string key, Checkpoint? checkpoint)
    {
        Opened.Add(partition);
        return [];
    }

    public int Pending(List<string> state) => state.Count;

    public void Take(GroupPartition<List<string>> partition, ConsumeResult<string?, byte[]> result, GroupProducer producer)
    {
        TakenOffsets.Add(result.Offset.Value);
        var word = Encoding.UTF8.GetString(result.Message.Value);
        if (word == "bad")
        {
            producer.DeadLetter(partition, DeadLetterTopic, GroupConsumers.DeadLetter(result, "a bad word"), result.Offset.Value, "a bad word");
            return;
        }

        partition.State.Add(word);
        partition.Dirty = true;
    }

    public bool MovesOnWhenIdle(GroupPartition<List<string>> partition) => false;

    public void MoveOnIdle(GroupPartition<List<string>> partition, TimeSpan quiet)
    {
    }

    public void EndOfInput(GroupPartition<List<string>> partition) => journal.Add($"end of input {partition.Key}");

    public CheckpointState Collect(GroupPartition<List<string>> partition, StoreBatch batch)
    {
        foreach (var word in partition.State)
        {
            batch.Alerts.Add(new Alert(word, "words", word, "1m", 0, 60_000, 1, 1, 60_000));
        }

        return new CheckpointState([(byte)partition.State.Count], 0, 0);
    }

    public void Publish(StoreBatch batch, GroupProducer producer)
    {
        if (OutputTopic is null)
        {
            return;
        }

        foreach (var alert in batch.Alerts)
        {
            producer.Produce(OutputTopic, new Message<string, byte[]> { Key = alert.Id, Value = Encoding.UTF8.GetBytes(alert.Id) });
        }

        journal.Add($"produced {batch.Alerts.Count}");
    }

    public void Stored(StoreBatch batch, IReadOnlyList<GroupPartition<List<string>>> written, IReadOnlyCollection<GroupPartition<List<string>>> assigned) =>
        journal.Add($"stored {written.Count} partitions");

    public void Reset(List<string> state) => state.Clear();
}

internal static class Messages
{
    public static ConsumeResult<string?, byte[]> At(TopicPartition partition, long offset, string value, long timestampMs = 1_000) => At(partition, offset, Encoding.UTF8.GetBytes(value), timestampMs);

    public static ConsumeResult<string?, byte[]> At(TopicPartition partition, long offset, byte[] value, long timestampMs = 1_000) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset(partition, offset),
        Message = new Message<string?, byte[]> { Key = "k", Value = value, Timestamp = new Timestamp(timestampMs, TimestampType.CreateTime) },
    };
}

internal static class Poll
{
    /// <summary>Waits until <paramref name="condition"/> holds, checking every 20 ms, failing after <paramref name="seconds"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {seconds} s waiting for {what}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}

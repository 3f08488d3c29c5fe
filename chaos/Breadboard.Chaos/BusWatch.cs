using System.Buffers.Binary;
using System.Collections.Concurrent;
using Breadboard.Kafka;
using Confluent.Kafka;

namespace Breadboard.Chaos;

/// <summary>
/// Reads the tick topics alongside the processors, through the whole run, and counts per partition the messages
/// that repeat a file line already there: the lines the bus holds twice.
/// </summary>
/// <remarks>
/// librdkafka's mock cluster de-duplicates a producer's retried batches only for a transactional producer
/// (<c>src/rdkafka_mock.c</c>, <c>rd_kafka_mock_validate_records</c> returns before its sequence checks when the
/// request has no TransactionalId); a real broker does it for every idempotent producer. So when a mock broker goes
/// down with a batch of ingest's in flight, the retry may be appended a second time, and the processors rightly
/// count its ticks as duplicates that a replay of the file never sees. Within a partition a file's lines arrive in
/// increasing order, so a line at or below the highest one seen there is a repeat. Read as the run goes, not at its
/// end: by then the mock's retention (5 MiB a partition) has deleted the first minutes.
/// </remarks>
internal sealed class BusWatch : IDisposable
{
    private readonly IConsumer<Ignore, Ignore> _consumer;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TopicPartition, long> _repeats = new();
    private readonly Dictionary<TopicPartition, long> _highest = [];
    private readonly ConcurrentDictionary<TopicPartition, long> _next = new();
    private long _messages;

    public BusWatch(string bootstrap, IEnumerable<string> topics, int partitions)
    {
        _consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"chaos-watch-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            ConsumeResultFields = "topic,headers",
        })
            .SetLogHandler((_, _) => { }) // a broker down is part of the run; the processors' logs tell it
            .SetErrorHandler((_, _) => { })
            .Build();
        _consumer.Assign(topics.SelectMany(t => Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(t, p, Offset.Beginning))));
        _thread = new Thread(Run) { IsBackground = true, Name = "chaos bus watch" };
        _thread.Start();
    }

    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>Lines held twice, by partition (only those with any).</summary>
    public IReadOnlyDictionary<TopicPartition, long> Repeats => _repeats;

    public long TotalRepeats => _repeats.Values.Sum();

    /// <summary>Reads until the partitions' ends as they are now, then stops.</summary>
    public void Finish(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var ends = _consumer.Assignment.Select(tp => (tp, _consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value)).ToList();
        while (DateTime.UtcNow < deadline && ends.Exists(e => e.Value > 0 && _next.GetValueOrDefault(e.tp) < e.Value))
        {
            Thread.Sleep(200);
        }

        _stop.Cancel();
        _thread.Join();
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<Ignore, Ignore>? result;
            try
            {
                result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException)
            {
                continue; // a broker down: the watch waits as the processors do
            }

            if (result?.Message is null)
            {
                continue;
            }

            _next[result.TopicPartition] = result.Offset.Value + 1;
            if (result.Message.Headers is not { } headers || !headers.TryGetLastBytes(SourceProgress.LineHeader, out var bytes))
            {
                continue;
            }

            Interlocked.Increment(ref _messages);
            var line = BinaryPrimitives.ReadInt64BigEndian(bytes);
            if (_highest.TryGetValue(result.TopicPartition, out var highest) && line <= highest)
            {
                _repeats.AddOrUpdate(result.TopicPartition, 1, (_, n) => n + 1);
            }
            else
            {
                _highest[result.TopicPartition] = line;
            }
        }
    }
}

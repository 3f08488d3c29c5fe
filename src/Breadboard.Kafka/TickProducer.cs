using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>
/// Publishes ticks to <c>stock-prices</c> / <c>crypto-prices</c>, keyed by symbol so each symbol stays in order on
/// one partition. Idempotent with acks=all, so retries never duplicate; lz4 batches.
/// </summary>
/// <remarks>
/// When librdkafka's local queue is full, <see cref="Produce"/> waits for deliveries to drain it (backpressure)
/// rather than dropping. Every delivery error is counted and the last one kept; <see cref="Flush"/> on shutdown
/// waits for everything in flight.
/// </remarks>
public sealed class TickProducer : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly TickMessages _messages = new();
    private readonly Action<DeliveryReport<string, byte[]>> _onDelivery;
    private long _produced, _delivered, _failed, _deadLettered;
    private string? _lastError;

    public TickProducer(KafkaBusOptions options, Action<ProducerConfig>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            CompressionType = CompressionType.Lz4,
            // 50 ms fills batches of hundreds of ticks per partition at 100K/s (fewer requests for brokers and
            // fetches for consumers) and stays far inside the 1 s lag target: see docs/PERFORMANCE.md.
            LingerMs = 50,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 200_000,
            QueueBufferingMaxKbytes = 256 * 1024,
            DeliveryReportFields = "status",
            // Pinned (it is librdkafka's default): SourceProgress works out a symbol's partition the same way.
            Partitioner = Partitioner.ConsistentRandom,
        };
        configure?.Invoke(config);
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) =>
            {
                // Fatal errors stop the producer; transient ones librdkafka retries by itself.
                if (error.IsFatal)
                {
                    Volatile.Write(ref _lastError, OutsideText.ForDisplay(error.Reason));
                }
            })
            .Build();
        _onDelivery = OnDelivery;
    }

    public long Produced => Interlocked.Read(ref _produced);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Lines queued to the dead-letter topic (<see cref="DeadLetter"/>); their deliveries count in <see cref="Delivered"/>.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>Messages Kafka refused for good after librdkafka's retries.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Queues one tick; blocks while the local queue is full.</summary>
    /// <param name="headers">The tick's source and line, from a file (<see cref="SourceProgress.HeadersFor"/>); none from a feed.</param>
    public void Produce(in Tick tick, Headers? headers = null)
    {
        var message = new Message<string, byte[]> { Key = tick.Symbol, Value = _messages.Serialize(in tick).ToArray(), Headers = headers };
        var topic = KafkaBusOptions.TopicOf(tick.AssetClass);
        while (true)
        {
            try
            {
                _producer.Produce(topic, message, _onDelivery);
                Interlocked.Increment(ref _produced);
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50)); // backpressure: let deliveries free the queue
            }
        }
    }

    /// <summary>Queues a line of <paramref name="sourceId"/> that could not be read as a tick to the dead-letter topic, with the reason.</summary>
    public void DeadLetter(string sourceId, long line, string raw, string reason)
    {
        var headers = SourceProgress.HeadersFor(Encoding.UTF8.GetBytes(sourceId), line);
        headers.Add("reason", Encoding.UTF8.GetBytes(reason));
        var message = new Message<string, byte[]> { Key = sourceId, Value = Encoding.UTF8.GetBytes(raw), Headers = headers };
        while (true)
        {
            try
            {
                _producer.Produce(KafkaBusOptions.DeadLetterTopic, message, _onDelivery);
                Interlocked.Increment(ref _deadLettered);
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>Waits for every queued message to be delivered or to fail; returns how many are still in flight.</summary>
    public int Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        _producer.Dispose();
        _messages.Dispose();
    }

    private void OnDelivery(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            Volatile.Write(ref _lastError, $"{report.Topic}: {OutsideText.ForDisplay(report.Error.Reason)}");
        }
        else
        {
            Interlocked.Increment(ref _delivered);
        }
    }
}

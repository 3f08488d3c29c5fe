using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Breadboard.Kafka;

/// <summary>A group member's producer of outputs and dead letters, delivered in full before a write moves a checkpoint.</summary>
internal sealed class GroupProducer : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly ILogger _logger;
    private readonly string _role;
    private readonly TimeSpan _waitLogInterval;
    private long _deadLetters;

    public GroupProducer(ProducerConfig config, string role, ILogger logger, TimeSpan waitLogInterval)
    {
        _role = role;
        _logger = logger;
        _waitLogInterval = waitLogInterval;
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((p, error) => _logger.OnClientError(_role, p.Name, error))
            .SetLogHandler((p, message) => _logger.OnClientLog(_role, p.Name, message))
            .Build();
    }

    /// <summary>Messages sent to a dead-letter topic.</summary>
    public long DeadLetters => Volatile.Read(ref _deadLetters);

    public void Produce(string topic, Message<string, byte[]> message) => _producer.Produce(topic, message);

    /// <summary>Sets a message aside on a dead-letter topic, as a reject of <paramref name="partition"/>.</summary>
    /// <param name="offset">The source offset, for the log (the headers carry it too).</param>
    public void DeadLetter<TState>(GroupPartition<TState> partition, string topic, Message<string, byte[]> message, long offset, string reason)
    {
        _producer.Produce(topic, message);
        Interlocked.Increment(ref _deadLetters);
        partition.Rejects++;
        _logger.DeadLetter(_role, partition.Partition, offset, topic, reason);
    }

    /// <summary>Waits until everything produced is delivered, however long Kafka is away; says so every few seconds while it waits.</summary>
    /// <remarks>Never gives up: a checkpoint must not move past outputs or dead letters that were never delivered.</remarks>
    public void Deliver()
    {
        var step = _waitLogInterval < TimeSpan.FromSeconds(1) ? _waitLogInterval : TimeSpan.FromSeconds(1);
        var since = Stopwatch.GetTimestamp();
        var logged = TimeSpan.Zero;
        int undelivered;
        while ((undelivered = _producer.Flush(step)) > 0)
        {
            var waited = Stopwatch.GetElapsedTime(since);
            if (waited - logged >= _waitLogInterval)
            {
                _logger.DeliveryWaiting(_role, waited.TotalSeconds, undelivered);
                logged = waited;
            }
        }

        if (logged > TimeSpan.Zero)
        {
            var waited = Stopwatch.GetElapsedTime(since).TotalSeconds;
            _logger.WaitOver(_role, "Kafka delivery", waited);
        }
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}

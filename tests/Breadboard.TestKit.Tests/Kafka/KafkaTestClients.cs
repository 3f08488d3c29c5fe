using System.Diagnostics;
using Confluent.Kafka;

namespace Breadboard.TestKit.Tests.Kafka;

/// <summary>Ordinary Confluent.Kafka clients set up the way the tests against the mock cluster need them.</summary>
internal static class KafkaTestClients
{
    public static string TopicName(string purpose) => $"testkit-{purpose}-{Guid.NewGuid():N}";

    public static string GroupName(string purpose) => $"testkit-{purpose}-{Guid.NewGuid():N}";

    public static IProducer<string, string> IdempotentProducer(string bootstrapServers) =>
        new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            // A broker taken down comes back within a second or two; don't let backoff grow past that.
            ReconnectBackoffMaxMs = 1000,
        })
        .SetLogHandler(Log)
        .Build();

    public static IConsumer<string, string> Consumer(string bootstrapServers, string group) =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            // The mock holds a rejoining group for about a session timeout; keep it short.
            SessionTimeoutMs = 3000,
            HeartbeatIntervalMs = 1000,
        })
        .SetLogHandler(Log)
        .Build();

    /// <summary>Consumes until <paramref name="count"/> messages arrived or <paramref name="timeout"/> passed.</summary>
    public static List<ConsumeResult<string, string>> ConsumeMany(IConsumer<string, string> consumer, int count, TimeSpan timeout)
    {
        var results = new List<ConsumeResult<string, string>>(count);
        var clock = Stopwatch.StartNew();
        while (results.Count < count && clock.Elapsed < timeout)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null)
            {
                results.Add(result);
            }
        }

        return results;
    }

    /// <summary>Sum of the partitions' high watermarks: how many records the log holds.</summary>
    public static long RecordsInLog(IConsumer<string, string> consumer, string topic, int partitions)
    {
        long total = 0;
        for (var p = 0; p < partitions; p++)
        {
            total += consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value;
        }

        return total;
    }

    public static void Report(string message) => TestContext.Current.TestOutputHelper?.WriteLine(message);

    private static void Log<T>(T client, LogMessage message)
    {
        // Connection refusals while a broker is down are expected; only keep errors, on stderr like the default handler.
        if (message.Level <= SyslogLevel.Error)
        {
            Console.Error.WriteLine($"{message.Level} {message.Facility} {message.Name}: {message.Message}");
        }
    }
}

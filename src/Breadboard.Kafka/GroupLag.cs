using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>One partition's consumption, for lag reports.</summary>
public sealed record PartitionLag(string Topic, int Partition, long Position, long HighWatermark, double LagSeconds)
{
    public long LagMessages => Math.Max(0, HighWatermark - Position);
}

/// <summary>Reads a consumer group's lag from outside the group: committed offsets against high watermarks.</summary>
public static class GroupLag
{
    /// <summary>
    /// Per tick-topic partition: the group's committed offset, the high watermark, and how old the first unread
    /// message is (the lag in seconds; 0 when caught up).
    /// </summary>
    public static IReadOnlyList<PartitionLag> Read(KafkaBusOptions bus, string groupId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(bus);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bus.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(timeout);
        var partitions = metadata.Topics
            .Where(t => KafkaBusOptions.TickTopics.Contains(t.Topic) && t.Error.Code == ErrorCode.NoError)
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .OrderBy(tp => tp.Topic, StringComparer.Ordinal).ThenBy(tp => tp.Partition.Value)
            .ToList();

        // A consumer with the group's id reads its committed offsets without joining the group.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bus.BootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
        }).Build();
        var committed = consumer.Committed(partitions, timeout).ToDictionary(c => c.TopicPartition, c => c.Offset);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var result = new List<PartitionLag>();
        foreach (var tp in partitions)
        {
            var watermarks = consumer.QueryWatermarkOffsets(tp, timeout);
            var position = committed.TryGetValue(tp, out var c) && c.Value >= 0 ? c.Value : watermarks.Low.Value;
            var seconds = position < watermarks.High.Value ? AgeOfMessageAt(consumer, tp, position, now, timeout) : 0;
            result.Add(new PartitionLag(tp.Topic, tp.Partition.Value, position, watermarks.High.Value, seconds));
        }

        return result;
    }

    private static double AgeOfMessageAt(IConsumer<Ignore, Ignore> consumer, TopicPartition tp, long offset, long now, TimeSpan timeout)
    {
        consumer.Assign(new TopicPartitionOffset(tp, offset));
        try
        {
            var message = consumer.Consume(timeout);
            return message is null ? 0 : Math.Max(0, (now - message.Message.Timestamp.UnixTimestampMs) / 1000.0);
        }
        finally
        {
            consumer.Unassign();
        }
    }
}

using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>What the consumer-group roles (processor, sink) share: their consumer settings, dead-letter headers, and how they tell lag.</summary>
internal static class GroupConsumers
{
    /// <summary>
    /// A group member that stores its positions itself: no auto commit (offsets are advisory, for lag monitors),
    /// cooperative rebalancing, a session timeout that lets a killed member's partitions move quickly.
    /// </summary>
    public static ConsumerConfig Config(KafkaBusOptions bus, string groupId, TimeSpan sessionTimeout) => new()
    {
        BootstrapServers = bus.BootstrapServers,
        GroupId = groupId,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        // A member assigns its partitions at the store's checkpoints (or at the beginning), so a reset happens only
        // when a checkpoint's offset is no longer on the broker: retention deleted messages the group never read.
        // librdkafka would move on to the log start without a word to us; as an error the member counts what was
        // lost and says so (GroupMember.SkipLost).
        AutoOffsetReset = AutoOffsetReset.Error,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        SessionTimeoutMs = (int)sessionTimeout.TotalMilliseconds,
        HeartbeatIntervalMs = (int)Math.Max(100, sessionTimeout.TotalMilliseconds / 3),
        MaxPollIntervalMs = 300_000,

        // A member stops taking messages while it writes a batch (up to a second); librdkafka stops fetching a
        // partition whose local queue holds queued.min.messages (100K by default) and then waits
        // fetch.queue.backoff.ms (1 s by default) before it looks again, so after every write the member found its
        // queue drained and waited for fetches: 73–88K ticks/s draining a backlog on the mock cluster, 100–140K
        // with these (docs/PERFORMANCE.md). queued.max.messages.kbytes (64 MB) still bounds the memory.
        QueuedMinMessages = 1_000_000,
        FetchQueueBackoffMs = 20,

        // No role reads the headers of what it consumes; left out, Confluent.Kafka does not build a Headers object
        // (and ask librdkafka for them) on every message. Topic and timestamp are read: partition lookup, lag.
        ConsumeResultFields = "topic,timestamp",
    };

    /// <summary>The message as it came, with why it was set aside and where it came from.</summary>
    public static Message<string, byte[]> DeadLetter(ConsumeResult<string?, byte[]> result, string reason) => new()
    {
        Key = result.Message.Key ?? "",
        Value = result.Message.Value ?? [],
        Headers = DeadLetterHeaders(reason, result.TopicPartition, result.Offset.Value),
    };

    /// <summary>
    /// A dead letter for a tick the engine refused, which may have been held since its own message went by: the
    /// tick as a message of the current schema, with the same headers as <see cref="DeadLetter(ConsumeResult{string?, byte[]}, string)"/>.
    /// </summary>
    public static Message<string, byte[]> DeadLetter(TopicPartition source, long offset, in Core.Model.Tick tick, string reason) => new()
    {
        Key = tick.Symbol,
        Value = Encoding.UTF8.GetBytes("{\"v\":" + TickMessages.SchemaVersion.ToString(CultureInfo.InvariantCulture) + "," + Core.Codec.TickJson.ToJson(in tick)[1..]),
        Headers = DeadLetterHeaders(reason, source, offset),
    };

    private static Headers DeadLetterHeaders(string reason, TopicPartition source, long offset) => new()
    {
        { "reason", Encoding.UTF8.GetBytes(reason) },
        { "source-topic", Encoding.UTF8.GetBytes(source.Topic) },
        { "source-partition", Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
        { "source-offset", Encoding.UTF8.GetBytes(offset.ToString(CultureInfo.InvariantCulture)) },
    };

    /// <summary>Whether a partition whose next offset is <paramref name="next"/> has reached its high watermark.</summary>
    public static bool CaughtUp(IConsumer<string?, byte[]> consumer, TopicPartition partition, Offset next)
    {
        var high = consumer.GetWatermarkOffsets(partition).High;
        if (high == Offset.Unset)
        {
            // Nothing fetched yet (an empty partition, say): ask the broker.
            high = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5)).High;
        }

        var position = next.Value >= 0 ? next.Value : consumer.Position(partition).Value;
        return CaughtUp(high.Value, position);
    }

    /// <summary>Whether a consumer at <paramref name="position"/> (negative: unknown) has reached the high watermark <paramref name="high"/>.</summary>
    public static bool CaughtUp(long high, long position) => high == 0 || (position >= 0 && position >= high);

    /// <summary>A partition's lag: messages behind its high watermark, and seconds since the last message taken while behind.</summary>
    public static PartitionLag Lag(IConsumer<string?, byte[]> consumer, TopicPartition partition, Offset next, long lastMessageTime, long nowMs) =>
        Lag(partition, next, consumer.GetWatermarkOffsets(partition).High.Value, lastMessageTime, nowMs);

    /// <summary>A partition's lag given its high watermark (negative when not known yet).</summary>
    public static PartitionLag Lag(TopicPartition partition, Offset next, long high, long lastMessageTime, long nowMs)
    {
        var position = next.Value < 0 ? 0 : next.Value;
        var behind = high > position;
        return new PartitionLag(partition.Topic, partition.Partition.Value, position, Math.Max(high, position), behind && lastMessageTime > 0 ? Math.Max(0, (nowMs - lastMessageTime) / 1000.0) : 0);
    }
}

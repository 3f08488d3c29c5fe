using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>
/// How far a file's lines are already on the tick topics, so that an <c>ingest</c> restarted after a crash
/// publishes each line exactly once.
/// </summary>
/// <remarks>
/// <para>Each tick from a file carries two headers: the source's id and its line number. The producer is idempotent
/// and keyed by symbol, so within a partition the lines of one source arrive in order and without gaps: if line
/// <c>n</c> is in its partition, every earlier line of that partition is too. On a restart the last line of the
/// source in each partition is read back from the partition's end, and a line is published again only when it is
/// past the last line of the partition its symbol goes to. Rejected lines go to the dead-letter topic keyed by the
/// source's id, so they too are in order on one partition.</para>
/// <para>That needs the partition of a symbol without producing it: the producer pins librdkafka's
/// <c>consistent_random</c> partitioner, which is <c>crc32(key) % partitions</c> for a non-empty key
/// (librdkafka <c>src/rdkafka_msg.c</c>, <c>rd_kafka_msg_partitioner_consistent</c>, unsigned modulo), and every
/// message of the source read back is checked against it, so a cluster partitioned otherwise is refused rather
/// than resumed wrongly.</para>
/// </remarks>
public sealed class SourceProgress
{
    /// <summary>Header with the id of the source a tick came from.</summary>
    public const string SourceHeader = "breadboard-source";

    /// <summary>Header with the tick's line in its source (8 bytes, big-endian).</summary>
    public const string LineHeader = "breadboard-line";

    // A partition's end is read back in growing steps until a message of the source is found; other producers'
    // messages in between only cost reading them. Past this many a partition is refused rather than read whole.
    private const long MaxScan = 20_000_000;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="ReadAsync"/> waits for the cluster to answer before it gives up.</summary>
    private static readonly TimeSpan ReadPatience = TimeSpan.FromSeconds(30);

    private readonly Dictionary<(string Topic, int Partition), long> _lastLines;
    private readonly Dictionary<string, int> _partitions;

    private SourceProgress(Dictionary<(string, int), long> lastLines, Dictionary<string, int> partitions)
    {
        _lastLines = lastLines;
        _partitions = partitions;
    }

    /// <summary>The highest line of the source found on any partition; 0 when none is there.</summary>
    public long HighestLine => _lastLines.Count == 0 ? 0 : _lastLines.Values.Max();

    /// <summary>The partition librdkafka's default partitioner gives a non-empty key.</summary>
    public static int PartitionOf(string key, int partitions)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        var length = Encoding.UTF8.GetBytes(key, bytes);
        return (int)(Crc32.HashToUInt32(bytes[..length]) % (uint)partitions);
    }

    /// <summary>The two headers of a tick from line <paramref name="line"/> of <paramref name="sourceId"/>.</summary>
    public static Headers HeadersFor(byte[] sourceId, long line)
    {
        var lineBytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(lineBytes, line);
        return [new Header(SourceHeader, sourceId), new Header(LineHeader, lineBytes)];
    }

    /// <summary>Whether the tick of <paramref name="line"/> is already on its topic.</summary>
    public bool Published(Tick tick, long line)
    {
        var topic = KafkaBusOptions.TopicOf(tick.AssetClass);
        if (!_partitions.TryGetValue(topic, out var count) || string.IsNullOrEmpty(tick.Symbol))
        {
            return false;
        }

        return _lastLines.TryGetValue((topic, PartitionOf(tick.Symbol, count)), out var last) && line <= last;
    }

    /// <summary>Whether the rejected line <paramref name="line"/> is already on the dead-letter topic.</summary>
    public bool RejectPublished(string sourceId, long line) =>
        _partitions.TryGetValue(KafkaBusOptions.DeadLetterTopic, out var count)
        && _lastLines.TryGetValue((KafkaBusOptions.DeadLetterTopic, PartitionOf(sourceId, count)), out var last)
        && line <= last;

    /// <summary>Reads the last line of <paramref name="sourceId"/> on each partition of the tick topics and the dead-letter topic.</summary>
    /// <remarks>A broker that is down (or a partition without a leader) is waited for, up to <see cref="ReadPatience"/>:
    /// a restarted <c>ingest</c> meets the cluster in whatever state the outage that stopped it left.</remarks>
    /// <exception cref="KafkaSetupException">The cluster does not answer, or a message of the source is on a partition its key does not map to.</exception>
    public static async Task<SourceProgress> ReadAsync(KafkaBusOptions options, string sourceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(sourceId);
        var id = Encoding.UTF8.GetBytes(sourceId);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await Task.Run(() => Read(options, id, cancellationToken), cancellationToken);
            }
            catch (KafkaSetupException e) when (e.InnerException is KafkaException { Error.IsFatal: false } && clock.Elapsed < ReadPatience)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    private static SourceProgress Read(KafkaBusOptions options, byte[] sourceId, CancellationToken cancellationToken)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = $"breadboard-resume-{Guid.NewGuid():N}", // required by the client; nothing is committed
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            SocketTimeoutMs = 10_000,
            // Everything read is already there; librdkafka's mock broker would hold each fetch this long anyway.
            FetchWaitMaxMs = 20,
        };
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.BootstrapServers, SocketTimeoutMs = 10_000 }).Build();
        var lastLines = new Dictionary<(string, int), long>();
        var partitions = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var topic in (string[])[.. KafkaBusOptions.TickTopics, KafkaBusOptions.DeadLetterTopic])
            {
                var metadata = admin.GetMetadata(topic, ReadTimeout).Topics.Single();
                if (metadata.Error.IsError || metadata.Partitions.Count == 0)
                {
                    continue; // no topic yet: nothing of the source is on it
                }

                partitions[topic] = metadata.Partitions.Count;
                foreach (var partition in metadata.Partitions)
                {
                    var where = new TopicPartition(topic, partition.PartitionId);
                    if (LastLine(consumer, where, sourceId, metadata.Partitions.Count, cancellationToken) is { } last)
                    {
                        lastLines[(topic, partition.PartitionId)] = last;
                    }
                }
            }
        }
        catch (KafkaException e)
        {
            throw new KafkaSetupException($"cannot read back what {SecretText.Redact(options.BootstrapServers)} holds of the source: {OutsideText.ForDisplay(e.Error.Reason)}", e);
        }

        return new SourceProgress(lastLines, partitions);
    }

    private static long? LastLine(IConsumer<string, byte[]> consumer, TopicPartition where, byte[] sourceId, int partitions, CancellationToken cancellationToken)
    {
        var offsets = consumer.QueryWatermarkOffsets(where, ReadTimeout);
        long low = offsets.Low, end = offsets.High;
        for (long step = 1; end > low; step *= 16)
        {
            if (offsets.High - end > MaxScan)
            {
                throw new KafkaSetupException($"{where.Topic}[{where.Partition.Value}]: no message of the source in the last {MaxScan:N0}; start over with --from-start");
            }

            var start = Math.Max(low, end - step);
            long? found = null;
            consumer.Assign(new TopicPartitionOffset(where, start));
            for (var next = start; next < end;)
            {
                var result = consumer.Consume(ReadTimeout)
                    ?? throw new KafkaSetupException($"{where.Topic}[{where.Partition.Value}]: no message at offset {next} within {ReadTimeout.TotalSeconds:F0} s");
                cancellationToken.ThrowIfCancellationRequested();
                next = result.Offset.Value + 1;
                if (LineOf(result.Message.Headers, sourceId) is { } line)
                {
                    if (PartitionOf(result.Message.Key, partitions) != where.Partition.Value)
                    {
                        throw new KafkaSetupException($"{where.Topic}[{where.Partition.Value}] holds key '{OutsideText.ForDisplay(result.Message.Key)}', which the producer's partitioner puts elsewhere; cannot resume safely: start over with --from-start");
                    }

                    found = line;
                }
            }

            consumer.Unassign();
            if (found is not null)
            {
                return found;
            }

            end = start;
        }

        return null;
    }

    private static long? LineOf(Headers? headers, byte[] sourceId)
    {
        if (headers is null || !headers.TryGetLastBytes(SourceHeader, out var source) || !source.AsSpan().SequenceEqual(sourceId)
            || !headers.TryGetLastBytes(LineHeader, out var line) || line.Length != 8)
        {
            return null;
        }

        return BinaryPrimitives.ReadInt64BigEndian(line);
    }

    /// <summary>For messages.</summary>
    public override string ToString() => string.Join(", ", _lastLines.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key.Topic}[{p.Key.Partition}] line {p.Value}")));
}

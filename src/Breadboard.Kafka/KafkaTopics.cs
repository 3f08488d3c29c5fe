using Breadboard.Core.Seams;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Breadboard.Kafka;

/// <summary>Creates the bus's topics when missing, or in strict mode only checks that they exist.</summary>
public static class KafkaTopics
{
    /// <exception cref="KafkaSetupException">A topic is missing in strict mode, or cannot be created, or the cluster does not answer.</exception>
    public static async Task EnsureAsync(KafkaBusOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.BootstrapServers, SocketTimeoutMs = 10_000 }).Build();
        Metadata metadata;
        try
        {
            metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(10)), cancellationToken);
        }
        catch (KafkaException e)
        {
            throw new KafkaSetupException($"no answer from {SecretText.Redact(options.BootstrapServers)}: {OutsideText.ForDisplay(e.Error.Reason)}", e);
        }

        var existing = metadata.Topics.Where(t => t.Error.Code == ErrorCode.NoError).Select(t => t.Topic).ToHashSet(StringComparer.Ordinal);
        var missing = KafkaBusOptions.AllTopics.Where(t => !existing.Contains(t)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        if (options.Strict)
        {
            throw new KafkaSetupException($"strict mode: topics missing on {SecretText.Redact(options.BootstrapServers)}: {string.Join(", ", missing)}");
        }

        var replication = (short)Math.Min(options.Replication, metadata.Brokers.Count);
        try
        {
            await admin.CreateTopicsAsync(missing.Select(name => new TopicSpecification
            {
                Name = name,
                NumPartitions = options.Partitions,
                ReplicationFactor = replication,
            }));
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Another process created them first.
        }
        catch (CreateTopicsException e)
        {
            var failed = e.Results.First(r => r.Error.Code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists));
            throw new KafkaSetupException($"cannot create topic {failed.Topic}: {OutsideText.ForDisplay(failed.Error.Reason)}", e);
        }
        catch (KafkaException e)
        {
            throw new KafkaSetupException($"cannot create topics {string.Join(", ", missing)}: {OutsideText.ForDisplay(e.Error.Reason)}; create them beforehand (add ?strict=true to only check)", e);
        }
    }

    /// <summary>
    /// The cluster as the bus finds it, read only (for <c>doctor</c>): how many brokers answer, and each topic of
    /// <see cref="KafkaBusOptions.AllTopics"/> with its partition count, or why it cannot be used. Nothing is created.
    /// </summary>
    /// <param name="timeout">How long the brokers have to answer with the cluster's metadata.</param>
    /// <exception cref="KafkaSetupException">No broker answered within <paramref name="timeout"/>.</exception>
    public static async Task<KafkaBusState> DescribeAsync(KafkaBusOptions options, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AdminClientConfig { BootstrapServers = options.BootstrapServers, SocketTimeoutMs = (int)Math.Max(1000, timeout.TotalMilliseconds) };

        // librdkafka logs each refused connection to stderr by default; the exception says what matters, once.
        using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        Metadata metadata;
        try
        {
            metadata = await Task.Run(() => admin.GetMetadata(timeout), cancellationToken);
        }
        catch (KafkaException e)
        {
            throw new KafkaSetupException($"no answer from {SecretText.Redact(options.BootstrapServers)} within {timeout.TotalSeconds:0.#} s: {OutsideText.ForDisplay(e.Error.Reason)}", e);
        }

        var topics = new List<KafkaTopicState>();
        foreach (var name in KafkaBusOptions.AllTopics)
        {
            var topic = metadata.Topics.FirstOrDefault(t => t.Topic == name);
            topics.Add(topic switch
            {
                null or { Error.Code: ErrorCode.UnknownTopicOrPart } => new KafkaTopicState(name, null, null, null),
                { Error.Code: ErrorCode.NoError } => new KafkaTopicState(name, topic.Partitions.Count, topic.Partitions.Count == 0 ? 0 : topic.Partitions.Min(p => p.Replicas.Length), null),
                _ => new KafkaTopicState(name, null, null, OutsideText.ForDisplay(topic.Error.Reason)),
            });
        }

        return new KafkaBusState(metadata.Brokers.Count, topics);
    }
}

/// <summary>The Kafka bus cannot be used as configured; the message is one line for the user.</summary>
public sealed class KafkaSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The cluster as <see cref="KafkaTopics.DescribeAsync"/> found it.</summary>
/// <param name="Brokers">Brokers in the cluster's metadata.</param>
/// <param name="Topics">Each topic the bus uses, in <see cref="KafkaBusOptions.AllTopics"/> order.</param>
public sealed record KafkaBusState(int Brokers, IReadOnlyList<KafkaTopicState> Topics);

/// <summary>One topic the bus uses.</summary>
/// <param name="Partitions">Its partition count; null when it does not exist or cannot be read.</param>
/// <param name="Replicas">The fewest replicas any of its partitions has.</param>
/// <param name="Error">The broker's error for the topic, other than its not existing.</param>
public sealed record KafkaTopicState(string Name, int? Partitions, int? Replicas, string? Error);

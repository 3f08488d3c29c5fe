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
}

/// <summary>The Kafka bus cannot be used as configured; the message is one line for the user.</summary>
public sealed class KafkaSetupException(string message, Exception? inner = null) : Exception(message, inner);

namespace Breadboard.Flink;

/// <summary>How the compiled Flink job connects and runs: Kafka, checkpointing, parallelism and job name.</summary>
public sealed record FlinkOptions
{
    /// <summary>Kafka bootstrap servers as the Flink cluster sees them (host:port[,host:port…]).</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>The job name when none is given: what <c>flink deploy</c> submits and <c>up</c> looks for.</summary>
    public const string DefaultJobName = "breadboard";

    /// <summary>The job name (<c>pipeline.name</c>).</summary>
    public string JobName { get; init; } = DefaultJobName;

    public int Parallelism { get; init; } = 2;

    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Consumer group of the source tables; offsets are committed on checkpoints.</summary>
    public string ConsumerGroup { get; init; } = "breadboard-flink";

    /// <summary>Where a job without restored state starts reading: <c>earliest-offset</c>, <c>latest-offset</c> or <c>group-offsets</c>.</summary>
    public string StartupMode { get; init; } = "earliest-offset";

    /// <summary>Prefix of the Kafka sinks' transactional ids; must be unique per job on the cluster.</summary>
    public string TransactionalIdPrefix { get; init; } = "breadboard-flink";

    /// <summary>
    /// The sinks' <c>transaction.timeout.ms</c>: at most the brokers' <c>transaction.max.timeout.ms</c> (15 minutes
    /// by default), and longer than the longest expected outage, or a restored job's transactions are aborted.
    /// </summary>
    public TimeSpan TransactionTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A source partition without data for this long is marked idle so it does not hold the watermark back.</summary>
    public TimeSpan SourceIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>One-line errors for the values that cannot be compiled; empty when all are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add("bootstrap servers must be given");
        }

        if (string.IsNullOrWhiteSpace(JobName))
        {
            errors.Add("job name must not be empty");
        }

        if (Parallelism is < 1 or > 32_768)
        {
            errors.Add($"parallelism must be 1..32768 (got {Parallelism})");
        }

        if (CheckpointInterval < TimeSpan.FromMilliseconds(10))
        {
            errors.Add($"checkpoint interval must be at least 10 ms (got {CheckpointInterval})");
        }

        if (StartupMode is not ("earliest-offset" or "latest-offset" or "group-offsets"))
        {
            errors.Add($"startup mode must be earliest-offset, latest-offset or group-offsets (got '{StartupMode}')");
        }

        if (string.IsNullOrWhiteSpace(TransactionalIdPrefix) || string.IsNullOrWhiteSpace(ConsumerGroup))
        {
            errors.Add("transactional id prefix and consumer group must not be empty");
        }

        if (TransactionTimeout <= TimeSpan.Zero || CheckpointInterval >= TransactionTimeout)
        {
            errors.Add($"transaction timeout ({TransactionTimeout}) must be longer than the checkpoint interval ({CheckpointInterval})");
        }

        if (SourceIdleTimeout < TimeSpan.Zero)
        {
            errors.Add("source idle timeout must not be negative");
        }

        return errors;
    }
}

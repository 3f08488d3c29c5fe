namespace Breadboard.Flink.Gateway;

/// <summary>Timeouts and polling of a <see cref="SqlGatewayClient"/>.</summary>
public sealed record SqlGatewayOpts
{
    public static readonly SqlGatewayOpts Default = new();

    /// <summary>One HTTP request; a gateway that does not answer within it is reported as unreachable.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one statement may take from submission to its last result. Submitting a job includes planning and
    /// uploading the job graph, which takes seconds on a busy cluster.
    /// </summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>First wait between status polls; doubled up to <see cref="MaxPollInterval"/>.</summary>
    public TimeSpan MinPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts of an idempotent GET that met a connection failure or a 502/503/504 (a proxy in front of a restarting gateway).</summary>
    public int GetAttempts { get; init; } = 3;
}

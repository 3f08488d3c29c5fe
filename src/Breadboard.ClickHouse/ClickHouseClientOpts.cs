namespace Breadboard.ClickHouse;

/// <summary>Retry budget and request shape of a <see cref="ClickHouseHttpClient"/>.</summary>
public sealed record ClickHouseClientOpts
{
    public static ClickHouseClientOpts Default { get; } = new();

    /// <summary>Retries after the first attempt, on transient failures only (refused, reset, timeouts, HTTP 503,
    /// overload codes); 0 turns retrying off.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The first retry's delay; each next one doubles, with jitter, up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Gzip insert bodies (<c>Content-Encoding: gzip</c> with <c>enable_http_compression=1</c>; 18.16
    /// accepts them).</summary>
    public bool CompressRequests { get; init; } = true;
}

/// <summary>Per-insert settings.</summary>
public sealed record ClickHouseInsertOpts
{
    public static ClickHouseInsertOpts Default { get; } = new();

    /// <summary>The input format of the rows (<c>JSONEachRow</c>, <c>TabSeparated</c>, <c>RowBinary</c>).</summary>
    public string Format { get; init; } = "JSONEachRow";

    /// <summary><c>insert_deduplication_token</c>, sent only to servers that have it (22.2 and later).</summary>
    public string? DeduplicationToken { get; init; }
}

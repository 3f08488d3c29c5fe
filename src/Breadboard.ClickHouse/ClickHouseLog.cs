using Microsoft.Extensions.Logging;

namespace Breadboard.ClickHouse;

/// <summary>What the ClickHouse store logs; event ids 1900–1999.</summary>
internal static partial class ClickHouseLog
{
    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "store: ClickHouse unreachable at {Server} for {Seconds:0} s; {Rows} {Table} rows kept and retried")]
    public static partial void Unavailable(ILogger logger, Exception exception, string server, double seconds, int rows, string table);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Information, Message = "store: ClickHouse at {Server} answered again after {Seconds:0.0} s; {Rows} {Table} rows written")]
    public static partial void Recovered(ILogger logger, string server, double seconds, int rows, string table);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Error, Message = "store: ClickHouse unreachable at {Server} for {Seconds:0} s, longer than retry_for; the write of {Rows} {Table} rows fails")]
    public static partial void GaveUp(ILogger logger, Exception exception, string server, double seconds, int rows, string table);

    [LoggerMessage(EventId = 1904, Level = LogLevel.Information, Message = "store: ClickHouse database {Database} at {Server} upgraded to schema version {Version} (applied migrations {Applied})")]
    public static partial void Migrated(ILogger logger, string database, string server, int version, IReadOnlyList<int> applied);
}

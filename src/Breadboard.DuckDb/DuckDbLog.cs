using Microsoft.Extensions.Logging;

namespace Breadboard.DuckDb;

/// <summary>What the DuckDB store logs; event ids 1800–1899.</summary>
internal static partial class DuckDbLog
{
    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "store: DuckDB {DataSource} upgraded from schema version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string dataSource, int from, int to);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Warning, Message = "store: a DuckDB write to {DataSource} has waited {Seconds:0} s for the write before it")]
    public static partial void WaitingForWriter(ILogger logger, string dataSource, double seconds);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "store: a DuckDB write of {Ticks} ticks, {Bars} bars, {Alerts} alerts and {Checkpoints} checkpoints to {DataSource} took {Seconds:0.0} s")]
    public static partial void SlowWrite(ILogger logger, int ticks, int bars, int alerts, int checkpoints, string dataSource, double seconds);
}

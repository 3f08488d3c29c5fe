using Microsoft.Extensions.Logging;

namespace Breadboard.Web;

/// <summary>The web server's log records; the event ids (100 and up, clear of the framework's) are stable, for alerting on them.</summary>
internal static partial class WebLog
{
    public const int RequestFailedId = 100;
    public const int RequestAbortedId = 101;
    public const int HostRefusedId = 102;
    public const int OriginRefusedId = 103;
    public const int StreamFullId = 104;
    public const int BacktestRanId = 105;
    public const int LiveMessageDroppedId = 110;
    public const int LiveClockFailedId = 111;
    public const int LiveClockRecoveredId = 112;

    [LoggerMessage(EventId = RequestFailedId, Level = LogLevel.Error, Message = "request {RequestId} {Method} {Path} failed; answered 500")]
    public static partial void RequestFailed(this ILogger logger, Exception exception, string requestId, string method, string path);

    [LoggerMessage(EventId = RequestAbortedId, Level = LogLevel.Error, Message = "request {RequestId} {Method} {Path} failed after its response started; the connection was aborted so the client sees it incomplete")]
    public static partial void RequestAborted(this ILogger logger, Exception exception, string requestId, string method, string path);

    [LoggerMessage(EventId = HostRefusedId, Level = LogLevel.Warning, Message = "request {RequestId}: Host '{Host}' refused with 400; this server answers to {AllowedHosts} (--allowed-hosts adds names)")]
    public static partial void HostRefused(this ILogger logger, string requestId, string host, string allowedHosts);

    [LoggerMessage(EventId = OriginRefusedId, Level = LogLevel.Warning, Message = "request {RequestId} {Method} {Path}: Origin '{Origin}' refused with 403 (not this server's own origin nor one of --allowed-origins)")]
    public static partial void OriginRefused(this ILogger logger, string requestId, string method, string path, string origin);

    [LoggerMessage(EventId = StreamFullId, Level = LogLevel.Warning, Message = "request {RequestId}: live stream refused with 503, {Limit} clients already connected")]
    public static partial void StreamFull(this ILogger logger, string requestId, int limit);

    [LoggerMessage(EventId = BacktestRanId, Level = LogLevel.Information, Message = "backtest of rule '{Rule}' over {Hours} h: {Ticks} ticks read (warm-up included), {Alerts} alerts in {ElapsedMs} ms")]
    public static partial void BacktestRan(this ILogger logger, string rule, int hours, long ticks, long alerts, long elapsedMs);

    [LoggerMessage(EventId = LiveMessageDroppedId, Level = LogLevel.Error, Message = "live stream: a {Kind} message could not be written and was dropped")]
    public static partial void LiveMessageDropped(this ILogger logger, Exception exception, string kind);

    [LoggerMessage(EventId = LiveClockFailedId, Level = LogLevel.Error, Message = "live stream: the status and tick broadcast failed; it keeps running and says so here once until it recovers")]
    public static partial void LiveClockFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = LiveClockRecoveredId, Level = LogLevel.Information, Message = "live stream: the status and tick broadcast works again")]
    public static partial void LiveClockRecovered(this ILogger logger);
}

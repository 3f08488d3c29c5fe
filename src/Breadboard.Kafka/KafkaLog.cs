using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Breadboard.Kafka;

/// <summary>The Kafka adapter's log records; the event ids (300 and up) are stable, for alerting on them.</summary>
internal static partial class KafkaLog
{
    public const int StartedId = 300;
    public const int AssignedId = 301;
    public const int RevokedId = 302;
    public const int LostId = 303;
    public const int DrainedId = 304;
    public const int LostToRetentionId = 305;
    public const int DeliveryWaitingId = 310;
    public const int WriteWaitingId = 311;
    public const int WaitOverId = 312;
    public const int DeadLetterId = 320;
    public const int CommitFailedId = 321;
    public const int ClientErrorId = 330;
    public const int ClientFatalId = 331;
    public const int ClientLogId = 332;

    [LoggerMessage(EventId = StartedId, Level = LogLevel.Information, Message = "{Role}: joining group {Group} on {Servers} for {Topics}")]
    public static partial void Started(this ILogger logger, string role, string group, string servers, string topics);

    [LoggerMessage(EventId = AssignedId, Level = LogLevel.Information, Message = "{Role}: partitions assigned, resuming at {Positions}")]
    public static partial void Assigned(this ILogger logger, string role, string positions);

    [LoggerMessage(EventId = RevokedId, Level = LogLevel.Information, Message = "{Role}: partitions revoked, written and checkpointed before they move: {Partitions}")]
    public static partial void Revoked(this ILogger logger, string role, string partitions);

    [LoggerMessage(EventId = LostId, Level = LogLevel.Warning, Message = "{Role}: partitions lost to the group: {Partitions}; {Pending} taken since the last write are dropped, their next owner reads them again")]
    public static partial void Lost(this ILogger logger, string role, string partitions, long pending);

    [LoggerMessage(EventId = DrainedId, Level = LogLevel.Information, Message = "{Role}: drained: every assigned partition is caught up and quiet for {IdleSeconds} s; written, stopping")]
    public static partial void Drained(this ILogger logger, string role, double idleSeconds);

    [LoggerMessage(EventId = LostToRetentionId, Level = LogLevel.Error, Message = "{Role}: {Partition}: offsets {From} to {Start} are no longer on the broker (its retention deleted them before this group read them): {Lost} messages lost; going on from offset {Start}")]
    public static partial void LostToRetention(this ILogger logger, string role, string partition, long from, long start, long lost);

    [LoggerMessage(EventId = DeliveryWaitingId, Level = LogLevel.Warning, Message = "{Role}: Kafka delivery still waiting after {Seconds:F0} s, {Undelivered} messages undelivered; nothing is checkpointed until they are")]
    public static partial void DeliveryWaiting(this ILogger logger, string role, double seconds, int undelivered);

    [LoggerMessage(EventId = WriteWaitingId, Level = LogLevel.Warning, Message = "{Role}: {What} still waiting after {Seconds:F0} s")]
    public static partial void WriteWaiting(this ILogger logger, string role, string what, double seconds);

    [LoggerMessage(EventId = WaitOverId, Level = LogLevel.Information, Message = "{Role}: {What} done after {Seconds:F1} s")]
    public static partial void WaitOver(this ILogger logger, string role, string what, double seconds);

    [LoggerMessage(EventId = DeadLetterId, Level = LogLevel.Debug, Message = "{Role}: {Source}@{Offset} to {Topic}: {Reason}")]
    public static partial void DeadLetter(this ILogger logger, string role, TopicPartition source, long offset, string topic, string reason);

    [LoggerMessage(EventId = CommitFailedId, Level = LogLevel.Debug, Message = "{Role}: advisory offset commit failed; lag monitors see old positions, resumption reads the store's checkpoints")]
    public static partial void CommitFailed(this ILogger logger, Exception exception, string role);

    [LoggerMessage(EventId = ClientErrorId, Level = LogLevel.Warning, Message = "{Role}: {Client}: {Code}: {Reason}")]
    public static partial void ClientError(this ILogger logger, string role, string client, ErrorCode code, string reason);

    [LoggerMessage(EventId = ClientFatalId, Level = LogLevel.Error, Message = "{Role}: {Client}: fatal {Code}: {Reason}")]
    public static partial void ClientFatal(this ILogger logger, string role, string client, ErrorCode code, string reason);

    [LoggerMessage(EventId = ClientLogId, Message = "{Role}: {Client}: {Facility}: {Text}")]
    public static partial void ClientLog(this ILogger logger, LogLevel level, string role, string client, string facility, string text);

    /// <summary>Routes a librdkafka client's errors to the log; secrets in its text (a broker URL with a password) are masked.</summary>
    public static void OnClientError(this ILogger logger, string role, string client, Error error)
    {
        var reason = Core.Seams.SecretText.RedactText(error.Reason);
        if (error.IsFatal)
        {
            logger.ClientFatal(role, client, error.Code, reason);
        }
        else
        {
            logger.ClientError(role, client, error.Code, reason);
        }
    }

    /// <summary>Routes a librdkafka client's own log line to the log, at the matching level.</summary>
    public static void OnClientLog(this ILogger logger, string role, string client, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        if (logger.IsEnabled(level))
        {
            logger.ClientLog(level, role, client, message.Facility, Core.Seams.SecretText.RedactText(message.Message));
        }
    }
}

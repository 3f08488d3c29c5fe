using Microsoft.Extensions.Logging;

namespace Breadboard.Runtime;

/// <summary>What the engine host logs; EventIds 1xxx.</summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "{Source}: started, {Resumed}")]
    public static partial void Started(ILogger logger, string source, string resumed);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "checkpoint not used, starting without it: {Problem}")]
    public static partial void CheckpointNotUsed(ILogger logger, string problem);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "checkpoint written to {Path} at position {Position}")]
    public static partial void CheckpointWritten(ILogger logger, string path, long position);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "still waiting for {What} after {Seconds:F0} s")]
    public static partial void StillWaiting(ILogger logger, string what, double seconds);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "{What} done after waiting {Seconds:F0} s")]
    public static partial void DoneWaiting(ILogger logger, string what, double seconds);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "{Source}: {How} after {Ticks} ticks")]
    public static partial void Stopped(ILogger logger, string source, string how, long ticks);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Error, Message = "writing the run's outputs failed")]
    public static partial void WriteFailed(ILogger logger, Exception exception);
}

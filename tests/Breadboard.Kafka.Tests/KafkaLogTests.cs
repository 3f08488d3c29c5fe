using Breadboard.TestKit.Logging;
using Confluent.Kafka;

namespace Breadboard.Kafka.Tests;

public sealed class KafkaLogTests
{
    [Fact]
    public void OnClientError_WithAPasswordInTheText_LogsItMasked()
    {
        var log = new ListLogger();

        log.OnClientError("sink", "rdkafka#consumer-1", new Error(ErrorCode.Local_Transport, "sasl_ssl://user:hunter2@broker:9093/1: Connect failed"));

        var line = Assert.Single(log.Lines);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
        Assert.StartsWith("sink: rdkafka#consumer-1: Local_Transport: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void OnClientLog_MapsSyslogLevels()
    {
        var log = new LevelLogger();

        log.OnClientLog("process", "rdkafka#producer-2", new LogMessage("rdkafka#producer-2", SyslogLevel.Warning, "FAIL", "broker down"));
        log.OnClientLog("process", "rdkafka#producer-2", new LogMessage("rdkafka#producer-2", SyslogLevel.Error, "ERROR", "all brokers down"));
        log.OnClientLog("process", "rdkafka#producer-2", new LogMessage("rdkafka#producer-2", SyslogLevel.Debug, "FETCH", "fetching"));

        Assert.Equal([Microsoft.Extensions.Logging.LogLevel.Warning, Microsoft.Extensions.Logging.LogLevel.Error, Microsoft.Extensions.Logging.LogLevel.Debug], log.Levels);
    }

    private sealed class LevelLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<Microsoft.Extensions.Logging.LogLevel> Levels { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Assert.Equal(KafkaLog.ClientLogId, eventId.Id);
            Levels.Add(logLevel);
        }
    }
}

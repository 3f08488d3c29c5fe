using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Breadboard.TestKit.Logging;

/// <summary>Collects log lines so tests can check what was (not) logged.</summary>
public sealed class ListLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        Lines.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
    }
}

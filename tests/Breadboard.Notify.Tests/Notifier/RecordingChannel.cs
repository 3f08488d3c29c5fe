using System.Collections.Concurrent;
using Breadboard.Notify.Channels;

namespace Breadboard.Notify.Tests.Notifier;

/// <summary>A channel that accepts every notification and keeps it, for tests of what a notifier sends.</summary>
internal sealed class RecordingChannel : INotificationChannel
{
    public ConcurrentQueue<Notification> Sent { get; } = new();

    public IEnumerable<string> SentSymbols => Sent.SelectMany(n => n.Alerts).Select(a => a.Symbol);

    public string Name => "webhook";

    public Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        Sent.Enqueue(notification);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

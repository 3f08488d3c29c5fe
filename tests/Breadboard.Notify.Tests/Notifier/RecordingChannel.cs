using System.Collections.Concurrent;
using Breadboard.Notify.Channels;

namespace Breadboard.Notify.Tests.Notifier;

/// <summary>A channel that accepts every notification and keeps it, for tests of what a notifier sends.</summary>
internal sealed class RecordingChannel : INotificationChannel
{
    private int _failuresLeft;

    public ConcurrentQueue<Notification> Sent { get; } = new();

    /// <summary>Refuses this many attempts first, as a receiver answering 500 would.</summary>
    public int FailFirst
    {
        get => _failuresLeft;
        init => _failuresLeft = value;
    }

    /// <summary>When set, every attempt waits for it first, as a receiver that does not answer.</summary>
    public Task? Hang { get; set; }

    public IEnumerable<string> SentSymbols => Sent.SelectMany(n => n.Alerts).Select(a => a.Symbol);

    public string Name => "webhook";

    public async Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        if (Hang is { } hang)
        {
            await hang.WaitAsync(cancellationToken);
        }

        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new InvalidOperationException("webhook: answered 500 Internal Server Error");
        }

        Sent.Enqueue(notification);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

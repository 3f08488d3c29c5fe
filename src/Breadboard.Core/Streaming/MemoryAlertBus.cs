using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Core.Streaming;

/// <summary>The embedded alert bus (<c>memory://</c>): broadcasts each alert to every current subscriber in-process.</summary>
/// <remarks>
/// Each subscriber has its own bounded buffer; a subscriber that falls behind loses its oldest alerts rather than
/// slowing the pipeline (the store keeps every alert, so a reader can catch up from there).
/// </remarks>
public sealed class MemoryAlertBus : IAlertBus
{
    private readonly Lock _gate = new();
    private readonly List<Channel<Alert>> _subscribers = [];

    /// <summary>Subscribes; the enumeration ends when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async IAsyncEnumerable<Alert> SubscribeAsync(int capacity = 1024, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }

        try
        {
            await foreach (var alert in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return alert;
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    public ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(alert);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Nothing to wait for: publishing hands the alert to every subscriber at once.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }
        }

        return ValueTask.CompletedTask;
    }
}

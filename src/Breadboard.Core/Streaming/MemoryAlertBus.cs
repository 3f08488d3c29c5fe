using System.Runtime.CompilerServices;
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

    /// <summary>
    /// Subscribes now: every alert published from this call on is kept for the subscriber, however late it starts
    /// reading (a subscription made inside an iterator would only start at its first read and miss what came before).
    /// </summary>
    public Subscription Subscribe(int capacity = 1024)
    {
        var channel = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }

        return new Subscription(this, channel);
    }

    /// <summary>Subscribes now and reads; the enumeration ends when <paramref name="cancellationToken"/> is cancelled or the bus completes.</summary>
    public IAsyncEnumerable<Alert> SubscribeAsync(int capacity = 1024, CancellationToken cancellationToken = default) =>
        Subscribe(capacity).ReadAllAsync(cancellationToken);

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

    /// <summary>Ends every subscription once its reader has taken the alerts it holds: the last alert has been published.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Complete();
        return ValueTask.CompletedTask;
    }

    private void Remove(Channel<Alert> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }

        channel.Writer.TryComplete();
    }

    /// <summary>One subscriber's buffer; disposing it (or reading it to the end) unsubscribes and ends it.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly MemoryAlertBus _bus;
        private readonly Channel<Alert> _channel;

        internal Subscription(MemoryAlertBus bus, Channel<Alert> channel)
        {
            _bus = bus;
            _channel = channel;
        }

        /// <summary>The alerts published since subscribing; ends when cancelled or when the bus completes and the buffer is empty.</summary>
        public async IAsyncEnumerable<Alert> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                await foreach (var alert in _channel.Reader.ReadAllAsync(cancellationToken))
                {
                    yield return alert;
                }
            }
            finally
            {
                Dispose();
            }
        }

        public void Dispose() => _bus.Remove(_channel);
    }
}

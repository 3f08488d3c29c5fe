using Breadboard.Core.Model;

namespace Breadboard.Notify.Notifier;

/// <summary>One alert message handed to a channel's notifier, to be acknowledged once it is dealt with.</summary>
public interface IAlertDelivery
{
    /// <summary>The alert, or null when the message could not be read (see <see cref="Problem"/>).</summary>
    Alert? Alert { get; }

    /// <summary>Why the message is not an alert, in one line.</summary>
    string? Problem { get; }

    /// <summary>The message body as it arrived, for the dead letter of a malformed message.</summary>
    ReadOnlyMemory<byte> Data { get; }

    /// <summary>How many times the bus has delivered this message, this time included (1 for the first).</summary>
    int DeliveryCount { get; }

    /// <summary>Done with it: the bus never delivers it again.</summary>
    ValueTask AckAsync(CancellationToken cancellationToken);

    /// <summary>Still working on it: the bus must not redeliver it yet.</summary>
    ValueTask KeepAliveAsync(CancellationToken cancellationToken);
}

/// <summary>Where a notifier reads alerts, puts dead letters and keeps its repeat-interval state: NATS in production, in-process embedded.</summary>
public interface INotifierTransport
{
    /// <summary>The channel's alerts, resuming after the last acknowledged one where the bus is durable.</summary>
    IAsyncEnumerable<IAlertDelivery> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Stores a notification the channel gave up on (or a malformed message), with the last error; returns once it is durable.</summary>
    ValueTask DeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken);

    /// <summary>The last notified event time per (rule, symbol) key, as saved by <see cref="SaveStateAsync"/>.</summary>
    ValueTask<IReadOnlyDictionary<string, long>> LoadStateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Whether a notification carrying this alert was accepted by the channel, as recorded by <see cref="SaveStateAsync"/>:
    /// asked for each redelivered alert and each one older than the policy remembers. Asked per alert, not per (rule,
    /// symbol): a redelivered alert may be older than one of its rule and symbol notified since.
    /// </summary>
    ValueTask<bool> WasNotifiedAsync(string alertId, CancellationToken cancellationToken);

    /// <summary>
    /// Saves the last notified event time of these keys and records these alerts as notified; called after a delivery
    /// and before its acknowledgements.
    /// </summary>
    ValueTask SaveStateAsync(IReadOnlyDictionary<string, long> changes, IReadOnlyCollection<string> notifiedIds, CancellationToken cancellationToken);
}

/// <summary>What goes to the channel's dead letters: the notification (or the malformed message), the last error and the attempts made.</summary>
public sealed record DeadLetter(string Channel, Notification? Notification, ReadOnlyMemory<byte> Malformed, string Error, int Attempts);

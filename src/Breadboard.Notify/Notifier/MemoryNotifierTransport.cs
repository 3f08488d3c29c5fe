using System.Runtime.CompilerServices;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Streaming;
using Microsoft.Extensions.Logging;

namespace Breadboard.Notify.Notifier;

/// <summary>
/// The embedded face's notifier transport: alerts from the in-process broadcast, dead letters to the log, repeat
/// state in memory. Nothing survives the process; the store keeps every alert.
/// </summary>
public sealed partial class MemoryNotifierTransport(MemoryAlertBus bus, ILogger logger) : INotifierTransport
{
    private readonly Dictionary<string, long> _state = [];

    // Subscribed when the transport is made, before the pipeline starts: a fast run can fire its alerts before the
    // notifier's first read.
    private readonly MemoryAlertBus.Subscription _subscription = bus.Subscribe(100_000);

    public async IAsyncEnumerable<IAlertDelivery> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var alert in _subscription.ReadAllAsync(cancellationToken))
        {
            yield return new Delivery(alert);
        }
    }

    public ValueTask DeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var what = letter.Notification is { } n ? System.Text.Encoding.UTF8.GetString(n.ToJson()) : "a malformed message";
        LogDeadLetter(logger, letter.Channel, letter.Attempts, letter.Error, what);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyDictionary<string, long>> LoadStateAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>(_state));

    /// <summary>Never: the in-process broadcast hands each alert out once, so every delivery is a first one.</summary>
    public ValueTask<bool> WasNotifiedAsync(string alertId, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    public ValueTask SaveStateAsync(IReadOnlyDictionary<string, long> changes, IReadOnlyCollection<string> notifiedIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(notifiedIds);
        foreach (var (key, ts) in changes)
        {
            _state[key] = ts;
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel}: dead letter after {Attempts} attempts: {Error}: {Notification}")]
    private static partial void LogDeadLetter(ILogger logger, string channel, int attempts, string error, string notification);

    private sealed class Delivery(Alert alert) : IAlertDelivery
    {
        public Alert? Alert { get; } = alert;

        public string? Problem => null;

        public ReadOnlyMemory<byte> Data => RecordJson.Alert(Alert!);

        public int DeliveryCount => 1;

        public ValueTask AckAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask KeepAliveAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

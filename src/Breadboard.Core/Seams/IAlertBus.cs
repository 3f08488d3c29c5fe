using Breadboard.Core.Model;

namespace Breadboard.Core.Seams;

/// <summary>Where alerts go once the engine fires them: in-process broadcast embedded, NATS JetStream in production.</summary>
/// <remarks>
/// Publishing may be asynchronous (a durable bus sends many alerts at once and waits for their acknowledgements
/// together); <see cref="FlushAsync"/> is the barrier a caller waits on before it records that the alerts are out,
/// for example before a checkpoint moves past the input that produced them.
/// </remarks>
public interface IAlertBus : IAsyncDisposable
{
    /// <summary>Hands one alert to the bus; may return before the bus has acknowledged it.</summary>
    ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default);

    /// <summary>Returns once every alert published before the call has been acknowledged by the bus.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);
}

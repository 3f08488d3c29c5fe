using Breadboard.Core.Model;

namespace Breadboard.Core.Seams;

/// <summary>Where alerts go once the engine fires them: in-process broadcast embedded, NATS JetStream in production.</summary>
public interface IAlertBus : IAsyncDisposable
{
    /// <summary>Publishes one alert; returns once the bus has it (for durable buses, once acknowledged).</summary>
    ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default);
}

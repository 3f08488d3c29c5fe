using System.CommandLine;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Nats;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The alert seam as a running pipeline uses it: the bus, and what comes with it (where silences live, the
/// dashboard's stream, the notifiers' transport, a health check). One subclass per scheme; <see cref="OpenAsync"/>
/// is the one place that chooses.
/// </summary>
internal abstract class AlertSeam : IAsyncDisposable
{
    public abstract IAlertBus Bus { get; }

    /// <summary>Whether notifiers send what they hold when they stop (in-process: nothing else would).</summary>
    public abstract bool DeliverPendingOnStop { get; }

    /// <summary>A health check for /api/health, or null when there is nothing to check.</summary>
    public virtual Func<CancellationToken, Task>? Check => null;

    /// <summary>The bus the settings name: in-process broadcast, or NATS JetStream (connected, streams ensured).</summary>
    public static async Task<AlertSeam> OpenAsync(ParseResult parse, CancellationToken cancellationToken) =>
        Seam.SchemeOf(Seams.Alerts.Resolve(parse)) == "nats"
            ? new NatsSeam((NatsAlertBus)await Backends.OpenAlertBusAsync(parse, cancellationToken))
            : new MemorySeam(new MemoryAlertBus());

    /// <summary>Where silences live: shared through the bus's server, or a file beside the store.</summary>
    public abstract ISilenceStore Silences(ParseResult parse);

    /// <summary>The alerts the dashboard and the terminal show, from <paramref name="since"/> on.</summary>
    public abstract IAsyncEnumerable<Alert> WatchAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>How the notifier of one channel reads alerts; a new channel starts at <paramref name="since"/>.</summary>
    public abstract INotifierTransport Transport(string channel, DateTimeOffset since, ILogger logger);

    /// <summary>The pipeline has published its last alert.</summary>
    public virtual void PublishingEnded()
    {
    }

    public ValueTask DisposeAsync() => Bus.DisposeAsync();

    private sealed class MemorySeam(MemoryAlertBus bus) : AlertSeam
    {
        public override IAlertBus Bus => bus;

        public override bool DeliverPendingOnStop => true;

        public override ISilenceStore Silences(ParseResult parse) => Notifications.Silences(parse, null);

        public override IAsyncEnumerable<Alert> WatchAsync(DateTimeOffset since, CancellationToken cancellationToken) => bus.SubscribeAsync(cancellationToken: cancellationToken);

        public override INotifierTransport Transport(string channel, DateTimeOffset since, ILogger logger) => new MemoryNotifierTransport(bus, logger);

        /// <summary>Each notifier then reads what it holds, sends it, and ends.</summary>
        public override void PublishingEnded() => bus.Complete();
    }

    private sealed class NatsSeam(NatsAlertBus bus) : AlertSeam
    {
        public override IAlertBus Bus => bus;

        public override bool DeliverPendingOnStop => false;

        public override Func<CancellationToken, Task> Check => bus.CheckAsync;

        public override ISilenceStore Silences(ParseResult parse) => Notifications.Silences(parse, bus.JetStream);

        /// <summary>The durable 'dashboard' consumer.</summary>
        public override IAsyncEnumerable<Alert> WatchAsync(DateTimeOffset since, CancellationToken cancellationToken) => AlertConsumers.DashboardAsync(bus.JetStream, since, cancellationToken);

        public override INotifierTransport Transport(string channel, DateTimeOffset since, ILogger logger) =>
            new NatsNotifierTransport(bus.JetStream, channel, StartFrom.Time(since), Notifications.NotifyAckWait);
    }
}

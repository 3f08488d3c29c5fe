using Breadboard.Core.Streaming;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Tests.Channels;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Notify.Tests.Notifier;

/// <summary>The embedded face's notifier: the in-process bus, as <c>up</c> wires it.</summary>
public sealed class EmbeddedNotifierTests
{
    [Fact]
    public async Task Notifier_AlertsFiredBeforeItsFirstRead_AreSentWhenTheBusCompletes_AndItEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bus = new MemoryAlertBus();
        var channel = new RecordingChannel();
        var options = NotifierOptions.Default with { DeliverPendingOnStop = true };
        var notifier = new AlertNotifier(channel, new MemoryNotifierTransport(bus, NullLogger.Instance), silences: null, options, TimeProvider.System, NullLogger.Instance);

        // A replay at full speed fires its alerts before the notifier's task has run at all.
        await bus.PublishAsync(TestAlerts.Drop("BTC-USD"), ct);
        await bus.PublishAsync(TestAlerts.Drop("ETH-USD"), ct);
        var running = notifier.RunAsync(ct);
        bus.Complete();

        await running.WaitAsync(TimeSpan.FromSeconds(20), ct);
        var sent = channel.SentSymbols.Order();
        Assert.Equal(["BTC-USD", "ETH-USD"], sent);
    }
}

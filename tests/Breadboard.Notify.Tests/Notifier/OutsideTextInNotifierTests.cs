using Breadboard.Core.Streaming;
using Breadboard.Notify.Channels;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using Breadboard.Notify.Tests.Channels;
using Breadboard.TestKit.Http;
using Breadboard.TestKit.Logging;

namespace Breadboard.Notify.Tests.Notifier;

/// <summary>What a receiver answers reaches the notifier's log lines and dead letters without its escape sequences.</summary>
public sealed class OutsideTextInNotifierTests
{
    private const string Hostile = "\u001b[31mdisk full\u001b[0m \u202Egnp.exe\u2066 \u001b]0;pwned\u0007done";

    [Fact]
    public async Task Notifier_ReceiverAnswering500WithEscapes_LogsAndDeadLettersTheErrorWithoutThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await HttpReceiver.StartAsync(_ => Task.FromResult((500, Hostile)), ct);
        await using var channel = new WebhookChannel(new WebhookOptions { Url = new Uri(receiver.Url, "hook"), Secret = "s" });
        await using var bus = new MemoryAlertBus();
        var notifierLog = new ListLogger();
        var transportLog = new ListLogger();
        var options = NotifierOptions.Default with
        {
            MaxDeliveries = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            DeliverPendingOnStop = true,
            Policy = NoisePolicyOptions.Default with { GroupWait = TimeSpan.Zero },
        };
        var notifier = new AlertNotifier(channel, new MemoryNotifierTransport(bus, transportLog), silences: null, options, TimeProvider.System, notifierLog);

        await bus.PublishAsync(TestAlerts.Drop("BTC-USD"), ct);
        var running = notifier.RunAsync(ct);
        bus.Complete();
        await running.WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.Equal(1, notifier.DeadLetters);
        var lines = notifierLog.Lines.Concat(transportLog.Lines).ToList();
        Assert.Contains(lines, l => l.Contains("dead letter", StringComparison.Ordinal) && l.Contains("disk full gnp.exe done", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("attempt 1/2 failed", StringComparison.Ordinal));
        foreach (var line in lines)
        {
            Assert.DoesNotContain('\u001b', line);
            Assert.DoesNotContain('\u0007', line);
            Assert.DoesNotContain('\u202E', line);
            Assert.DoesNotContain('\u2066', line);
        }
    }
}

using Breadboard.TestKit;
using Breadboard.TestKit.Nats;

namespace Breadboard.Nats.Tests;

[Slow]
public sealed class NatsAlertBusTests
{
    private static NatsAlertOptions Options(NatsServerProcess server) =>
        NatsAlertOptions.TryParse(server.Url, out var options, out var error) ? options! : throw new InvalidOperationException(error);

    [Fact]
    public async Task Publish_EachAlertLandsOnceOnItsRuleSubject_WithTheAlertIdAsMessageId()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var alerts = AlertSamples.Many(300);
        await using (var bus = await NatsAlertBus.ConnectAsync(Options(server), cancellationToken: ct))
        {
            foreach (var alert in alerts)
            {
                await bus.PublishAsync(alert, ct);
            }

            await bus.FlushAsync(ct);
            Assert.Equal(300, bus.Published);
            Assert.Equal(0, bus.Pending);
        }

        var messages = await StreamReader.ReadAllAsync(server.Url, NatsAlertOptions.StreamName, ct);
        Assert.Equal(alerts.Select(a => a.Id).Order(), messages.Select(m => m.MsgId!).Order());
        Assert.All(messages, m => Assert.Equal("alerts." + m.Alert!.Rule, m.Subject));
        Assert.Equal(alerts.ToHashSet(), messages.Select(m => m.Alert!).ToHashSet());
    }

    [Fact]
    public async Task Publish_SameAlertsAgain_ServerDropsThemAsDuplicates()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var alerts = AlertSamples.Many(50);
        await using (var first = await NatsAlertBus.ConnectAsync(Options(server), cancellationToken: ct))
        {
            foreach (var alert in alerts)
            {
                await first.PublishAsync(alert, ct);
            }

            await first.FlushAsync(ct);
        }

        // A second process re-publishing the same alerts (a resumed replay, a reprocessed partition).
        await using (var second = await NatsAlertBus.ConnectAsync(Options(server), cancellationToken: ct))
        {
            foreach (var alert in alerts)
            {
                await second.PublishAsync(alert, ct);
            }

            await second.FlushAsync(ct);
            Assert.Equal(0, second.Published);
            Assert.Equal(50, second.Duplicates);
        }

        Assert.Equal(50, (await StreamReader.ReadAllAsync(server.Url, NatsAlertOptions.StreamName, ct)).Count);
    }

    [Fact]
    public async Task Publish_ServerKilledAndRestartedMidStream_EveryAlertLandsExactlyOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var alerts = AlertSamples.Many(2_000);
        await using var bus = await NatsAlertBus.ConnectAsync(Options(server), cancellationToken: ct);

        for (var i = 0; i < 1_000; i++)
        {
            await bus.PublishAsync(alerts[i], ct);
        }

        await server.KillAsync();

        // Published while the server is down: they wait in the buffer, retried with backoff.
        for (var i = 1_000; i < 2_000; i++)
        {
            await bus.PublishAsync(alerts[i], ct);
        }

        await Task.Delay(1_000, ct); // the outage itself: a second of failed retries, after which the alerts still wait
        Assert.True(bus.Pending > 0, "alerts published while NATS is down wait in the buffer");
        await server.RestartAsync(ct);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await bus.FlushAsync(timeout.Token);

        var messages = await StreamReader.ReadAllAsync(server.Url, NatsAlertOptions.StreamName, ct);
        Assert.Equal(alerts.Select(a => a.Id).Order(), messages.Select(m => m.MsgId!).Order());
    }

    [Fact]
    public async Task Connect_ServerFrozenPastOneAttempt_WaitsAndConnectsOnceItAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);

        // Frozen with the connection open: the first attempt to set up the streams times out after 10 s (what a
        // processor frozen at start, or a server busy restarting, meets); it must be asked again, not given up.
        server.Pause();
        var connecting = NatsAlertBus.ConnectAsync(Options(server), cancellationToken: ct);
        await Task.Delay(TimeSpan.FromSeconds(12), ct);
        server.Resume();

        await using var bus = await connecting.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await bus.PublishAsync(AlertSamples.Make(1), ct);
        await bus.FlushAsync(ct);
        Assert.Equal(1, bus.Published);
    }

    [Fact]
    public async Task Ensure_NoAnswerWithinTheRequestTimeout_AsksAgainAndSetsUpTheStreams()
    {
        // Found by the chaos run: a processor paused (SIGSTOP) while it set up its streams woke to "No API response
        // received from the server" (the client's own 5 s request timeout) and exited. Connected, then the server
        // stops answering for longer than that timeout and less than the setup's patience.
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var options = Options(server);
        await using var connection = AlertStreams.Connect(options, "test");
        await connection.ConnectAsync();

        server.Pause();
        var ensuring = AlertStreams.EnsureAsync(connection, options, ct);
        await Task.Delay(TimeSpan.FromSeconds(7), ct);
        server.Resume();

        var js = await ensuring.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var stream = await js.GetStreamAsync(NatsAlertOptions.StreamName, cancellationToken: ct);
        Assert.Equal(NatsAlertOptions.StreamName, stream.Info.Config.Name);
    }

    [Fact]
    public async Task Connect_NoServerListening_FailsWithOneLineNamingTheServer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await NatsServerProcess.StartAsync(ct);
        var options = Options(server);
        await server.KillAsync();

        var error = await Assert.ThrowsAsync<NatsSetupException>(() => NatsAlertBus.ConnectAsync(options, cancellationToken: ct));
        Assert.StartsWith($"NATS {server.Url}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Nats;
using Breadboard.Notify;
using Breadboard.Notify.Channels;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench alerts</c>: acknowledged publishes per second onto the ALERTS stream, then the webhook and
/// Slack channels' delivery rate from their durable consumers to an HTTP receiver on loopback.
/// </summary>
/// <remarks>The receiver answers 200 to every POST: it stands for the far end of the channel (a Slack workspace, a
/// customer's webhook endpoint), so the figure is Breadboard's side. Email needs an SMTP server, so it is not timed
/// here.</remarks>
internal static class AlertsBench
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Alerts to publish.", DefaultValueFactory = _ => 200_000 };
        var deliver = new Option<int>("--deliver") { Description = "Alerts each channel delivers (one notification each; 0 skips the channels).", DefaultValueFactory = _ => 20_000 };
        var command = new Command("alerts", "Acked alert publishes/s onto NATS JetStream, and the webhook and Slack channels' notifications/s (needs --alerts nats://…).") { count, deliver };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(() => RunAsync(parse, parse.GetValue(count), parse.GetValue(deliver), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, int count, int deliver, CancellationToken cancellationToken)
    {
        var options = Backends.NatsAlerts(parse);
        Console.WriteLine($"bench alerts: {count:N0} alerts to {options.Servers}; {Environment.ProcessorCount} cores");

        // A run id in every alert id, so a second run on the same stream publishes new messages, not duplicates.
        var run = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var alerts = new Alert[count];
        for (var i = 0; i < count; i++)
        {
            var symbol = string.Create(CultureInfo.InvariantCulture, $"B{run % 100_000}-{i}");
            alerts[i] = new Alert(Alert.MakeId("price_drop", symbol, "1m", run + i), "price_drop", symbol, "1m", run + i, run + i + 60_000, -6, -5, run + i + 60_000);
        }

        // The channels read from here: this run's alerts.
        var published = DateTimeOffset.UtcNow;
        await using (var bus = await Backends.OpenAlertBusAsync(parse, cancellationToken) as NatsAlertBus ?? throw new SettingException("bench alerts needs --alerts nats://…"))
        {
            var clock = Stopwatch.StartNew();
            foreach (var alert in alerts)
            {
                await bus.PublishAsync(alert, cancellationToken);
            }

            await bus.FlushAsync(cancellationToken);
            clock.Stop();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"publish: {count:N0} alerts acknowledged in {clock.Elapsed.TotalSeconds:F2} s = {count / clock.Elapsed.TotalSeconds:N0} alerts/s (new {bus.Published:N0}, duplicates {bus.Duplicates:N0}, retries {bus.Retries:N0})"));
        }

        if (deliver <= 0)
        {
            return 0;
        }

        using var receiver = new HttpListener();
        var port = FreePort();
        receiver.Prefixes.Add(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        receiver.Start();
        using var stopReceiver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveAsync(receiver, stopReceiver.Token);
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/hook"));
        INotificationChannel[] channels =
        [
            new WebhookChannel(new WebhookOptions { Url = url, Secret = "bench-secret" }),
            new SlackChannel(new SlackOptions { WebhookUrl = url }),
        ];

        var (connection, js) = await Notifications.ConnectAsync(parse, "bench-alerts", cancellationToken);
        await using (connection)
        {
            foreach (var channel in channels)
            {
                await using var _ = channel;
                var name = $"bench_{channel.Name}_{run}";
                var transport = new NatsNotifierTransport(js, name, StartFrom.Time(published), TimeSpan.FromSeconds(30));
                // Every alert its own notification: no grouping, no repeat interval.
                var notifier = new AlertNotifier(channel, transport, null, NotifierOptions.Default with { Policy = NoisePolicyOptions.Default with { GroupWait = TimeSpan.Zero, RepeatInterval = TimeSpan.Zero } }, TimeProvider.System, NullLogger.Instance);
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var clock = Stopwatch.StartNew();
                var running = notifier.RunAsync(stop.Token);
                while (notifier.NotifiedAlerts < deliver && !running.IsCompleted)
                {
                    await Task.Delay(10, cancellationToken);
                }

                clock.Stop();
                await stop.CancelAsync();
                await running;
                await js.DeleteConsumerAsync(NatsAlertOptions.StreamName, name, cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{channel.Name}: {notifier.NotifiedAlerts:N0} notifications delivered and acknowledged in {clock.Elapsed.TotalSeconds:F2} s = {notifier.NotifiedAlerts / clock.Elapsed.TotalSeconds:N0} notifications/s (failed attempts {notifier.FailedAttempts})"));
            }
        }

        await stopReceiver.CancelAsync();
        receiver.Stop();
        await receiving;
        return 0;
    }

    private static async Task ReceiveAsync(HttpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().WaitAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                await context.Request.InputStream.CopyToAsync(Stream.Null, cancellationToken);
                context.Response.StatusCode = 200;
                await context.Response.OutputStream.WriteAsync("ok"u8.ToArray(), cancellationToken);
                context.Response.Close();
            }
            catch (HttpListenerException)
            {
                // The notifier stopped mid-request at the end of a measurement.
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

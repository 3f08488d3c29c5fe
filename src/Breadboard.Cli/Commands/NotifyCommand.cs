using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Nats;
using Breadboard.Notify.Channels;
using Breadboard.Notify.Notifier;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard notify --channel email|slack|webhook</c>: one channel's durable notifier on the NATS ALERTS stream.</summary>
internal static class NotifyCommand
{
    public static Command Create()
    {
        var channel = new Option<string>("--channel") { Description = "email, slack or webhook; its settings come from BREADBOARD_SMTP_*, BREADBOARD_SLACK_WEBHOOK_URL or BREADBOARD_WEBHOOK_URL/SECRET.", Required = true };
        channel.AcceptOnlyFromAmong([.. ChannelSettings.Names]);
        var from = new Option<string>("--from") { Description = "Where a NEW channel starts: new (alerts from now on), beginning (everything the stream holds) or a time (ISO-8601, date or epoch ms). An existing channel resumes where it stopped.", DefaultValueFactory = _ => "new" };
        var repeat = new Option<string>("--repeat-interval") { Description = "Per rule and symbol, no second notification within this much event time.", DefaultValueFactory = _ => "1h" };
        var groupWait = new Option<string>("--group-wait") { Description = "Alerts of one rule within this wait go out as one notification; 0s sends each at once.", DefaultValueFactory = _ => "10s" };
        var ackWait = new Option<string>("--ack-wait") { Description = "How long NATS waits for an acknowledgement before delivering an alert again: after a crash, a restarted notifier gets the alerts its predecessor held after this long.", DefaultValueFactory = _ => "30s" };
        var healthUrls = WorkerHealth.Option();
        var maxDeliveries = new Option<int>("--max-deliveries") { Description = "Attempts before a notification goes to alerts.dead.<channel>.", DefaultValueFactory = _ => NotifierOptions.Default.MaxDeliveries };
        var command = new Command("notify", "Deliver alerts from the NATS ALERTS stream to one channel, exactly once, with retries, dead letters and noise control (needs --alerts nats://…).")
        {
            channel, from, repeat, groupWait, ackWait, maxDeliveries, healthUrls,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var name = parse.GetValue(channel)!;
            var start = StartOf(parse.GetValue(from)!);
            var wait = Duration("--ack-wait", parse.GetValue(ackWait)!);
            if (wait < TimeSpan.FromSeconds(1))
            {
                throw new SettingException("--ack-wait must be at least 1s");
            }

            var options = NotifierOptions.Default with
            {
                // Held alerts are kept from redelivery three times per ack wait.
                KeepAliveEvery = wait / 3,
                MaxDeliveries = parse.GetValue(maxDeliveries) >= 1 ? parse.GetValue(maxDeliveries) : throw new SettingException("--max-deliveries must be at least 1"),
                Policy = NotifierOptions.Default.Policy with
                {
                    RepeatInterval = Duration("--repeat-interval", parse.GetValue(repeat)!),
                    GroupWait = Duration("--group-wait", parse.GetValue(groupWait)!),
                },
            };
            await using var target = Notifications.Channel(name);
            await using var health = await WorkerHealth.StartAsync(parse, healthUrls, "notify", cancellationToken);
            var (connection, js) = await Notifications.ConnectAsync(parse, $"notify-{name}", cancellationToken);
            await using var _ = connection;
            var transport = new NatsNotifierTransport(js, name, start, wait);
            var notifier = new AlertNotifier(target, transport, Notifications.Silences(parse, js), options, TimeProvider.System, CommandRunner.Logger("notify"));
            Console.WriteLine($"breadboard notify: channel {name} on {Backends.NatsAlerts(parse).Servers} (durable consumer '{name}'; a new one starts from {start}); Ctrl-C to stop");
            if (health is not null)
            {
                Console.WriteLine(health.Line);
            }

            health?.Ready();
            await notifier.RunAsync(cancellationToken);
            health?.Stopping();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"notify {name}: {notifier.Received} alerts read, {notifier.Notifications} notifications ({notifier.NotifiedAlerts} alerts), {notifier.Suppressed} held back by policy, {notifier.DeadLetters} dead letters, {notifier.Malformed} malformed"));
            return 0;
        }));
        return command;
    }

    private static StartFrom StartOf(string value) => value switch
    {
        "new" => StartFrom.NewOnly,
        "beginning" => StartFrom.Beginning,
        _ when EventTime.TryParse(value, out var ms) => StartFrom.Time(EventTime.ToDateTimeOffset(ms)),
        _ => throw new SettingException($"--from '{value}': expected new, beginning or a time (ISO-8601, yyyy-MM-dd or epoch ms)"),
    };

    private static TimeSpan Duration(string flag, string value) =>
        DurationText.TryParse(value, out var ms) ? TimeSpan.FromMilliseconds(ms) : throw new SettingException($"{flag} '{value}': expected a duration like 0s, 10s, 5m or 1h");
}

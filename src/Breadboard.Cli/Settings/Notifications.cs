using System.CommandLine;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Nats;
using Breadboard.Notify;
using Breadboard.Notify.Channels;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using NATS.Client.JetStream;

namespace Breadboard.Cli.Settings;

/// <summary>Silences and notifier channels as the settings name them: NATS when the alert bus is NATS, a file and the in-process bus embedded.</summary>
internal static class Notifications
{
    /// <summary>Channels whose settings are in the environment, so <c>up</c> runs their notifiers.</summary>
    public static IReadOnlyList<string> ConfiguredChannels() =>
    [
        .. new[] { ("email", ChannelSettings.SmtpHostVariable), ("slack", ChannelSettings.SlackWebhookUrlVariable), ("webhook", ChannelSettings.WebhookUrlVariable) }
            .Where(c => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(c.Item2)))
            .Select(c => c.Item1),
    ];

    /// <summary>A channel from its environment settings; a missing one is a one-line error.</summary>
    public static INotificationChannel Channel(string name)
    {
        try
        {
            return ChannelSettings.Create(name, Environment.GetEnvironmentVariable);
        }
        catch (ChannelSettingsException e)
        {
            throw new SettingException($"--channel {name}: {e.Message}");
        }
    }

    /// <summary>
    /// Where silences live: the NATS key-value bucket when alerts go to NATS (shared by every process), else
    /// <c>silences.json</c> beside the DuckDB file.
    /// </summary>
    public static ISilenceStore Silences(ParseResult parse, INatsJSContext? js)
    {
        if (js is not null)
        {
            return new NatsSilenceStore(js, TimeProvider.System);
        }

        var url = Seams.Store.Resolve(parse);
        var directory = DuckDbStore.TryParseUrl(url, out var path, out _) ? Path.GetDirectoryName(Path.GetFullPath(path)) : null;
        return new FileSilenceStore(Path.Combine(directory ?? "data", "silences.json"), TimeProvider.System);
    }

    /// <summary>Connects to NATS for a command that reads the alert stream (notify, silences, api); an unreachable server is a one-line error.</summary>
    public static async Task<(NATS.Client.Core.NatsConnection Connection, INatsJSContext Js)> ConnectAsync(ParseResult parse, string role, CancellationToken cancellationToken)
    {
        var options = Backends.NatsAlerts(parse);
        var connection = AlertStreams.Connect(options, role);
        try
        {
            return (connection, await AlertStreams.EnsureAsync(connection, options, cancellationToken));
        }
        catch (NatsSetupException e)
        {
            await connection.DisposeAsync();
            throw new SettingException($"{Seams.Alerts.Describe(Seams.Alerts.Resolve(parse))}: {e.Message}");
        }
    }

    /// <summary>The notifiers of <c>up</c>: one per configured channel, reading the bus <c>up</c> publishes to; a new NATS channel starts at <paramref name="started"/>.</summary>
    public static List<(AlertNotifier Notifier, INotificationChannel Channel)> ForUp(AlertSeam alerts, ISilenceStore silences, DateTimeOffset started, IReadOnlyList<Core.Pipeline.RuleDefinition> rules)
    {
        var result = new List<(AlertNotifier, INotificationChannel)>();
        foreach (var name in ConfiguredChannels())
        {
            var channel = Channel(name);
            var logger = Commands.CommandRunner.Logger("notify");
            var options = NotifierOptions.Default with { DeliverPendingOnStop = alerts.DeliverPendingOnStop, Rules = rules };
            result.Add((new AlertNotifier(channel, alerts.Transport(name, started, logger), silences, options, TimeProvider.System, logger), channel));
        }

        return result;
    }

    /// <summary>How long NATS waits for the acknowledgement of a notifier inside <c>up</c> before redelivering; held alerts are kept alive every 10 s.</summary>
    public static readonly TimeSpan NotifyAckWait = TimeSpan.FromSeconds(30);
}

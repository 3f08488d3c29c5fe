using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Nats;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard alerts replay</c>: the alerts on the NATS ALERTS stream since a time, as NDJSON.</summary>
internal static class AlertsCommand
{
    public static Command Create()
    {
        var since = new Option<string>("--since") { Description = "From this time: ISO-8601 UTC, a date (yyyy-MM-dd) or epoch ms.", Required = true };
        var subject = new Option<string>("--subject") { Description = "Subject filter, NATS wildcards allowed: alerts.price_drop, alerts.*", DefaultValueFactory = _ => NatsAlertOptions.AlertSubjects };
        var output = new Option<string?>("--out", "-o") { Description = "NDJSON file to write; default stdout." };
        var replay = new Command("replay", "Print the alerts stored on the ALERTS stream since a time (needs --alerts nats://…).") { since, subject, output };
        replay.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            if (!EventTime.TryParse(parse.GetValue(since)!, out var sinceMs))
            {
                throw new SettingException($"--since '{parse.GetValue(since)}': expected an ISO-8601 UTC time, a date (yyyy-MM-dd) or epoch milliseconds");
            }

            var filter = parse.GetValue(subject)!;
            if (!filter.StartsWith("alerts.", StringComparison.Ordinal) || filter.StartsWith("alerts.dead.", StringComparison.Ordinal))
            {
                throw new SettingException($"--subject '{filter}': must be an alert subject, alerts.<rule> or alerts.*");
            }

            var (connection, js) = await Notifications.ConnectAsync(parse, "alerts-replay", cancellationToken);
            await using var _ = connection;

            var path = parse.GetValue(output);
            await using var stream = path is null ? Console.OpenStandardOutput() : File.Create(path);
            long count = 0;
            await foreach (var stored in AlertReplay.ReadAsync(js, EventTime.ToDateTimeOffset(sinceMs), filter, cancellationToken))
            {
                await stream.WriteAsync(stored.Data, cancellationToken);
                stream.WriteByte((byte)'\n');
                count++;
            }

            await stream.FlushAsync(cancellationToken);
            await Console.Error.WriteLineAsync($"alerts replay: {count} alerts on {filter} since {EventTime.ToIso(sinceMs)}");
            return 0;
        }));

        return new Command("alerts", "The alert stream on NATS: replay.") { replay };
    }
}

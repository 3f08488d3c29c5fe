using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Nats;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard alerts replay</c>: the alerts on the NATS ALERTS stream since a time, as NDJSON;
/// <c>breadboard alerts publish</c>: one alert from outside the pipeline (a failed Airflow task) onto the alert bus.
/// </summary>
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

        return new Command("alerts", "The alert stream on NATS: replay, publish.") { replay, Publish() };
    }

    private static Command Publish()
    {
        var rule = new Option<string>("--rule") { Description = "The rule that fired; the subject is alerts.<rule> (batch_failed → alerts.batch_failed).", Required = true };
        var symbol = new Option<string>("--symbol") { Description = "What the alert is about: a symbol, or for a batch job the job (historical_fetch, as the DAG publishes it).", Required = true };
        var value = new Option<double>("--value") { Description = "What was measured (for batch_failed: the try that failed). Default 0." };
        var threshold = new Option<double>("--threshold") { Description = "The limit it is measured against (for batch_failed: the tries allowed). Default 0." };
        var window = new Option<string>("--window") { Description = "The alert's window label.", DefaultValueFactory = _ => "batch" };
        var ts = new Option<string?>("--ts") { Description = "When: ISO-8601 UTC, a date or epoch ms; now when omitted. Part of the id: give the same time (a run's data interval end) and a repeat is the same alert." };
        var publish = new Command("publish", "Publish one alert to the alert bus (--alerts nats://… ; with memory:// it is only printed) and print its id.") { rule, symbol, value, threshold, window, ts };
        publish.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var tsMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (parse.GetValue(ts) is { } text && !EventTime.TryParse(text, out tsMs))
            {
                throw new SettingException($"--ts '{text}': expected an ISO-8601 UTC time, a date (yyyy-MM-dd) or epoch milliseconds");
            }

            var ruleName = NonEmpty("--rule", parse.GetValue(rule));
            var subject = NonEmpty("--symbol", parse.GetValue(symbol));
            var windowName = NonEmpty("--window", parse.GetValue(window));
            // The id is what the bus de-duplicates on (Nats-Msg-Id) and readers key on: from the inputs only, never
            // from the wall clock unless --ts is left out, so a callback that fires twice publishes one alert.
            var alert = new Alert(Alert.MakeId(ruleName, subject, windowName, tsMs), ruleName, subject, windowName, tsMs, tsMs, parse.GetValue(value), parse.GetValue(threshold), tsMs);

            if (Seam.SchemeOf(Seams.Alerts.Resolve(parse)) != "nats")
            {
                // An in-process bus has no subscriber in this short-lived process: the alert itself is the output.
                await using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(RecordJson.Alert(alert), cancellationToken);
                stdout.WriteByte((byte)'\n');
                await Console.Error.WriteLineAsync("alerts publish: the alert bus is memory://, so nothing outside this process receives it; printed instead");
                return 0;
            }

            var bus = (NatsAlertBus)await Backends.OpenAlertBusAsync(parse, cancellationToken);
            await using (bus)
            {
                await bus.PublishAsync(alert, cancellationToken);
                await bus.FlushAsync(cancellationToken);
                Console.WriteLine(alert.Id);
                var state = bus.Duplicates > 0 ? "already on the stream, not published again" : "published";
                await Console.Error.WriteLineAsync($"alerts publish: {alert.Id} on {NatsAlertOptions.SubjectOf(alert.Rule)}: {state}");
            }

            return 0;
        }));

        return publish;
    }

    private static string NonEmpty(string option, string? text) =>
        string.IsNullOrWhiteSpace(text) ? throw new SettingException($"{option}: must not be empty") : text;
}

using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard export</c>: bars and alerts from the configured store, in replay's format.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var barsOut = new Option<string?>("--bars-out") { Description = "File for the bars." };
        var alertsOut = new Option<string?>("--alerts-out") { Description = "File for the alerts." };
        var format = new Option<RecordFormat>("--format") { Description = "ndjson or csv.", DefaultValueFactory = _ => RecordFormat.Ndjson };
        var symbol = new Option<string?>("--symbol") { Description = "Only this symbol." };
        var window = new Option<string?>("--window") { Description = "Only bars of this window (1m, 5m, session, ...)." };
        var from = new Option<string?>("--from") { Description = "Bars starting, and alerts raised, at or after this time (ISO-8601 or epoch ms)." };
        var to = new Option<string?>("--to") { Description = "... and before this time." };
        var command = new Command("export", "Export bars and alerts from the store as NDJSON or CSV, with the field names replay writes.")
        {
            barsOut, alertsOut, format, symbol, window, from, to,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var barsPath = parse.GetValue(barsOut);
            var alertsPath = parse.GetValue(alertsOut);
            if (barsPath is null && alertsPath is null)
            {
                throw new SettingException("give --bars-out, --alerts-out or both");
            }

            var fromMs = CommandRunner.ParseTime(parse.GetValue(from), "--from");
            var toMs = CommandRunner.ParseTime(parse.GetValue(to), "--to");
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            var recordFormat = parse.GetValue(format);
            long bars = 0, alerts = 0;

            if (barsPath is not null)
            {
                await using var file = File.Create(barsPath);
                using var writer = new RecordWriter(file, recordFormat);
                await foreach (var bar in store.QueryBarsAsync(new BarQuery(parse.GetValue(symbol), parse.GetValue(window), fromMs, toMs), cancellationToken))
                {
                    writer.Write(bar);
                    bars++;
                }
            }

            if (alertsPath is not null)
            {
                await using var file = File.Create(alertsPath);
                using var writer = new RecordWriter(file, recordFormat);
                await foreach (var alert in store.QueryAlertsAsync(new AlertQuery(parse.GetValue(symbol), Since: fromMs, To: toMs), cancellationToken))
                {
                    writer.Write(alert);
                    alerts++;
                }
            }

            await Console.Error.WriteLineAsync($"exported {bars} bars, {alerts} alerts");
            return 0;
        }));
        return command;
    }
}

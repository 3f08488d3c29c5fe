using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Runtime.Faces;
using Spectre.Console;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard backtest</c>: a proposed pipeline over the stored ticks, to see what it would have fired.</summary>
internal static class BacktestCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        pipeline.Description = "The pipeline to backtest (YAML or JSON); default as for the other commands.";
        var from = new Option<string?>("--from") { Description = "Report from this event time (ISO-8601, a date or epoch ms); earlier ticks are read to warm indicators and rules up." };
        var to = new Option<string?>("--to") { Description = "Read ticks before this event time (exclusive)." };
        var symbols = new Option<string?>("--symbols") { Description = "Comma-separated symbols; default every stored one." };
        var alertsOut = new Option<string>("--alerts-out") { Description = "NDJSON file for the alerts it would have fired (replay's format).", Required = true };
        var barsOut = new Option<string?>("--bars-out") { Description = "NDJSON file for its bars (replay's format)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar or summary." };
        var command = new Command("backtest", "Run a pipeline over the stored ticks (read-only, while the pipeline runs) and write what it would have produced.")
        {
            pipeline, from, to, symbols, alertsOut, barsOut, quiet,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            var fromMs = CommandRunner.ParseTime(parse.GetValue(from), "--from");
            var toMs = CommandRunner.ParseTime(parse.GetValue(to), "--to");
            if (fromMs >= toMs)
            {
                throw new SettingException($"--from {EventTime.ToIso(fromMs!.Value)} is not before --to {EventTime.ToIso(toMs!.Value)}: the range is empty");
            }

            var symbolList = ParseSymbols(parse.GetValue(symbols));
            var isQuiet = parse.GetValue(quiet);
            await using var store = await Backends.OpenStoreForReadingAsync(parse, note => Note(isQuiet, note), cancellationToken);
            var options = new BacktestOptions
            {
                Store = store,
                StoreName = Seams.Store.Shown(parse),
                Pipeline = definition,
                From = fromMs,
                To = toMs,
                Symbols = symbolList,
                AlertsOut = parse.GetValue(alertsOut),
                BarsOut = parse.GetValue(barsOut),
                Logger = CommandRunner.Logger("backtest"),
            };

            var result = !isQuiet && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
                ? await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("backtest", maxValue: 1);
                        return await Backtest.RunAsync(options, (done, total) => task.Value = total == 0 ? 1 : (double)done / total, cancellationToken);
                    })
                : await Backtest.RunAsync(options, cancellationToken: cancellationToken);

            if (!isQuiet)
            {
                Console.WriteLine(Summary(result));
            }

            return 0;
        }));
        return command;
    }

    private static void Note(bool quiet, string note)
    {
        if (!quiet)
        {
            Console.Error.WriteLine($"backtest: {note}");
        }
    }

    private static List<string>? ParseSymbols(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? throw new SettingException($"--symbols '{text}': no symbol named") : list;
    }

    private static string Summary(BacktestResult r)
    {
        var rate = r.Elapsed.TotalSeconds > 0 ? r.Ticks / r.Elapsed.TotalSeconds : 0;
        var warmup = r.ReadFrom is { } readFrom ? $" ({r.WarmupTicks:N0} of them from {EventTime.ToIso(readFrom)} to warm up, not reported)" : "";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"backtested {r.Ticks:N0} stored ticks{warmup} in {r.Elapsed.TotalSeconds:F2} s ({rate:N0} ticks/s): {r.Bars:N0} bars, {r.Alerts:N0} alerts, {r.Late:N0} late, {r.Duplicates:N0} duplicates, {r.Refused:N0} refused");
    }
}

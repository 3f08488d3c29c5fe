using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Runtime.Faces;
using Breadboard.Web.Reports;
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
        var compare = new Option<bool>("--compare") { Description = "Also backtest the pipeline running now (the definition 'up' or 'process' recorded in the store) and print, per rule and symbol, alerts before, after, only before and only after." };
        var report = new Option<string?>("--report") { Description = "Write one self-contained HTML file: per rule a timeline of firings, per symbol candles with indicators and alert markers." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar or summary." };
        var command = new Command("backtest", "Run a pipeline over the stored ticks (read-only, while the pipeline runs) and write what it would have produced.")
        {
            pipeline, from, to, symbols, alertsOut, barsOut, compare, report, quiet,
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
                Keep = parse.GetValue(compare) || parse.GetValue(report) is not null,
                Logger = CommandRunner.Logger("backtest"),
            };

            // The running definition is read before anything runs, so that a store without one fails at once.
            var running = parse.GetValue(compare) ? await RunningAsync(store, options.StoreName, cancellationToken) : null;
            var result = await RunAsync(options, isQuiet, "backtest", cancellationToken);
            if (!isQuiet)
            {
                Console.WriteLine(Summary(result));
            }

            BacktestResult? baseline = null;
            if (running is not null)
            {
                baseline = await RunAsync(options with { Pipeline = running, AlertsOut = null, BarsOut = null }, isQuiet, "running pipeline", cancellationToken);
                Console.WriteLine($"compared with the running pipeline {running.Digest()}: {baseline.Alerts:N0} alerts before, {result.Alerts:N0} after");
                Console.Write(ComparisonTable(BacktestComparison.Compare(baseline.KeptAlerts, result.KeptAlerts)));
            }

            if (parse.GetValue(report) is { } reportPath)
            {
                await using var file = File.Create(reportPath);
                var title = $"backtest of {(parse.GetValue(pipeline) is { } p ? Path.GetFileName(p) : "the default pipeline")}";
                BacktestReport.Write(file, new BacktestReportInput(title, definition, result.KeptBars, result.KeptAlerts, fromMs, toMs, baseline?.KeptAlerts, result.Ticks));
                if (!isQuiet)
                {
                    Console.WriteLine($"report: {Path.GetFullPath(reportPath)}");
                }
            }

            return 0;
        }));
        return command;
    }

    private static async Task<BacktestResult> RunAsync(BacktestOptions options, bool quiet, string label, CancellationToken cancellationToken) =>
        !quiet && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            ? await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(label, maxValue: 1);
                    return await Backtest.RunAsync(options, (done, total) => task.Value = total == 0 ? 1 : (double)done / total, cancellationToken);
                })
            : await Backtest.RunAsync(options, cancellationToken: cancellationToken);

    /// <summary>The definition 'up' or 'process' last recorded in the store.</summary>
    private static async Task<PipelineDefinition> RunningAsync(IMarketStore store, string storeName, CancellationToken cancellationToken)
    {
        var stored = await store.LoadPipelineAsync(cancellationToken)
            ?? throw new SettingException($"--compare: {storeName} has no running pipeline recorded; 'up' and 'process' record theirs when they start and reload");
        try
        {
            return PipelineLoader.Parse(stored.Yaml, $"the running pipeline {stored.Digest}");
        }
        catch (PipelineConfigException e)
        {
            throw new SettingException($"--compare: the running pipeline {stored.Digest} recorded in {storeName} does not load: {e.Errors[0]}");
        }
    }

    /// <summary>Per rule and symbol: before, after, only before, only after; a total line.</summary>
    private static string ComparisonTable(IReadOnlyList<BacktestDifference> rows)
    {
        var ruleWidth = Math.Max(4, rows.Select(r => r.Rule.Length).DefaultIfEmpty(0).Max());
        var symbolWidth = Math.Max(6, rows.Select(r => r.Symbol.Length).DefaultIfEmpty(0).Max());
        var text = new System.Text.StringBuilder();
        void Line(string rule, string symbol, string before, string after, string onlyBefore, string onlyAfter) =>
            text.Append(CultureInfo.InvariantCulture, $"{rule.PadRight(ruleWidth)}  {symbol.PadRight(symbolWidth)}  {before,8}  {after,8}  {onlyBefore,11}  {onlyAfter,10}\n");
        Line("rule", "symbol", "before", "after", "only before", "only after");
        foreach (var r in rows)
        {
            Line(OutsideText.ForDisplay(r.Rule), OutsideText.ForDisplay(r.Symbol), N(r.Before), N(r.After), N(r.OnlyBefore), N(r.OnlyAfter));
        }

        Line("total", "", N(rows.Sum(r => r.Before)), N(rows.Sum(r => r.After)), N(rows.Sum(r => r.OnlyBefore)), N(rows.Sum(r => r.OnlyAfter)));
        return text.ToString();

        static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
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

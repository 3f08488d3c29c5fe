using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Codec;
using Breadboard.Core.Seams;
using Breadboard.Runtime;
using Breadboard.Runtime.Faces;
using Spectre.Console;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard replay</c>: a tick file through the pipeline, offline and deterministic.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "Tick file: NDJSON (one JSON object per line) or CSV with a header; .gz is read compressed.", Required = true };
        var format = new Option<TickFormat?>("--format") { Description = "Input format; by default .csv files are CSV and anything else NDJSON." };
        var pipeline = CommandRunner.PipelineOption();
        var barsOut = new Option<string>("--bars-out") { Description = "NDJSON file for every final bar, each written exactly once.", Required = true };
        var alertsOut = new Option<string>("--alerts-out") { Description = "NDJSON file for the alerts.", Required = true };
        var lateOut = new Option<string?>("--late-out") { Description = "NDJSON file for ticks that arrived after all their windows closed." };
        var rejectsOut = new Option<string?>("--rejects-out") { Description = "NDJSON file for input lines that are not valid ticks: line number, reason, input." };
        var speed = new Option<double?>("--speed") { Description = "Replay at this multiple of event time (1 = as recorded); default as fast as possible." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file: a killed replay started again with the same arguments resumes from it." };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "Input ticks between checkpoints.", DefaultValueFactory = _ => 500_000 };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar or summary." };

        var command = new Command("replay", "Replay a tick file through the pipeline; writes bars, alerts, late ticks and rejects as NDJSON.")
        {
            input, format, pipeline, barsOut, alertsOut, lateOut, rejectsOut, speed, checkpoint, checkpointEvery, quiet,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var inputPath = parse.GetValue(input)!;
            if (!File.Exists(inputPath))
            {
                throw new SettingException($"--input '{inputPath}': file not found");
            }

            if (parse.GetValue(speed) is <= 0)
            {
                throw new SettingException("--speed must be greater than 0");
            }

            if (parse.GetValue(checkpointEvery) < 1)
            {
                throw new SettingException("--checkpoint-every must be at least 1");
            }

            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            Backends.CheckOtherSeams(parse);

            // Replay is offline: it writes to a store or alert bus only when one is configured explicitly.
            await using var store = Seams.Store.IsExplicit(parse) ? await Backends.OpenStoreAsync(parse, cancellationToken) : null;
            await using var alertBus = Seams.Alerts.IsExplicit(parse) ? await Backends.OpenAlertBusAsync(parse, cancellationToken) : null;

            var options = new ReplayOptions
            {
                Input = inputPath,
                Format = parse.GetValue(format),
                Pipeline = definition,
                BarsOut = parse.GetValue(barsOut)!,
                AlertsOut = parse.GetValue(alertsOut)!,
                LateOut = parse.GetValue(lateOut),
                RejectsOut = parse.GetValue(rejectsOut),
                Speed = parse.GetValue(speed),
                Checkpoint = parse.GetValue(checkpoint),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Store = store,
                AlertBus = alertBus,
                Logger = CommandRunner.Logger("replay"),
            };

            var showProgress = !parse.GetValue(quiet) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            RunResult result;
            if (showProgress)
            {
                result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask(Path.GetFileName(inputPath), maxValue: 1);
                        return await Replay.RunAsync(options, (done, total) => task.Value = total == 0 ? 1 : (double)done / total, cancellationToken);
                    });
            }
            else
            {
                result = await Replay.RunAsync(options, cancellationToken: cancellationToken);
            }

            if (!parse.GetValue(quiet))
            {
                Console.WriteLine(Summary(result));
            }

            return 0;
        }));
        return command;
    }

    private static string Summary(RunResult r)
    {
        var rate = r.Elapsed.TotalSeconds > 0 ? r.Ticks / r.Elapsed.TotalSeconds : 0;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{(r.Resumed ? "resumed and replayed" : "replayed")} {r.Ticks:N0} ticks from {r.Lines:N0} lines in {r.Elapsed.TotalSeconds:F2} s ({rate:N0} ticks/s): {r.Bars:N0} bars, {r.Alerts:N0} alerts, {r.Late:N0} late, {r.Duplicates:N0} duplicates, {r.Rejects:N0} rejects");
    }
}

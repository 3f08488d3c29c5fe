using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Batch.Providers;
using Breadboard.Batch.Staging;
using Breadboard.Batch.Steps;
using Breadboard.Batch.Validation;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard batch fetch|validate|write|run</c>: the historical batch's steps by run id, as Airflow's tasks and the
/// in-process scheduler run them.
/// </summary>
internal static class BatchCommand
{
    public const string Job = "historical_fetch";

    /// <summary>Exit code of a run whose data failed validation (not a usage error).</summary>
    public const int BadData = 1;

    public static Command Create()
    {
        var runId = new Option<string>("--run-id") { Description = "The run's id: its staging folder, and what makes the steps resumable (Airflow passes {{ run_id }}).", Required = true };
        var staging = new Option<string>("--staging") { Description = "Staging root; a run's files go under STAGING/RUN_ID.", DefaultValueFactory = _ => Path.Combine("data", "staging") };
        var fetchOptions = FetchOptions.Create();
        var sigma = new Option<double>("--sigma") { Description = "Outlier limit: close-to-close moves beyond this many robust standard deviations.", DefaultValueFactory = _ => ValidationOptions.Default.OutlierSigmas };
        var allowGaps = new Option<bool>("--allow-gaps") { Description = "Report missing bars as warnings, not errors." };

        var fetch = new Command("fetch", "Stage the provider's bars for the run (symbols already staged are kept).") { runId, staging };
        fetchOptions.AddTo(fetch);
        fetch.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var (request, provider) = fetchOptions.Read(parse);
            var staged = await Step(() => Steps(parse, staging).FetchAsync(parse.GetValue(runId)!, request, provider, ct));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fetch {parse.GetValue(runId)}: {staged:N0} bars staged from {provider.Name} under {Path.Combine(parse.GetValue(staging)!, parse.GetValue(runId)!)}"));
            return 0;
        }));

        var validate = new Command("validate", "Check the staged bars (schema, duplicates, gaps, outliers, OHLC, volume); writes report.json, exits 1 on bad data.") { runId, staging, sigma, allowGaps };
        validate.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var report = await Step(() => Steps(parse, staging).ValidateAsync(parse.GetValue(runId)!, Validation(parse, sigma, allowGaps), ct));
            return await Verdict(report, Steps(parse, staging).ReportPath(parse.GetValue(runId)!));
        }));

        var write = new Command("write", "Upsert the validated bars into the store (--store); writing twice changes nothing.") { runId, staging };
        write.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            await using var store = await Backends.OpenStoreAsync(parse, ct);
            var rows = await Step(() => Steps(parse, staging).WriteAsync(parse.GetValue(runId)!, store, ct));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"write {parse.GetValue(runId)}: {rows:N0} bars upserted into {Seams.Store.Shown(parse)}"));
            return 0;
        }));

        var run = new Command("run", "fetch, validate and write in one go, resuming a run id from its first unfinished step; records the run in the store's job history.") { runId, staging, sigma, allowGaps };
        fetchOptions.AddTo(run);
        run.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            var (request, provider) = fetchOptions.Read(parse);
            await using var store = await Backends.OpenStoreAsync(parse, ct);
            var id = parse.GetValue(runId)!;
            var job = new BatchJob(Steps(parse, staging), store, TimeProvider.System);
            BatchJobResult result;
            try
            {
                result = await Step(() => job.RunAsync(id, request, provider, Validation(parse, sigma, allowGaps), attempt: 1, ct));
            }
            catch (BadDataException e) when (e.Report is { } report)
            {
                return await Verdict(report, Steps(parse, staging).ReportPath(id));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {id}: {result.Rows:N0} bars written into {Seams.Store.Shown(parse)}{(result.Report is null ? "" : $" ({result.Report.Bars:N0} validated)")}"));
            return 0;
        }));

        return new Command("batch", "The historical batch: fetch → validate → write by run id.") { fetch, validate, write, run };
    }

    private static BatchSteps Steps(ParseResult parse, Option<string> staging) => new(parse.GetValue(staging)!);

    private static ValidationOptions Validation(ParseResult parse, Option<double> sigma, Option<bool> allowGaps) =>
        ValidationOptions.Default with { OutlierSigmas = parse.GetValue(sigma), AllowGaps = parse.GetValue(allowGaps) };

    private static async Task<int> Verdict(ValidationReport report, string reportPath)
    {
        Console.WriteLine(report.Summary());
        if (report.Ok)
        {
            return 0;
        }

        await Console.Error.WriteLineAsync($"error: validate {report.RunId}: bad data; the report is {reportPath}");
        return BadData;
    }

    /// <summary>The steps' refusals and providers' failures as one-line errors.</summary>
    private static async Task<T> Step<T>(Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or HistoricalProviderException)
        {
            throw new SettingException(e is ArgumentException a ? CommandRunner.OneLine(a) : e.Message);
        }
    }

    /// <summary>What fetch (and run) take: the provider and what to fetch.</summary>
    private sealed class FetchOptions
    {
        private readonly Option<string> _provider = new("--provider") { Description = $"Where bars come from: {string.Join(", ", HistoricalProviders.Names)}.", DefaultValueFactory = _ => "synthetic" };
        private readonly Option<string> _symbols = new("--symbols") { Description = "Comma-separated symbols (BTC-USD, AAPL, ...).", Required = true };
        private readonly Option<string> _from = new("--from") { Description = "First bar start (ISO-8601, a date, or epoch ms).", Required = true };
        private readonly Option<string> _to = new("--to") { Description = "End of the range, exclusive.", Required = true };
        private readonly Option<string> _interval = new("--interval") { Description = "Bar interval: " + string.Join(", ", BarInterval.All) + ".", DefaultValueFactory = _ => "1m" };
        private readonly Option<string?> _path = new("--path") { Description = "The file provider's CSV or NDJSON file." };
        private readonly Option<long> _seed = new("--seed") { Description = "The synthetic provider's seed.", DefaultValueFactory = _ => 1 };

        public static FetchOptions Create() => new();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _provider, _symbols, _from, _to, _interval, _path, _seed })
            {
                command.Options.Add(option);
            }
        }

        public (FetchRequest Request, IHistoricalProvider Provider) Read(ParseResult parse)
        {
            var symbols = parse.GetValue(_symbols)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (symbols.Length == 0)
            {
                throw new SettingException("--symbols: name at least one symbol");
            }

            var from = Time(parse.GetValue(_from)!, "--from");
            var to = Time(parse.GetValue(_to)!, "--to");
            if (to <= from)
            {
                throw new SettingException($"--to {EventTime.ToIso(to)} must be after --from {EventTime.ToIso(from)}");
            }

            var interval = parse.GetValue(_interval)!;
            if (!BarInterval.TryParse(interval, out _))
            {
                throw new SettingException($"--interval '{interval}': use one of {string.Join(", ", BarInterval.All)}");
            }

            var name = parse.GetValue(_provider)!;
            try
            {
                var provider = HistoricalProviders.Create(name, HistoricalProviderOptions.Default with
                {
                    Path = parse.GetValue(_path),
                    Seed = parse.GetValue(_seed),
                    Logger = CommandRunner.Logger("batch"),
                });
                return (new FetchRequest(provider.Name, symbols, from, to, interval), provider);
            }
            catch (ArgumentException e)
            {
                throw new SettingException($"--provider {name}: {CommandRunner.OneLine(e)}");
            }
        }

        /// <summary>ISO-8601 (with Z or an offset, as Airflow's macros give), a date, or epoch ms.</summary>
        private static long Time(string text, string flag)
        {
            if (EventTime.TryParse(text, out var ms))
            {
                return ms;
            }

            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                ? time.ToUnixTimeMilliseconds()
                : throw new SettingException($"{flag} '{text}': not an ISO-8601 time (2026-01-02T14:30:00Z), a date or epoch milliseconds");
        }
    }
}

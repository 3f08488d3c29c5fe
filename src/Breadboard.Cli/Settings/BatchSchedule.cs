using System.CommandLine;
using Breadboard.Batch.Providers;
using Breadboard.Batch.Scheduling;
using Breadboard.Batch.Steps;
using Breadboard.Cli.Commands;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The historical job that <c>up</c> schedules with <c>--scheduler local</c>: off until <c>--batch-symbols</c> names
/// what to fetch (historical bars replace live ones of the same minutes, so nothing is fetched unasked).
/// </summary>
internal sealed class BatchSchedule
{
    public const string SymbolsVariable = "BREADBOARD_BATCH_SYMBOLS";
    public const string ProviderVariable = "BREADBOARD_BATCH_PROVIDER";
    public const string CronVariable = "BREADBOARD_BATCH_CRON";
    public const string RetriesVariable = "BREADBOARD_BATCH_RETRIES";
    public const string RetryDelayVariable = "BREADBOARD_BATCH_RETRY_DELAY";

    private readonly Option<string?> _symbols = new("--batch-symbols") { Description = $"Symbols the scheduled historical job fetches (env {SymbolsVariable}); none: no job." };
    private readonly Option<string?> _provider = new("--batch-provider") { Description = $"Its provider: {string.Join(", ", HistoricalProviders.Names)} (env {ProviderVariable}, default synthetic)." };
    private readonly Option<string?> _cron = new("--batch-cron") { Description = $"Its schedule, five-field cron in UTC (env {CronVariable}, default '0 */6 * * *')." };
    private readonly Option<int?> _retries = new("--batch-retries") { Description = $"Retries after a failed run (env {RetriesVariable}, default 3)." };
    private readonly Option<string?> _retryDelay = new("--batch-retry-delay") { Description = $"Wait before each retry (env {RetryDelayVariable}, default 5m)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _symbols, _provider, _cron, _retries, _retryDelay })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The scheduler, or null when none runs here (no job named, or Airflow schedules).</summary>
    public BatchScheduler? Create(ParseResult parse, IMarketStore store, IAlertBus alerts)
    {
        var symbols = Setting(parse, _symbols, SymbolsVariable);
        if (Seams.Scheduler.Resolve(parse) != "local" || string.IsNullOrWhiteSpace(symbols))
        {
            return null;
        }

        var retries = parse.GetValue(_retries) ?? (int.TryParse(Environment.GetEnvironmentVariable(RetriesVariable), out var r) ? r : 3);
        var delayText = Setting(parse, _retryDelay, RetryDelayVariable) ?? "5m";
        if (!DurationText.TryParse(delayText, out var delayMs) || retries < 0)
        {
            throw new SettingException($"--batch-retries {retries} / --batch-retry-delay '{delayText}': need a count ≥ 0 and a duration like 5m");
        }

        var options = new ScheduleOptions
        {
            Cron = Setting(parse, _cron, CronVariable) ?? new ScheduleOptions().Cron,
            Retries = retries,
            RetryDelay = TimeSpan.FromMilliseconds(delayMs),
            Symbols = symbols.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        var name = Setting(parse, _provider, ProviderVariable) ?? "synthetic";
        try
        {
            var provider = HistoricalProviders.Create(name, HistoricalProviderOptions.Default with { Logger = CommandRunner.Logger("batch") });
            return new BatchScheduler(options, provider, new BatchSteps(Path.Combine("data", "staging")), store, alerts, TimeProvider.System, CommandRunner.Logger("batch"));
        }
        catch (ArgumentException e)
        {
            throw new SettingException($"batch schedule: {CommandRunner.OneLine(e)}");
        }
    }

    private static string? Setting(ParseResult parse, Option<string?> option, string variable) =>
        parse.GetValue(option) is { Length: > 0 } value ? value : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } env ? env : null;
}

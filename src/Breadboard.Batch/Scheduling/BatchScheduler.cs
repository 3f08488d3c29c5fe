using System.Globalization;
using Breadboard.Batch.Providers;
using Breadboard.Batch.Staging;
using Breadboard.Batch.Steps;
using Breadboard.Batch.Validation;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Cronos;
using Microsoft.Extensions.Logging;

namespace Breadboard.Batch.Scheduling;

/// <summary>The embedded scheduler's job: when it runs, what it fetches, and how it retries.</summary>
public sealed record ScheduleOptions
{
    /// <summary>Five-field cron, UTC.</summary>
    public string Cron { get; init; } = "0 */6 * * *";

    /// <summary>Retries after a failed attempt (Airflow's <c>retries</c>).</summary>
    public int Retries { get; init; } = 3;

    /// <summary>Wait before each retry (Airflow's <c>retry_delay</c>).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Each run fetches the bars of [occurrence − lookback, occurrence).</summary>
    public TimeSpan Lookback { get; init; } = TimeSpan.FromHours(6);

    public IReadOnlyList<string> Symbols { get; init; } = [];

    public string Interval { get; init; } = BarInterval.OneMinute.Text;

    public ValidationOptions Validation { get; init; } = ValidationOptions.Default;

    /// <summary>Reads the cron expression; a bad one throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public CronExpression ParseCron()
    {
        try
        {
            return CronExpression.Parse(Cron, CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new ArgumentException($"cron '{Cron}': {e.Message}", e);
        }
    }
}

/// <summary>
/// Runs the historical job on its cron in this process (<c>--scheduler local</c>): each occurrence is one run id
/// (<c>scheduled__2026-01-05T06:00:00Z</c>), retried after failures, recorded in the store's job history; a run that
/// still fails after its last retry raises a <c>batch_failed</c> alert on the alert bus.
/// </summary>
/// <remarks>No catch-up: occurrences missed while the process was down are skipped, and the next one is computed
/// from the current time, as Airflow's <c>catchup=False</c> does.</remarks>
public sealed partial class BatchScheduler(ScheduleOptions options, IHistoricalProvider provider, BatchSteps steps, IMarketStore store, IAlertBus? alerts, TimeProvider time, ILogger logger)
{
    public const string FailedRule = "batch_failed";

    private readonly CronExpression _cron = options.ParseCron();
    private readonly BatchJob _job = new(steps, store, time);

    /// <summary>The next occurrence after now, or null when the expression has none.</summary>
    public DateTimeOffset? NextOccurrence() =>
        _cron.GetNextOccurrence(time.GetUtcNow().UtcDateTime) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;

    /// <summary>Waits for each occurrence and runs it, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (NextOccurrence() is { } next)
        {
            var wait = next - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, time, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }

            await RunOccurrenceAsync(next, cancellationToken);
        }
    }

    /// <summary>One occurrence with its retries; true when an attempt succeeded.</summary>
    public async Task<bool> RunOccurrenceAsync(DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        var runId = "scheduled__" + occurrence.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var to = occurrence.ToUnixTimeMilliseconds();
        var request = new FetchRequest(provider.Name, options.Symbols, to - (long)options.Lookback.TotalMilliseconds, to, options.Interval);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await _job.RunAsync(runId, request, provider, options.Validation, attempt, cancellationToken);
                LogSucceeded(logger, runId, attempt, result.Rows);
                return true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                var reason = e.Message.Split('\n')[0];
                if (attempt > options.Retries)
                {
                    LogFailed(logger, runId, attempt, reason);
                    await RaiseAsync(runId, request, attempt, cancellationToken);
                    return false;
                }

                LogRetrying(logger, runId, attempt, options.RetryDelay.TotalMinutes, reason);
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                await store.WriteBatchRunAsync(new BatchRun(runId, BatchJob.Name, now, now, "retrying", 0, reason, attempt), cancellationToken);
                await Task.Delay(options.RetryDelay, time, cancellationToken);
            }
        }
    }

    /// <summary>The alert: its symbol is the job, its window the fetched range, its value the attempts made; the id is
    /// the run's, so raising it twice notifies once.</summary>
    private async Task RaiseAsync(string runId, FetchRequest request, int attempts, CancellationToken cancellationToken)
    {
        if (alerts is null)
        {
            return;
        }

        var alert = new Alert(
            Alert.MakeId(FailedRule, BatchJob.Name, "batch", request.From), FailedRule, BatchJob.Name, "batch", request.From, request.To,
            attempts, options.Retries + 1, time.GetUtcNow().ToUnixTimeMilliseconds());
        await alerts.PublishAsync(alert, cancellationToken);
        await alerts.FlushAsync(cancellationToken);
        LogAlert(logger, runId, alert.Id);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "batch {RunId}: attempt {Attempt} wrote {Rows} bars")]
    private static partial void LogSucceeded(ILogger logger, string runId, int attempt, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "batch {RunId}: attempt {Attempt} failed, retrying in {Minutes} min: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string runId, int attempt, double minutes, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "batch {RunId}: failed after {Attempt} attempts: {Reason}")]
    private static partial void LogFailed(ILogger logger, string runId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "batch {RunId}: raised alert {AlertId}")]
    private static partial void LogAlert(ILogger logger, string runId, string alertId);
}

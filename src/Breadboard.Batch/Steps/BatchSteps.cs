using System.Globalization;
using System.Text;
using Breadboard.Batch.Providers;
using Breadboard.Batch.Staging;
using Breadboard.Batch.Validation;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;

namespace Breadboard.Batch.Steps;

/// <summary>
/// The historical batch as three steps over one run id — fetch (stage the provider's bars), validate (check them,
/// write a report), write (upsert them into the store) — each idempotent and resumable: a step that finished is
/// not redone, a fetch interrupted halfway keeps the symbols it staged, and writing twice upserts the same bars.
/// </summary>
public sealed class BatchSteps(string stagingRoot)
{
    public const string Fetched = "fetch";
    public const string Validated = "validate";
    public const string Written = "write";

    /// <summary>Bars per store write.</summary>
    private const int WriteBatch = 50_000;

    /// <summary>Stages every symbol's bars not staged yet; returns the bars staged by this call.</summary>
    /// <exception cref="ArgumentException">The run id was used for a different request.</exception>
    public async Task<long> FetchAsync(string runId, FetchRequest request, IHistoricalProvider provider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(provider);
        if (!BarInterval.TryParse(request.Interval, out var interval))
        {
            throw new ArgumentException($"--interval '{request.Interval}': use one of {string.Join(", ", BarInterval.All)}");
        }

        var run = StagedRun.Open(stagingRoot, runId);
        if (await run.ReadRequestAsync(cancellationToken) is { } earlier)
        {
            if (!Same(earlier, request))
            {
                throw new ArgumentException($"run {runId} was fetched for {Describe(earlier)}; this asks for {Describe(request)}: use a new --run-id");
            }
        }
        else
        {
            await run.WriteRequestAsync(request, cancellationToken);
        }

        long staged = 0;
        foreach (var symbol in request.Symbols.Where(s => !run.HasBars(s)))
        {
            staged += await run.WriteBarsAsync(symbol, provider.FetchAsync(symbol, request.From, request.To, interval, cancellationToken), cancellationToken);
        }

        await run.MarkDoneAsync(Fetched, string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O}"), cancellationToken);
        return staged;
    }

    /// <summary>Checks the staged bars and writes <c>report.json</c>; the run may be written only when it is ok.</summary>
    /// <exception cref="InvalidOperationException">The fetch has not finished.</exception>
    public async Task<ValidationReport> ValidateAsync(string runId, ValidationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (run, request) = await RequireAsync(runId, Fetched, "batch fetch", "finished", cancellationToken);
        var interval = BarInterval.TryParse(request.Interval, out var parsed) ? parsed : throw new InvalidDataException($"run {runId}: request.json names an unknown interval '{request.Interval}'");
        var issues = new List<ValidationIssue>();
        long bars = 0;
        foreach (var symbol in request.Symbols)
        {
            var path = run.BarsPath(symbol);
            var staged = new List<Bar>();
            await foreach (var (line, text) in StagedRun.ReadLinesAsync(path, cancellationToken))
            {
                if (!RecordJson.TryParseBar(Encoding.UTF8.GetBytes(text), out var bar, out var error))
                {
                    issues.Add(new ValidationIssue("schema", $"{Path.GetFileName(path)}:{line}", null, error!));
                }
                else if (bar!.Symbol != symbol || bar.Window != request.Interval || bar.WindowEnd - bar.WindowStart != interval.Milliseconds)
                {
                    issues.Add(new ValidationIssue("schema", $"{Path.GetFileName(path)}:{line}", EventTime.ToIso(bar.WindowStart), $"a {bar.Window} bar of {bar.Symbol} where {request.Interval} bars of {symbol} belong"));
                }
                else if (bar.WindowStart < request.From || bar.WindowStart >= request.To)
                {
                    issues.Add(new ValidationIssue("schema", symbol, EventTime.ToIso(bar.WindowStart), $"outside the fetched range {EventTime.ToIso(request.From)} – {EventTime.ToIso(request.To)}"));
                }
                else
                {
                    staged.Add(bar);
                }
            }

            bars += staged.Count;
            issues.AddRange(BarValidator.Check(symbol, staged, request.From, request.To, interval.Milliseconds, options));
        }

        var counts = issues.GroupBy(i => i.Kind).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var kept = issues.GroupBy(i => i.Kind).SelectMany(g => g.Take(ValidationReport.MaxIssuesPerKind)).ToList();
        var report = new ValidationReport(runId, bars, request.Symbols.Count, kept) { Counts = counts };
        await run.WriteReportAsync(report, cancellationToken);
        if (report.Ok)
        {
            await run.MarkDoneAsync(Validated, report.Summary(), cancellationToken);
        }
        else
        {
            run.ClearMarker(Validated);
        }

        return report;
    }

    /// <summary>Upserts the validated bars into the store; returns how many.</summary>
    /// <exception cref="InvalidOperationException">Validation has not passed.</exception>
    public async Task<long> WriteAsync(string runId, IMarketStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var (run, request) = await RequireAsync(runId, Validated, "batch validate", "passed", cancellationToken);
        var batch = new StoreBatch();
        long written = 0;
        foreach (var symbol in request.Symbols)
        {
            await foreach (var (_, text) in StagedRun.ReadLinesAsync(run.BarsPath(symbol), cancellationToken))
            {
                // Validation passed on these very files; a line that no longer parses was changed since.
                if (!RecordJson.TryParseBar(Encoding.UTF8.GetBytes(text), out var bar, out var error))
                {
                    throw new InvalidDataException($"{run.BarsPath(symbol)}: changed after validation: {error}");
                }

                batch.Bars.Add(bar!);
                if (batch.Bars.Count == WriteBatch)
                {
                    written += await FlushAsync(store, batch, cancellationToken);
                }
            }
        }

        written += await FlushAsync(store, batch, cancellationToken);
        await run.MarkDoneAsync(Written, written.ToString(CultureInfo.InvariantCulture), cancellationToken);
        return written;
    }

    /// <summary>Whether <paramref name="step"/> of the run has finished (for resuming <c>batch run</c>).</summary>
    public bool IsDone(string runId, string step) => StagedRun.Open(stagingRoot, runId).IsDone(step);

    /// <summary>The report the last validation wrote.</summary>
    public string ReportPath(string runId) => StagedRun.Open(stagingRoot, runId).ReportPath;

    private static async Task<long> FlushAsync(IMarketStore store, StoreBatch batch, CancellationToken cancellationToken)
    {
        var count = batch.Bars.Count;
        if (count > 0)
        {
            await store.WriteAsync(batch, cancellationToken);
            batch.Clear();
        }

        return count;
    }

    private async Task<(StagedRun Run, FetchRequest Request)> RequireAsync(string runId, string step, string command, string state, CancellationToken cancellationToken)
    {
        var run = StagedRun.Open(stagingRoot, runId);
        if (!run.IsDone(step) || await run.ReadRequestAsync(cancellationToken) is not { } request)
        {
            throw new InvalidOperationException($"run {runId}: `{command} --run-id {runId}` has not {state} (see {run.Directory})");
        }

        return (run, request);
    }

    private static bool Same(FetchRequest a, FetchRequest b) =>
        a.Provider == b.Provider && a.From == b.From && a.To == b.To && a.Interval == b.Interval && a.Symbols.SequenceEqual(b.Symbols);

    private static string Describe(FetchRequest r) =>
        $"{r.Provider} {string.Join(',', r.Symbols)} {EventTime.ToIso(r.From)} – {EventTime.ToIso(r.To)} {r.Interval}";
}

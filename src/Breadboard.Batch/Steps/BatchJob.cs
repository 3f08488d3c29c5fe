using Breadboard.Batch.Providers;
using Breadboard.Batch.Staging;
using Breadboard.Batch.Validation;
using Breadboard.Core.Seams;

namespace Breadboard.Batch.Steps;

/// <summary>What one attempt of a batch run did: the bars written, and the validation report when it ran.</summary>
public sealed record BatchJobResult(long Rows, ValidationReport? Report);

/// <summary>
/// One attempt of the whole job for a run id: the steps not done yet, in order, with the attempt recorded in the
/// store's job history (running, then succeeded or failed with the reason).
/// </summary>
public sealed class BatchJob(BatchSteps steps, IMarketStore store, TimeProvider time)
{
    public const string Name = "historical_fetch";

    /// <exception cref="Exception">Whatever a step threw, after the attempt is recorded as failed.</exception>
    public async Task<BatchJobResult> RunAsync(string runId, FetchRequest request, IHistoricalProvider provider, ValidationOptions validation, int attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = time.GetUtcNow().ToUnixTimeMilliseconds();
        await store.WriteBatchRunAsync(new BatchRun(runId, Name, started, null, "running", 0, "", attempt), cancellationToken);
        try
        {
            if (!steps.IsDone(runId, BatchSteps.Fetched))
            {
                await steps.FetchAsync(runId, request, provider, cancellationToken);
            }

            ValidationReport? report = null;
            if (!steps.IsDone(runId, BatchSteps.Validated))
            {
                report = await steps.ValidateAsync(runId, validation, cancellationToken);
                if (!report.Ok)
                {
                    throw new BadDataException(report);
                }
            }

            var rows = await steps.WriteAsync(runId, store, cancellationToken);
            await store.WriteBatchRunAsync(new BatchRun(runId, Name, started, time.GetUtcNow().ToUnixTimeMilliseconds(), "succeeded", rows, "", attempt), CancellationToken.None);
            return new BatchJobResult(rows, report);
        }
        catch (Exception e)
        {
            await store.WriteBatchRunAsync(new BatchRun(runId, Name, started, time.GetUtcNow().ToUnixTimeMilliseconds(), "failed", 0, e.Message.Split('\n')[0], attempt), CancellationToken.None);
            throw;
        }
    }
}

/// <summary>The run's data failed validation: retrying fetches nothing new, a person must look at the report.</summary>
public sealed class BadDataException : Exception
{
    public BadDataException()
    {
    }

    public BadDataException(string message)
        : base(message)
    {
    }

    public BadDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BadDataException(ValidationReport report)
        : base(report?.Summary().Split('\n')[0])
    {
        Report = report;
    }

    public ValidationReport? Report { get; }
}

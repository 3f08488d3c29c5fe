using System.Runtime.CompilerServices;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Web.Tests;

/// <summary>
/// A store that answers what the test put in it, and can fail: as an old database holding non-finite numbers, or a
/// backend that goes away before or in the middle of an answer.
/// </summary>
internal sealed class ScriptedStore : IMarketStore
{
    public List<Bar> Bars { get; } = [];

    public List<Alert> Alerts { get; } = [];

    public List<Tick> Ticks { get; } = [];

    public List<SymbolSummary> Symbols { get; } = [];

    /// <summary>Thrown by every query once it has yielded <see cref="FailAfter"/> rows.</summary>
    public Exception? Failure { get; set; }

    public int FailAfter { get; set; }

    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default) => Answer(Bars, cancellationToken);

    public IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default) => Answer(Alerts, cancellationToken);

    public IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default) => Answer(Ticks, cancellationToken);

    public IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default) => Answer(Symbols, cancellationToken);

    public ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(default(PipelineCounts));

    public ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult<Checkpoint?>(null);

    public ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default) => Answer(new List<BatchRun>(), cancellationToken);

    public ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<StoredPipeline?>(null);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async IAsyncEnumerable<T> Answer<T>(List<T> rows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var yielded = 0;
        foreach (var row in rows)
        {
            if (Failure is not null && yielded == FailAfter)
            {
                throw Failure;
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return row;
            yielded++;
        }

        if (Failure is not null)
        {
            throw Failure;
        }
    }
}

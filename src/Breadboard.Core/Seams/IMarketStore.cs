using System.Runtime.CompilerServices;
using Breadboard.Core.Model;

namespace Breadboard.Core.Seams;

/// <summary>Where ticks, bars, alerts and pipeline counts are kept: DuckDB embedded, ClickHouse in production.</summary>
/// <remarks>
/// Writes must be idempotent: bars are upserted by (symbol, window, window_start) and alerts by id (the last of a
/// batch wins), and checkpoints replace their key's with totals, so a batch written twice (a retry, a replay after a
/// crash) leaves the same bars, alerts, checkpoints and counts. Ticks are not keyed: a store that writes a batch in
/// one transaction appends them, one without transactions collapses identical ones; readers rely on neither.
/// Readers (API, export) see only this interface and never learn which store they have. Every promise here is a test
/// in <c>tests/Breadboard.TestKit/Stores/MarketStoreContract.cs</c>, run against each store.
/// </remarks>
public interface IMarketStore : IAsyncDisposable
{
    /// <summary>Creates or migrates the schema; safe to call on every start.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes one batch; returns once it is durable in the store.</summary>
    ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Bars in order of window_start, window, symbol; with a limit, the latest ones, still in that order.</summary>
    IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default);

    /// <summary>Alerts in order of ts, then id; with a limit, the latest ones, still in that order.</summary>
    IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default);

    /// <summary>Ticks in order of ts, those of one millisecond as written; with a limit, the latest ones, still in that order.</summary>
    IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many ticks <paramref name="query"/> selects (its limit ignored) and the first and last of their times,
    /// for a progress bar and for telling an empty range from an empty store. A store without a cheaper way counts
    /// by reading them.
    /// </summary>
    async ValueTask<TickSpan> MeasureTicksAsync(TickQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        long count = 0, first = long.MaxValue, last = long.MinValue;
        await foreach (var tick in QueryTicksAsync(query with { Limit = null }, cancellationToken))
        {
            count++;
            first = Math.Min(first, tick.Ts);
            last = Math.Max(last, tick.Ts);
        }

        return count == 0 ? default : new TickSpan(count, first, last);
    }

    /// <summary>
    /// The symbol, trade id and time of each tick <paramref name="query"/> selects, in the order of
    /// <see cref="QueryTicksAsync"/>: what a restored engine's dedup horizon needs. Ticks without a trade id may
    /// be left out, and a tick stored twice and not yet collapsed may come twice. A store without a narrower read takes
    /// them from the ticks.
    /// </summary>
    async IAsyncEnumerable<StoredTradeId> QueryTradeIdsAsync(TickQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await foreach (var tick in QueryTicksAsync(query, cancellationToken))
        {
            yield return new StoredTradeId(tick.Symbol, tick.TradeId, tick.Ts);
        }
    }

    /// <summary>Latest tick of every symbol with the first price of the last 24 h of event time, for change figures.</summary>
    IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The running totals of rejects, late ticks and duplicates: the increments of every batch plus the totals of
    /// the current checkpoints.
    /// </summary>
    ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default);

    /// <summary>The checkpoint last written under <paramref name="key"/> (in a batch), or null.</summary>
    ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Records a batch job's run, replacing what was recorded under the same job and run id.</summary>
    ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default);

    /// <summary>The latest recorded runs, newest first.</summary>
    IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>Records that a process started or reloaded on this definition (history kept; the latest is the running one).</summary>
    ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default);

    /// <summary>The definition most recently recorded (largest LoadedAt, ties: last written), or null when none was.</summary>
    ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks each server behind the store whether it answers, for health and <c>/api/pipeline</c>: the replicas a
    /// store URL names, so one that is down shows while the store still answers from the others. Empty for a store
    /// that is not a set of servers (an embedded file).
    /// </summary>
    ValueTask<IReadOnlyList<StoreServerState>> CheckServersAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<StoreServerState>>([]);
}

/// <summary>One server behind a store, as <see cref="IMarketStore.CheckServersAsync"/> found it.</summary>
/// <param name="Server">Its address, without credentials.</param>
/// <param name="Up">Whether it answered.</param>
/// <param name="Error">Why not, one line, when it did not.</param>
/// <param name="Since">When it last went up or down, as far as this process saw.</param>
public sealed record StoreServerState(string Server, bool Up, string? Error, DateTimeOffset? Since);

/// <summary>A pipeline definition as a process loaded it: what <c>backtest --compare</c> compares a proposal with.</summary>
/// <param name="Digest">The definition's <see cref="Pipeline.PipelineDefinition.Digest()"/>, as its alerts carry it.</param>
/// <param name="Yaml">The canonical YAML (<see cref="Pipeline.PipelineLoader.ToYaml"/>), which loads back to the same digest; kept byte for byte.</param>
/// <param name="LoadedAt">When it was loaded, epoch ms.</param>
/// <param name="Loader">Who loaded it, e.g. <c>up</c> or <c>process host:pid</c>.</param>
public sealed record StoredPipeline(string Digest, string Yaml, long LoadedAt, string Loader);

/// <summary>One run of a batch job, as the job history keeps it.</summary>
/// <param name="RunId">The run id the steps staged under.</param>
/// <param name="Job">The job (<c>historical_fetch</c>).</param>
/// <param name="Started">Epoch ms.</param>
/// <param name="Ended">Epoch ms, null while running.</param>
/// <param name="Status"><c>running</c>, <c>succeeded</c>, <c>retrying</c> or <c>failed</c>.</param>
/// <param name="Rows">Bars written.</param>
/// <param name="Error">Why it failed (one line), empty otherwise.</param>
/// <param name="Attempt">1 for the first try.</param>
public sealed record BatchRun(string RunId, string Job, long Started, long? Ended, string Status, long Rows, string Error, int Attempt = 1);

/// <summary>
/// Engine state and the input position it corresponds to, stored in the same transaction as the outputs it
/// produced: after a crash the store holds either both or neither, which makes a bus consumer exactly-once.
/// </summary>
/// <param name="Key">What the position is in, e.g. <c>kafka:stock-prices:3</c>.</param>
/// <param name="Position">The next input position to read (a Kafka offset).</param>
/// <param name="State">The engine's checkpoint bytes.</param>
/// <param name="Counts">
/// The totals of rejects, late ticks and duplicates of this input up to <paramref name="Position"/>, replacing
/// those of the key's previous checkpoint. Totals rather than increments: a writer that lost the input to another
/// (a consumer-group member kicked out while it was writing) may still store a batch the new owner then reads
/// again, and in a store without transactions an increment would be counted twice, where a total is replaced.
/// </param>
public sealed record Checkpoint(string Key, long Position, byte[] State, PipelineCounts Counts = default);

/// <summary>One write to the store: everything the pipeline produced since the last batch.</summary>
public sealed class StoreBatch
{
    public List<Tick> Ticks { get; } = [];

    /// <summary>Where each tick came from, in the order of <see cref="Ticks"/>, when the input has positions (a
    /// Kafka partition); empty otherwise. A store without transactions keeps them so that
    /// <see cref="TickQuery.Before"/> can leave out ticks written after the last checkpoint.</summary>
    public List<TickOrigin> TickOrigins { get; } = [];

    public List<Bar> Bars { get; } = [];

    public List<Alert> Alerts { get; } = [];

    /// <summary>Checkpoints to replace, committed together with the rest of the batch.</summary>
    public List<Checkpoint> Checkpoints { get; } = [];

    /// <summary>Increments to add to the stored totals, for input without checkpoints (theirs carry totals).</summary>
    public PipelineCounts Counts { get; set; }

    public bool IsEmpty => Ticks.Count == 0 && Bars.Count == 0 && Alerts.Count == 0 && Checkpoints.Count == 0 && Counts.IsZero;

    public void Clear()
    {
        Ticks.Clear();
        TickOrigins.Clear();
        Bars.Clear();
        Alerts.Clear();
        Checkpoints.Clear();
        Counts = default;
    }
}

/// <summary>Counts of input that did not become part of a bar, kept so nothing is lost silently.</summary>
public readonly record struct PipelineCounts(long Rejects, long Late, long Duplicates)
{
    public bool IsZero => Rejects == 0 && Late == 0 && Duplicates == 0;

    public static PipelineCounts operator +(PipelineCounts a, PipelineCounts b) =>
        new(a.Rejects + b.Rejects, a.Late + b.Late, a.Duplicates + b.Duplicates);

    public static PipelineCounts operator -(PipelineCounts a, PipelineCounts b) =>
        new(a.Rejects - b.Rejects, a.Late - b.Late, a.Duplicates - b.Duplicates);
}

/// <summary>Bars of one or all symbols; times are epoch ms, <c>From</c> inclusive on window_start, <c>To</c> exclusive.</summary>
public sealed record BarQuery(string? Symbol = null, string? Window = null, long? From = null, long? To = null, int? Limit = null);

/// <summary>Alerts, newest last; <c>Since</c> is inclusive on the alert's ts.</summary>
public sealed record AlertQuery(string? Symbol = null, string? Rule = null, long? Since = null, long? To = null, int? Limit = null);

/// <summary>Ticks of one or all symbols in event-time order.</summary>
/// <param name="Before">Only ticks a checkpoint at this position covers: those from other inputs, and those from
/// this input at lower positions. A store that writes a batch in one transaction holds no others, and may ignore it.</param>
public sealed record TickQuery(string? Symbol = null, long? From = null, long? To = null, int? Limit = null, TickOrigin? Before = null)
{
    /// <summary>Only these symbols (besides <see cref="Symbol"/>, when both are given); null or empty: all.</summary>
    public IReadOnlyList<string>? Symbols { get; init; }
}

/// <summary>How many ticks a query selects, and the first and last of their event times (epoch ms; 0 when none).</summary>
public readonly record struct TickSpan(long Count, long FirstTs, long LastTs);

/// <summary>A stored tick's symbol, trade id (<see cref="TradeId.None"/> when it has none) and event time (epoch ms).</summary>
public readonly record struct StoredTradeId(string Symbol, TradeId TradeId, long Ts);

/// <summary>An input position: the checkpoint key of the input (<c>kafka:stock-prices:3</c>) and the position in it.</summary>
public readonly record struct TickOrigin(string Source, long Position);

/// <summary>A symbol's last trade and its change against the first trade of the trailing 24 h.</summary>
public sealed record SymbolSummary(string Symbol, AssetClass AssetClass, long LastTs, double LastPrice, double FirstPrice24h)
{
    public double ChangePercent => FirstPrice24h == 0 ? 0 : (LastPrice - FirstPrice24h) / FirstPrice24h * 100;
}

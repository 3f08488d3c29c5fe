using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.ClickHouse;

/// <summary>
/// The production store (<see cref="ClickHouseUrl"/>): ticks, bars, alerts, counts and checkpoints in the tables of
/// <see cref="ClickHouseSchema"/>, over our own HTTP client.
/// </summary>
/// <remarks>
/// <para>ClickHouse has no transactions. A batch goes in as one insert per table, outputs first and checkpoints
/// last: a checkpoint is only ever stored after everything it covers. Every table collapses repeated rows
/// (ReplacingMergeTree, read with <c>FINAL</c>), so a retried insert or input processed again after a crash
/// leaves the same rows. Each checkpoint row carries its input's totals (<see cref="Checkpoint.Counts"/>), replaced
/// with the checkpoint: input processed again after a crash, or by a new owner while the old one still wrote, is not
/// counted twice. A batch's increments ride in its checkpoints' insert (one block, so all or nothing); batches
/// without checkpoints store them on their own.</para>
/// <para>While the server is unreachable a write keeps retrying (for <see cref="ClickHouseUrl.RetryFor"/>, or until
/// cancelled), so callers that advance their input position only after a write returns lose nothing, and wait
/// instead of piling up batches: that is the backpressure.</para>
/// <para>The password comes from <c>BREADBOARD_CLICKHOUSE_PASSWORD</c>, never from the URL. Checkpoint keys starting
/// with <c>counts:</c> are the store's own.</para>
/// </remarks>
public sealed class ClickHouseStore : IMarketStore
{
    public const string Scheme = ClickHouseUrl.Scheme;

    /// <summary>The prefix of the checkpoints table's rows that hold a batch's counts.</summary>
    private const string CountsKeyPrefix = "counts:";

    /// <summary>Pause between rounds of the client's retries while the server stays unreachable.</summary>
    private static readonly TimeSpan OutagePause = TimeSpan.FromSeconds(1);

    /// <summary>A write that keeps waiting for the server says so at most this often.</summary>
    private static readonly TimeSpan OutageLogInterval = TimeSpan.FromSeconds(5);

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly ClickHouseHttpClient _client;
    private readonly ClickHouseUrl _url;
    private readonly ILogger _logger;

    /// <summary>The server, for log lines (no credentials).</summary>
    private readonly string _server;
    /// <summary>This store instance's name in counts rows: versions come from the clock, so two processes can
    /// write in the same millisecond, and their counts must not replace each other's.</summary>
    private readonly string _writer = Guid.NewGuid().ToString("N")[..16];
    private long _lastVersion;

    private ClickHouseStore(ClickHouseHttpClient client, ClickHouseUrl url, ILogger logger)
    {
        _client = client;
        _url = url;
        _logger = logger;
        _server = string.Join(", ", client.Replicas.Select(r => SecretText.Redact(r.Url.AbsoluteUri)));
    }

    /// <summary>
    /// The table the store reads and writes: on a cluster, the replica's own replicated table, not the Distributed
    /// one in front of it.
    /// </summary>
    /// <remarks>One shard: each replica holds every row, and the client moves between replicas itself. An insert into
    /// the replicated table is what ZooKeeper deduplicates, so a block retried on another replica after a failure
    /// is stored once. And a migration that replaces a Distributed table (<see cref="ClickHouseSchema"/>) never
    /// pulls it from under a running role.</remarks>
    private string Table(string name) => _url.Cluster is null ? name : name + "_local";

    /// <summary>Where the store lives, for messages (no credentials).</summary>
    public string Location => $"{_client.BaseUrl}{_client.Database}";

    /// <summary>Opens a store from its URL (nothing is sent until <see cref="InitializeAsync"/>); a bad URL throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public static ClickHouseStore Open(string url, string? password = null, HttpClient? http = null, ClickHouseClientOpts? opts = null, ILogger? logger = null)
    {
        if (!ClickHouseUrl.TryParse(url, out var parsed, out var error))
        {
            throw new ArgumentException(error);
        }

        return new ClickHouseStore(new ClickHouseHttpClient(parsed!.Replicas, parsed.Database, parsed.User, password, http, opts), parsed, logger ?? NullLogger.Instance);
    }

    /// <summary>
    /// One server: creates or migrates the schema (<see cref="ClickHouseSchema.MigrateAsync"/>). A cluster: checks
    /// that the replica it reaches holds the latest schema, and changes nothing.
    /// </summary>
    /// <remarks>On a cluster the schema is <c>store migrate</c>'s: its DDL runs ON CLUSTER and waits for every
    /// replica (<c>distributed_ddl_task_timeout</c>, 180 s a try), so a store that migrated on open could not open
    /// while one replica is down, which is what three replicas are for.</remarks>
    /// <exception cref="ClickHouseException">The cluster's schema is missing or behind this build.</exception>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_url.Cluster is { } cluster)
        {
            var state = await ClickHouseSchema.ReadStateAsync(_client, cancellationToken);
            if (state.Missing.Count > 0)
            {
                var at = state.Applied.Count == 0 ? "has no Breadboard schema" : $"is at schema version {state.Applied.Max()}";
                throw new ClickHouseException($"database {_client.Database} on cluster {cluster} {at}; this build needs {ClickHouseSchema.LatestVersion}: run `breadboard store migrate` with the same --store");
            }

            return;
        }

        var applied = await ClickHouseSchema.MigrateAsync(_client, _url.Cluster, cancellationToken);
        if (applied.Count > 0 && !applied.Contains(1))
        {
            // An upgrade of an existing database is news; creating a new one is not.
            ClickHouseLog.Migrated(_logger, _client.Database, _server, ClickHouseSchema.LatestVersion, applied);
        }
    }

    public async ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.IsEmpty)
        {
            return;
        }

        // One version per batch: every row it re-emits replaces what an earlier batch wrote under the same key.
        var version = NextVersion();
        if (batch.Ticks.Count > 0)
        {
            // RowBinary: the server parses it several times faster than JSON (docs/PERFORMANCE.md).
            var ticks = batch.Ticks;
            var origins = batch.TickOrigins.Count == ticks.Count ? batch.TickOrigins : null;
            await InsertAsync(Table("ticks"), TickRows.Columns, TickRows.Format, ticks.Count, (stream, token) => TickRows.WriteRowBinaryAsync(stream, ticks, origins, version * 1_000_000UL, token), version, cancellationToken);
        }

        if (batch.Bars.Count > 0)
        {
            var bars = batch.Bars;
            await InsertAsync(Table("bars"), RecordRows.BarColumns, RecordRows.Format, bars.Count, (stream, token) => RecordRows.WriteBarsAsync(stream, bars, version, token), version, cancellationToken);
        }

        if (batch.Alerts.Count > 0)
        {
            var alerts = batch.Alerts;
            await InsertAsync(Table("alerts"), RecordRows.AlertColumns, RecordRows.Format, alerts.Count, (stream, token) => RecordRows.WriteAlertsAsync(stream, alerts, version, token), version, cancellationToken);
        }

        if (batch.Checkpoints.Count == 0)
        {
            if (!batch.Counts.IsZero)
            {
                var source = string.Create(CultureInfo.InvariantCulture, $"batch:{_writer}:{version}");
                await InsertAsync(Table("pipeline_counts"), "source, rejects, late, duplicates, version", [batch.Counts], (w, counts, _) =>
                {
                    w.WriteString("source"u8, source);
                    WriteCounts(w, counts);
                    w.WriteNumber("version"u8, version);
                }, version, cancellationToken);
            }

            return;
        }

        // Last: a checkpoint stored means everything before it in the batch is stored. The increments go in the
        // same insert, a row of their own under a key of this batch.
        List<Checkpoint> rows = [.. batch.Checkpoints];
        if (rows.Find(c => c.Key.StartsWith(CountsKeyPrefix, StringComparison.Ordinal)) is { } reserved)
        {
            throw new ArgumentException($"checkpoint key '{reserved.Key}': keys starting with '{CountsKeyPrefix}' are the store's own", nameof(batch));
        }

        if (!batch.Counts.IsZero)
        {
            rows.Add(new Checkpoint(string.Create(CultureInfo.InvariantCulture, $"{CountsKeyPrefix}{_writer}:{version}"), 0, [], batch.Counts));
        }

        await InsertAsync(Table("checkpoints"), "key, position, state, version, rejects, late, duplicates", rows, (w, checkpoint, _) =>
        {
            w.WriteString("key"u8, checkpoint.Key);
            w.WriteNumber("position"u8, checkpoint.Position);
            w.WriteString("state"u8, Convert.ToBase64String(checkpoint.State));
            w.WriteNumber("version"u8, version);
            WriteCounts(w, checkpoint.Counts);
        }, version, cancellationToken);
    }

    /// <remarks>With a limit, the latest bars, still in ascending order.</remarks>
    public IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new Where()
            .Add("symbol", "=", query.Symbol).Add("`window`", "=", query.Window)
            .Add("window_start", ">=", query.From).Add("window_start", "<", query.To);
        var sql = Ordered("symbol, `window`, window_start, window_end, open, high, low, close, volume, vwap, trades", Table("bars") + " FINAL", where, query.Limit, "window_start", "`window`", "symbol");
        return RowsAsync(sql, ReadBar, cancellationToken);
    }

    /// <remarks>With a limit, the latest alerts, still in ascending order of ts, then id.</remarks>
    public IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new Where()
            .Add("symbol", "=", query.Symbol).Add("rule", "=", query.Rule)
            .Add("ts", ">=", query.Since).Add("ts", "<", query.To);
        var sql = Ordered("id, rule, symbol, `window`, window_start, window_end, value, threshold, ts, pipeline", Table("alerts") + " FINAL", where, query.Limit, "ts", "id");
        return RowsAsync(sql, ReadAlert, cancellationToken);
    }

    /// <remarks>Ticks of the same millisecond come in the order they were written; a limit keeps the latest.</remarks>
    public IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = Ordered("symbol, ts, price, volume, trade_id, exchange, asset_class, seq", Table("ticks") + " FINAL", TickWhere(query), query.Limit, "ts", "seq");
        return RowsAsync(sql, ReadTick, cancellationToken);
    }

    /// <remarks>
    /// Three columns as RowBinary, without FINAL (a tick stored twice is the same trade) and without the ticks that
    /// have no trade id: a processor restoring 48 partitions' ten-minute dedup horizons read every column as JSON
    /// for about a second each, during which it consumed nothing (docs/RELIABILITY.md).
    /// </remarks>
    public async IAsyncEnumerable<StoredTradeId> QueryTradeIdsAsync(TickQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = Ordered("symbol, trade_id, ts", Table("ticks"), TickWhere(query).Add("trade_id != ''"), query.Limit, "ts", "seq");
        var rows = await _client.QueryRowBinaryAsync(sql, static (ref RowBinaryReader row) =>
            new StoredTradeId(Encoding.UTF8.GetString(row.Text()), TradeId.FromUtf8(row.Text()), row.Number()), cancellationToken);
        foreach (var row in rows)
        {
            yield return row;
        }
    }

    /// <remarks>Counts rows as stored: a tick written twice and not yet collapsed by a merge counts twice.</remarks>
    public async ValueTask<TickSpan> MeasureTicksAsync(TickQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = $"SELECT toInt64(count()) AS n, min(ts) AS first, max(ts) AS last FROM {Table("ticks")}" + TickWhere(query);
        await foreach (var row in RowsAsync(sql, row => new TickSpan(row.GetProperty("n").GetInt64(), row.GetProperty("first").GetInt64(), row.GetProperty("last").GetInt64()), cancellationToken))
        {
            return row.Count == 0 ? default : row;
        }

        return default;
    }

    private static Where TickWhere(TickQuery query)
    {
        var where = new Where().Add("symbol", "=", query.Symbol).Add("ts", ">=", query.From).Add("ts", "<", query.To);
        if (query.Symbols is { Count: > 0 } symbols)
        {
            where.Add($"symbol IN ({string.Join(", ", symbols.Select(Literal))})");
        }

        if (query.Before is { } before)
        {
            where.Add(string.Create(CultureInfo.InvariantCulture, $"NOT (source = {Literal(before.Source)} AND position >= {before.Position})"));
        }

        return where;
    }

    public IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default)
    {
        // The same figures as DuckDB's: the last trade (the latest written among equal times) and the first trade
        // of the 24 h of event time up to it. No FINAL: a repeated row is the same trade, which changes no max,
        // argMax or argMin, and FINAL would make the scan 4× slower (docs/PERFORMANCE.md).
        var sql =
            $"""
            SELECT t.symbol AS symbol, argMax(t.asset_class, (t.ts, t.seq)) AS asset_class, max(t.ts) AS last_ts,
                   argMax(t.price, (t.ts, t.seq)) AS last_price,
                   argMinIf(t.price, (t.ts, t.seq), t.ts >= l.latest - 86400000) AS first_price
            FROM (SELECT symbol, ts, price, asset_class, seq FROM {Table("ticks")}) AS t
            ANY INNER JOIN (SELECT symbol, max(ts) AS latest FROM {Table("ticks")} GROUP BY symbol) AS l USING symbol
            GROUP BY t.symbol
            ORDER BY t.symbol
            """;
        return RowsAsync(sql, row =>
        {
            var symbol = row.GetProperty("symbol").GetString()!;
            return new SymbolSummary(
                symbol,
                AssetClasses.TryParse(row.GetProperty("asset_class").GetString(), out var assetClass) ? assetClass : AssetClasses.Infer(symbol),
                row.GetProperty("last_ts").GetInt64(),
                row.GetProperty("last_price").GetDouble(),
                row.GetProperty("first_price").GetDouble());
        }, cancellationToken);
    }

    public async ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _client.QueryAsync(
            $"""
            SELECT sum(rejects) AS rejects, sum(late) AS late, sum(duplicates) AS duplicates FROM (
                SELECT rejects, late, duplicates FROM {Table("pipeline_counts")} FINAL
                UNION ALL
                SELECT rejects, late, duplicates FROM {Table("checkpoints")} FINAL)
            """,
            row => new PipelineCounts(row.GetProperty("rejects").GetInt64(), row.GetProperty("late").GetInt64(), row.GetProperty("duplicates").GetInt64()),
            cancellationToken);
        return rows.Count == 0 ? default : rows[0];
    }

    public async ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rows = await _client.QueryAsync(
            $"SELECT position, state, rejects, late, duplicates FROM {Table("checkpoints")} FINAL WHERE key = {Literal(key)}",
            row => new Checkpoint(
                key,
                row.GetProperty("position").GetInt64(),
                Convert.FromBase64String(row.GetProperty("state").GetString()!),
                new PipelineCounts(row.GetProperty("rejects").GetInt64(), row.GetProperty("late").GetInt64(), row.GetProperty("duplicates").GetInt64())),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var version = NextVersion();
        await InsertAsync(Table("batch_runs"), "run_id, job, started, ended, status, rows, error, version, attempt", [run], (w, r, _) =>
        {
            w.WriteString("run_id"u8, r.RunId);
            w.WriteString("job"u8, r.Job);
            w.WriteNumber("started"u8, r.Started);
            if (r.Ended is { } ended)
            {
                w.WriteNumber("ended"u8, ended);
            }
            else
            {
                w.WriteNull("ended"u8);
            }

            w.WriteString("status"u8, r.Status);
            w.WriteNumber("rows"u8, r.Rows);
            w.WriteString("error"u8, r.Error);
            w.WriteNumber("version"u8, version);
            w.WriteNumber("attempt"u8, r.Attempt);
        }, version, cancellationToken);
    }

    public IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var sql = string.Create(CultureInfo.InvariantCulture, $"SELECT run_id, job, started, ended, status, rows, error, attempt FROM {Table("batch_runs")} FINAL ORDER BY started DESC, run_id DESC LIMIT {limit}");
        return RowsAsync(sql, row => new BatchRun(
            row.GetProperty("run_id").GetString()!,
            row.GetProperty("job").GetString()!,
            row.GetProperty("started").GetInt64(),
            row.GetProperty("ended").ValueKind == JsonValueKind.Null ? null : row.GetProperty("ended").GetInt64(),
            row.GetProperty("status").GetString()!,
            row.GetProperty("rows").GetInt64(),
            row.GetProperty("error").GetString()!,
            row.GetProperty("attempt").GetInt32()), cancellationToken);
    }

    public async ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var version = NextVersion();
        await InsertAsync(Table("pipelines"), RecordRows.PipelineColumns, RecordRows.Format, 1, (stream, token) => RecordRows.WritePipelineAsync(stream, pipeline, version, token), version, cancellationToken);
    }

    public async ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _client.QueryAsync(
            $"SELECT digest, yaml, loaded_at, loader FROM {Table("pipelines")} FINAL ORDER BY loaded_at DESC, version DESC LIMIT 1",
            row => new StoredPipeline(
                row.GetProperty("digest").GetString()!,
                row.GetProperty("yaml").GetString()!,
                row.GetProperty("loaded_at").GetInt64(),
                row.GetProperty("loader").GetString()!),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Each server the store URL names, pinged now (2 s each, at once).</summary>
    public async ValueTask<IReadOnlyList<StoreServerState>> CheckServersAsync(CancellationToken cancellationToken = default)
    {
        var states = await _client.PingEachAsync(TimeSpan.FromSeconds(2), cancellationToken);
        return [.. _client.Replicas.Zip(states, (replica, state) => new StoreServerState(SecretText.Redact(replica.Url.AbsoluteUri), state.Up == true, state.Error, state.Since))];
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A query's rows, mapped; ClickHouse answers a query in one response, read to its end.</summary>
    private async IAsyncEnumerable<T> RowsAsync<T>(string sql, Func<JsonElement, T> map, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var row in await _client.QueryAsync(sql, map, cancellationToken))
        {
            yield return row;
        }
    }

    /// <summary>A ClickHouse string literal: backslash and quote escaped (18.16 has no query parameters).</summary>
    internal static string Literal(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c is '\\' or '\'')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('\'').ToString();
    }

    /// <summary>Versions grow with the clock (so a later process's rows win) and never repeat within one.</summary>
    private ulong NextVersion()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (true)
        {
            var last = Interlocked.Read(ref _lastVersion);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _lastVersion, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }

    private static void WriteCounts(Utf8JsonWriter w, PipelineCounts counts)
    {
        w.WriteNumber("rejects"u8, counts.Rejects);
        w.WriteNumber("late"u8, counts.Late);
        w.WriteNumber("duplicates"u8, counts.Duplicates);
    }

    private Task InsertAsync<T>(string table, string columns, List<T> rows, Action<Utf8JsonWriter, T, int> write, ulong version, CancellationToken cancellationToken) =>
        InsertAsync(table, columns, "JSONEachRow", rows.Count, (stream, token) => WriteRowsAsync(stream, rows, write, token), version, cancellationToken);

    /// <summary>One insert of a batch's rows into one table, retried for as long as the server is unreachable.</summary>
    /// <remarks>The deduplication token (per batch and table) lets newer servers drop a repeated block themselves.</remarks>
    private async Task InsertAsync(string table, string columns, string format, int rows, Func<Stream, CancellationToken, Task> writeRows, ulong version, CancellationToken cancellationToken)
    {
        var opts = ClickHouseInsertOpts.Default with { Format = format, DeduplicationToken = string.Create(CultureInfo.InvariantCulture, $"{version}:{table}") };
        var since = Stopwatch.GetTimestamp();
        TimeSpan? loggedAt = null;
        while (true)
        {
            try
            {
                await _client.InsertAsync(table, columns, writeRows, opts, cancellationToken);
                if (loggedAt is not null)
                {
                    var outage = Stopwatch.GetElapsedTime(since);
                    ClickHouseLog.Recovered(_logger, _server, outage.TotalSeconds, rows, table);
                }

                return;
            }
            catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException { IsTransient: true })
            {
                // Unreachable, or answering "not now" (a replicated table is read-only while ZooKeeper is away,
                // too many parts): the write waits, as it does for an outage.
                var waited = Stopwatch.GetElapsedTime(since);
                if (_url.RetryFor is { } limit && waited >= limit)
                {
                    ClickHouseLog.GaveUp(_logger, e, _server, waited.TotalSeconds, rows, table);
                    throw;
                }

                if (loggedAt is not { } last || waited - last >= OutageLogInterval)
                {
                    ClickHouseLog.Unavailable(_logger, e, _server, waited.TotalSeconds, rows, table);
                    loggedAt = waited;
                }

                await Task.Delay(OutagePause, cancellationToken);
            }
        }
    }

    private static async Task WriteRowsAsync<T>(Stream stream, List<T> rows, Action<Utf8JsonWriter, T, int> write, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        using var writer = new Utf8JsonWriter(buffer, JsonOptions);
        for (var i = 0; i < rows.Count; i++)
        {
            writer.WriteStartObject();
            write(writer, rows[i], i);
            writer.WriteEndObject();
            writer.Flush();
            buffer.Write("\n"u8);
            writer.Reset(buffer);
            if (buffer.WrittenCount >= 1 << 16)
            {
                await stream.WriteAsync(buffer.WrittenMemory, cancellationToken);
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
            }
        }

        await stream.WriteAsync(buffer.WrittenMemory, cancellationToken);
    }

    /// <param name="from">The table, with FINAL when the query must see collapsed rows.</param>
    private static string Ordered(string columns, string from, Where where, int? limit, params string[] orderKeys)
    {
        var ascending = string.Join(", ", orderKeys);
        if (limit is not { } n)
        {
            return $"SELECT {columns} FROM {from}{where} ORDER BY {ascending}";
        }

        ArgumentOutOfRangeException.ThrowIfNegative(n, "query.Limit");
        var descending = string.Join(" DESC, ", orderKeys) + " DESC";
        return string.Create(CultureInfo.InvariantCulture, $"SELECT * FROM (SELECT {columns} FROM {from}{where} ORDER BY {descending} LIMIT {n}) ORDER BY {ascending}");
    }

    private static Bar ReadBar(JsonElement row) => new(
        row.GetProperty("symbol").GetString()!,
        row.GetProperty("window").GetString()!,
        row.GetProperty("window_start").GetInt64(),
        row.GetProperty("window_end").GetInt64(),
        row.GetProperty("open").GetDouble(),
        row.GetProperty("high").GetDouble(),
        row.GetProperty("low").GetDouble(),
        row.GetProperty("close").GetDouble(),
        row.GetProperty("volume").GetDouble(),
        row.GetProperty("vwap").ValueKind == JsonValueKind.Null ? null : row.GetProperty("vwap").GetDouble(),
        row.GetProperty("trades").GetInt64());

    // ClickHouse writes a NaN as null in JSON (output_format_json_quote_denormals is off).
    private static double DoubleOrNaN(JsonElement value) => value.ValueKind == JsonValueKind.Null ? double.NaN : value.GetDouble();

    private static Alert ReadAlert(JsonElement row) => new(
        row.GetProperty("id").GetString()!,
        row.GetProperty("rule").GetString()!,
        row.GetProperty("symbol").GetString()!,
        row.GetProperty("window").GetString()!,
        row.GetProperty("window_start").GetInt64(),
        row.GetProperty("window_end").GetInt64(),
        DoubleOrNaN(row.GetProperty("value")),
        DoubleOrNaN(row.GetProperty("threshold")),
        row.GetProperty("ts").GetInt64(),
        row.GetProperty("pipeline").GetString());

    private static Tick ReadTick(JsonElement row)
    {
        var symbol = row.GetProperty("symbol").GetString()!;
        var tradeId = row.GetProperty("trade_id").GetString();
        var exchange = row.GetProperty("exchange").GetString();
        return new Tick(
            symbol,
            row.GetProperty("ts").GetInt64(),
            row.GetProperty("price").GetDouble(),
            row.GetProperty("volume").GetDouble(),
            string.IsNullOrEmpty(tradeId) ? TradeId.None : TradeId.FromText(tradeId),
            string.IsNullOrEmpty(exchange) ? null : exchange,
            AssetClasses.TryParse(row.GetProperty("asset_class").GetString(), out var assetClass) ? assetClass : AssetClasses.Infer(symbol));
    }

    /// <summary>A WHERE clause of the filters that are set, with values as literals.</summary>
    private sealed class Where
    {
        private readonly List<string> _conditions = [];

        public Where Add(string column, string op, string? value)
        {
            if (value is not null)
            {
                _conditions.Add($"{column} {op} {Literal(value)}");
            }

            return this;
        }

        public Where Add(string column, string op, long? value)
        {
            if (value is { } v)
            {
                _conditions.Add(string.Create(CultureInfo.InvariantCulture, $"{column} {op} {v}"));
            }

            return this;
        }

        public Where Add(string condition)
        {
            _conditions.Add(condition);
            return this;
        }

        public override string ToString() => _conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", _conditions);
    }
}

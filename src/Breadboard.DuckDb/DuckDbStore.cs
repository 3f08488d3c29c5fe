using System.Buffers.Text;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.DuckDb;

/// <summary>The embedded <see cref="IMarketStore"/>: ticks, bars, alerts and counts in one DuckDB file inside the process.</summary>
/// <remarks>
/// <para>
/// Writes go through one long-lived connection and a semaphore, so a second concurrent <see cref="WriteAsync"/> waits
/// for the first transaction instead of interleaving with it. Every query opens its own connection to the same
/// database (DuckDB.NET shares the open database between connections, so this costs microseconds, not a file open),
/// which lets readers run while a batch is written; DuckDB's MVCC shows them the last committed batch, never part of one.
/// </para>
/// <para>
/// DuckDB lets one process at a time open a file for writing: a second process fails in <see cref="Open"/>.
/// DuckDB.NET executes statements synchronously, so the async methods block their thread while DuckDB works.
/// </para>
/// </remarks>
public sealed class DuckDbStore : IMarketStore
{
    /// <summary>The path that opens a private in-memory database, gone when the store is disposed.</summary>
    public const string InMemoryPath = ":memory:";

    private const string UrlScheme = "duckdb://";
    private const string UrlExamples = "duckdb://./data/breadboard.duckdb, duckdb:///var/lib/breadboard.duckdb or duckdb://:memory:";

    // Checking the token on every row of a 100K-tick batch would cost more than the check is worth.
    private const int RowsBetweenCancellationChecks = 8192;

    private const string BarColumns =
        "symbol, \"window\", epoch_ms(window_start) AS start_ms, epoch_ms(window_end) AS end_ms, open, high, low, close, volume, vwap, trades";

    private const string AlertColumns =
        "id, rule, symbol, \"window\", epoch_ms(window_start) AS start_ms, epoch_ms(window_end) AS end_ms, value, threshold, epoch_ms(ts) AS ts_ms, pipeline";

    // The distinct (symbol, exchange, asset class) of the ticks a filter selects, in a fixed order so that two
    // queries in one transaction number them alike. The filter's WHERE is appended.
    private const string TickKinds = "SELECT DISTINCT symbol, exchange, asset_class FROM ticks";
    private const string TickKindOrder = "symbol, exchange NULLS FIRST, asset_class NULLS FIRST";

    // Ticks per event-time slice of a long read (QueryTicksAsync).
    private const long TicksPerSlice = 250_000;

    private const string SymbolsSql =
        """
        WITH latest AS (
            SELECT symbol, max(ts) AS last_ts, arg_max(price, (ts, rowid)) AS last_price,
                   arg_max(asset_class, (ts, rowid)) AS asset_class
            FROM ticks
            GROUP BY symbol
        )
        SELECT l.symbol, l.asset_class, epoch_ms(l.last_ts), l.last_price, arg_min(t.price, (t.ts, t.rowid))
        FROM latest l
        JOIN ticks t ON t.symbol = l.symbol AND t.ts >= l.last_ts - INTERVAL 24 HOUR
        GROUP BY l.symbol, l.asset_class, l.last_ts, l.last_price
        ORDER BY l.symbol
        """;

    private static readonly long EpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>A write waiting for the one before it says so at most this often.</summary>
    private static readonly TimeSpan WaitLogInterval = TimeSpan.FromSeconds(5);

    /// <summary>A batch that takes longer than this to commit is logged: the pipeline behind it waits as long.</summary>
    private static readonly TimeSpan SlowWrite = TimeSpan.FromSeconds(2);

    private readonly DuckDBConnection _writer;
    private readonly string _connectionString;
    private readonly bool _inMemory;
    private readonly ILogger _logger;

    // Never disposed: a WriteAsync queued behind DisposeAsync must wake up and see the store disposed, and a
    // SemaphoreSlim holds no unmanaged handle unless its AvailableWaitHandle is used.
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Only used under _writeLock.
    private readonly Utf8Names _names = new();
    private volatile bool _initialized;
    private volatile bool _disposed;

    // Set on a store opened by OpenCopyAsync: the private copy, deleted on dispose.
    private string? _copyDirectory;

    private DuckDbStore(DuckDBConnection writer, string connectionString, string dataSource, bool inMemory, ILogger logger)
    {
        _writer = writer;
        _logger = logger;
        _connectionString = connectionString;
        _inMemory = inMemory;
        DataSource = dataSource;
    }

    /// <summary>The full path of the database file, or <see cref="InMemoryPath"/>.</summary>
    public string DataSource { get; }

    /// <summary>
    /// Opens (or creates) the database at <paramref name="path"/>, creating its directory if missing;
    /// <see cref="InMemoryPath"/> opens a private in-memory database. Call <see cref="InitializeAsync"/> next.
    /// </summary>
    /// <param name="logger">Where migrations, slow writes and writes waiting for another are logged; none by default.</param>
    public static DuckDbStore Open(string path, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var inMemory = path == InMemoryPath;
        var dataSource = inMemory ? InMemoryPath : Path.GetFullPath(path);
        if (!inMemory)
        {
            var directory = Path.GetDirectoryName(dataSource);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        var connectionString = new DuckDBConnectionStringBuilder { DataSource = dataSource }.ConnectionString;
        var writer = new DuckDBConnection(connectionString);
        try
        {
            writer.Open();
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return new DuckDbStore(writer, connectionString, dataSource, inMemory, logger ?? NullLogger.Instance);
    }

    /// <summary>
    /// Opens a private copy of the database at <paramref name="path"/>: for reading history while another process
    /// (<c>up</c>) has the file open for writing, which DuckDB allows no other process to open meanwhile, and
    /// without keeping that process from starting. The copy is of the file and its write-ahead log as they are now;
    /// it lives under the temp directory (<c>TMPDIR</c>) and is deleted when the store is disposed. Initialised
    /// (a copy of an older file is migrated, which the original is not, and which is not news: not logged).
    /// </summary>
    /// <remarks>
    /// A copy taken while the writer checkpoints its log into the file can be torn; DuckDB's block checksums then
    /// refuse it when it is opened and read, and the copy is taken again, up to three times.
    /// </remarks>
    /// <exception cref="FileNotFoundException">There is no database at <paramref name="path"/>.</exception>
    public static async Task<DuckDbStore> OpenCopyAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var source = Path.GetFullPath(path);
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"no DuckDB database at '{source}'", source);
        }

        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("breadboard-copy-").FullName;
            var copy = Path.Combine(directory, Path.GetFileName(source));
            DuckDbStore? store = null;
            try
            {
                File.Copy(source, copy);
                if (File.Exists(source + ".wal"))
                {
                    File.Copy(source + ".wal", copy + ".wal");
                }

                store = Open(copy);
                store._copyDirectory = directory;
                await store.InitializeAsync(cancellationToken);
                await store.MeasureTicksAsync(new TickQuery(), cancellationToken); // reads every block of the ticks table's columns it needs
                return store;
            }
            catch (Exception e) when (attempt < 3 && e is DuckDBException or IOException)
            {
                if (store is not null)
                {
                    await store.DisposeAsync();
                }
                else
                {
                    Directory.Delete(directory, recursive: true);
                }

                await Task.Delay(200 * attempt, cancellationToken);
            }
            catch
            {
                if (store is not null)
                {
                    await store.DisposeAsync();
                }
                else
                {
                    Directory.Delete(directory, recursive: true);
                }

                throw;
            }
        }
    }

    /// <summary>
    /// Reads a store URL into a path for <see cref="Open"/>: <c>duckdb://./data/breadboard.duckdb</c> (relative to
    /// the working directory; so is any path not starting with /), <c>duckdb:///abs/path.duckdb</c> (absolute) or
    /// <c>duckdb://:memory:</c>. On failure <paramref name="error"/> is a one-line message for the user.
    /// </summary>
    public static bool TryParseUrl(string? url, out string path, out string error)
    {
        path = "";
        error = "";
        if (string.IsNullOrWhiteSpace(url))
        {
            error = $"the store URL is empty; expected {UrlExamples}";
            return false;
        }

        if (!url.StartsWith(UrlScheme, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{SecretText.Redact(url)}' is not a duckdb:// URL; expected {UrlExamples}";
            return false;
        }

        var rest = url[UrlScheme.Length..];
        if (rest == InMemoryPath)
        {
            path = InMemoryPath;
            return true;
        }

        if (rest.Length == 0 || rest == "/")
        {
            error = $"'{SecretText.Redact(url)}' names no file; expected {UrlExamples}";
            return false;
        }

        if (rest.IndexOfAny(['?', '#']) >= 0)
        {
            error = $"'{SecretText.Redact(url)}' has a query or fragment; a duckdb:// URL holds only a file path";
            return false;
        }

        if (rest.EndsWith('/') || rest.EndsWith('\\'))
        {
            error = $"'{SecretText.Redact(url)}' names a directory; it must name the database file, e.g. {rest}breadboard.duckdb";
            return false;
        }

        if (rest.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            error = $"'{SecretText.Redact(url)}' contains characters that cannot appear in a path";
            return false;
        }

        // duckdb:///C:/data/breadboard.duckdb is the absolute Windows path C:/data/breadboard.duckdb.
        if (rest.Length >= 4 && rest[0] == '/' && char.IsAsciiLetter(rest[1]) && rest[2] == ':' && rest[3] is '/' or '\\')
        {
            rest = rest[1..];
        }

        path = rest;
        return true;
    }

    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        await WaitForWriterAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var from = await DuckDbSchema.MigrateAsync(_writer, cancellationToken);
            if (from > 0 && from < DuckDbSchema.LatestVersion)
            {
                // An upgrade of an existing file is news; creating a new one is not.
                DuckDbLog.Migrated(_logger, DataSource, from, DuckDbSchema.LatestVersion);
            }

            await DuckDbSchema.ExecuteAsync(_writer, DuckDbSchema.CreateStagingTables, cancellationToken);
            _initialized = true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes the batch in one transaction and returns once DuckDB has committed it (WAL synced).</summary>
    /// <remarks>A cancelled write rolls back entirely: none of the batch is stored.</remarks>
    public async ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await WaitForWriterAsync(cancellationToken);
        try
        {
            ThrowIfNotReady();
            if (batch.IsEmpty)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();

            await using var transaction = await _writer.BeginTransactionAsync(cancellationToken);
            if (batch.Ticks.Count > 0)
            {
                AppendTicks(batch.Ticks, cancellationToken);
            }

            if (batch.Bars.Count > 0)
            {
                StageBars(batch.Bars, cancellationToken);
                await DuckDbSchema.ExecuteAsync(_writer, DuckDbSchema.UpsertBars, cancellationToken);
            }

            if (batch.Alerts.Count > 0)
            {
                StageAlerts(batch.Alerts, cancellationToken);
                await DuckDbSchema.ExecuteAsync(_writer, DuckDbSchema.UpsertAlerts, cancellationToken);
            }

            if (!batch.Counts.IsZero)
            {
                await using var command = _writer.CreateCommand();
                command.CommandText =
                    "UPDATE pipeline_counts SET rejects = rejects + $rejects, late = late + $late, duplicates = duplicates + $duplicates WHERE id = 1";
                command.Parameters.Add(new DuckDBParameter("rejects", batch.Counts.Rejects));
                command.Parameters.Add(new DuckDBParameter("late", batch.Counts.Late));
                command.Parameters.Add(new DuckDBParameter("duplicates", batch.Counts.Duplicates));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var checkpoint in batch.Checkpoints)
            {
                await using var command = _writer.CreateCommand();
                command.CommandText =
                    """
                    INSERT OR REPLACE INTO checkpoints (key, position, state, updated, rejects, late, duplicates)
                    VALUES ($key, $position, $state, now()::TIMESTAMP, $rejects, $late, $duplicates)
                    """;
                command.Parameters.Add(new DuckDBParameter("key", checkpoint.Key));
                command.Parameters.Add(new DuckDBParameter("position", checkpoint.Position));
                command.Parameters.Add(new DuckDBParameter("state", checkpoint.State));
                command.Parameters.Add(new DuckDBParameter("rejects", checkpoint.Counts.Rejects));
                command.Parameters.Add(new DuckDBParameter("late", checkpoint.Counts.Late));
                command.Parameters.Add(new DuckDBParameter("duplicates", checkpoint.Counts.Duplicates));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            var took = Stopwatch.GetElapsedTime(started);
            if (took > SlowWrite)
            {
                DuckDbLog.SlowWrite(_logger, batch.Ticks.Count, batch.Bars.Count, batch.Alerts.Count, batch.Checkpoints.Count, DataSource, took.TotalSeconds);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <remarks>With a limit, the latest rows are kept, still in ascending order.</remarks>
    public async IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = new Filter();
        filter.Add("symbol = $symbol", "symbol", query.Symbol);
        filter.Add("\"window\" = $window", "window", query.Window);
        filter.Add("window_start >= epoch_ms($from)", "from", query.From);
        filter.Add("window_start < epoch_ms($to)", "to", query.To);

        await using var connection = OpenReader();
        await using var command = CreateOrderedQuery(connection, BarColumns, "bars", filter, query.Limit, "start_ms", "\"window\"", "symbol");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadBar(reader);
        }
    }

    /// <remarks>With a limit, the latest alerts are kept, still in ascending order of ts, then id.</remarks>
    public async IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = new Filter();
        filter.Add("symbol = $symbol", "symbol", query.Symbol);
        filter.Add("rule = $rule", "rule", query.Rule);
        filter.Add("ts >= epoch_ms($since)", "since", query.Since);
        filter.Add("ts < epoch_ms($to)", "to", query.To);

        await using var connection = OpenReader();
        await using var command = CreateOrderedQuery(connection, AlertColumns, "alerts", filter, query.Limit, "ts_ms", "id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new Alert(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetDouble(6),
                reader.GetDouble(7),
                reader.GetInt64(8),
                reader.IsDBNull(9) ? null : reader.GetString(9));
        }
    }

    /// <remarks>
    /// <para>Ticks of the same millisecond come in the order they were written; a limit keeps the latest.</para>
    /// <para>Built for reading millions (a backtest): each distinct (symbol, exchange, asset class) is numbered once
    /// in a temporary table, and the ticks carry the number, so no row decodes a string; trade ids that are canonical
    /// decimals (<see cref="TradeId.FromText"/>) come as numbers. Every query runs in one transaction, so all see the
    /// same ticks while a writer goes on.</para>
    /// </remarks>
    public async IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = TickFilter(query, "");
        await using var connection = OpenReader();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var numbering = connection.CreateCommand())
        {
            numbering.CommandText = $"CREATE TEMP TABLE tick_kinds AS SELECT *, (row_number() OVER (ORDER BY {TickKindOrder}))::INTEGER - 1 AS code FROM ({TickKinds}{filter.Where})";
            filter.AddTo(numbering);
            await numbering.ExecuteNonQueryAsync(cancellationToken);
        }

        var kinds = new List<(string Symbol, string? Exchange, AssetClass AssetClass)>();
        long count = 0, first = 0, last = 0;
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT symbol, exchange, asset_class FROM tick_kinds ORDER BY code";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var symbol = reader.GetString(0);
                kinds.Add((symbol, reader.IsDBNull(1) ? null : reader.GetString(1), AssetClasses.TryParse(reader.IsDBNull(2) ? "" : reader.GetString(2), out var assetClass) ? assetClass : AssetClasses.Infer(symbol)));
            }
        }

        if (query.Limit is null)
        {
            await using var measure = connection.CreateCommand();
            measure.CommandText = "SELECT count(*), coalesce(epoch_ms(min(ts)), 0), coalesce(epoch_ms(max(ts)), 0) FROM ticks" + filter.Where;
            filter.AddTo(measure);
            await using var reader = await measure.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            (count, first, last) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }

        const string columns =
            """
            k.code, epoch_ms(t.ts) AS ts_ms, t.price, t.volume,
            TRY_CAST(t.trade_id AS BIGINT) AS id_number,
            CASE WHEN TRY_CAST(t.trade_id AS BIGINT) >= 0 AND CAST(TRY_CAST(t.trade_id AS BIGINT) AS VARCHAR) = t.trade_id THEN NULL ELSE t.trade_id END AS id_text,
            t.rowid AS seq
            """;
        const string from = "ticks t JOIN tick_kinds k ON t.symbol = k.symbol AND t.exchange IS NOT DISTINCT FROM k.exchange AND t.asset_class IS NOT DISTINCT FROM k.asset_class";

        // Many ticks are read in slices of event time, each sorted on its own: rows of the first flow while
        // DuckDB sorts the next, instead of every row waiting for one sort of all.
        var slices = (int)Math.Clamp(count / TicksPerSlice, 1, 256);
        for (var i = 0; i < slices; i++)
        {
            var sliceFilter = TickFilter(query, "t.");
            if (slices > 1)
            {
                sliceFilter.Add("t.ts >= epoch_ms($slice_from)", "slice_from", first + ((last - first + 1) * i / slices));
                sliceFilter.Add("t.ts < epoch_ms($slice_to)", "slice_to", first + ((last - first + 1) * (i + 1) / slices));
            }

            await using var ticks = CreateOrderedQuery(connection, columns, from, sliceFilter, query.Limit, "ts_ms", "seq");
            await using var rows = await ticks.ExecuteReaderAsync(cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                var (symbol, exchange, assetClass) = kinds[rows.GetInt32(0)];
                var id = !rows.IsDBNull(5) ? TradeId.FromText(rows.GetString(5)) : rows.IsDBNull(4) ? TradeId.None : TradeId.FromNumber(rows.GetInt64(4));
                yield return new Tick(symbol, rows.GetInt64(1), rows.GetDouble(2), rows.GetDouble(3), id, exchange, assetClass);
            }
        }
    }

    public async ValueTask<TickSpan> MeasureTicksAsync(TickQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = TickFilter(query, "");
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), epoch_ms(min(ts)), epoch_ms(max(ts)) FROM ticks" + filter.Where;
        filter.AddTo(command);

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = reader.GetInt64(0);
        return count == 0 ? default : new TickSpan(count, reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <param name="table">Prefixes the columns: <c>"t."</c> where the query joins another table.</param>
    private static Filter TickFilter(TickQuery query, string table)
    {
        var filter = new Filter();
        filter.Add($"{table}symbol = $symbol", "symbol", query.Symbol);
        if (query.Symbols is { Count: > 0 } symbols)
        {
            filter.AddIn($"{table}symbol", "symbols", symbols);
        }

        filter.Add($"{table}ts >= epoch_ms($from)", "from", query.From);
        filter.Add($"{table}ts < epoch_ms($to)", "to", query.To);
        return filter;
    }

    public async IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = SymbolsSql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var symbol = reader.GetString(0);
            yield return new SymbolSummary(
                symbol,
                AssetClasses.TryParse(reader.GetString(1), out var assetClass) ? assetClass : AssetClasses.Infer(symbol),
                reader.GetInt64(2),
                reader.GetDouble(3),
                reader.GetDouble(4));
        }
    }

    public async ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            """
            SELECT p.rejects + c.rejects, p.late + c.late, p.duplicates + c.duplicates
            FROM pipeline_counts AS p,
                 (SELECT coalesce(sum(rejects), 0)::BIGINT AS rejects, coalesce(sum(late), 0)::BIGINT AS late,
                         coalesce(sum(duplicates), 0)::BIGINT AS duplicates FROM checkpoints) AS c
            WHERE p.id = 1
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new PipelineCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2))
            : default;
    }

    public async ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT position, state, rejects, late, duplicates FROM checkpoints WHERE key = $key";
        command.Parameters.Add(new DuckDBParameter("key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        await using var state = reader.GetStream(1);
        using var bytes = new MemoryStream();
        await state.CopyToAsync(bytes, cancellationToken);
        return new Checkpoint(key, reader.GetInt64(0), bytes.ToArray(), new PipelineCounts(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
    }

    public async ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        await WaitForWriterAsync(cancellationToken);
        try
        {
            ThrowIfNotReady();
            await using var command = _writer.CreateCommand();
            command.CommandText = "INSERT OR REPLACE INTO batch_runs VALUES ($run_id, $job, epoch_ms($started), CASE WHEN $ended IS NULL THEN NULL ELSE epoch_ms($ended) END, $status, $rows, $error, $attempt)";
            command.Parameters.Add(new DuckDBParameter("run_id", run.RunId));
            command.Parameters.Add(new DuckDBParameter("job", run.Job));
            command.Parameters.Add(new DuckDBParameter("started", run.Started));
            command.Parameters.Add(new DuckDBParameter("ended", run.Ended));
            command.Parameters.Add(new DuckDBParameter("status", run.Status));
            command.Parameters.Add(new DuckDBParameter("rows", run.Rows));
            command.Parameters.Add(new DuckDBParameter("error", run.Error));
            command.Parameters.Add(new DuckDBParameter("attempt", run.Attempt));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id, job, epoch_ms(started), epoch_ms(ended), status, \"rows\", error, attempt FROM batch_runs ORDER BY started DESC, run_id DESC LIMIT $limit";
        command.Parameters.Add(new DuckDBParameter("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new BatchRun(
                reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetString(4), reader.GetInt64(5), reader.GetString(6), reader.GetInt32(7));
        }
    }

    public async ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        await WaitForWriterAsync(cancellationToken);
        try
        {
            ThrowIfNotReady();
            await using var command = _writer.CreateCommand();
            command.CommandText = "INSERT INTO pipelines VALUES ($digest, $yaml, epoch_ms($loaded_at), $loader)";
            command.Parameters.Add(new DuckDBParameter("digest", pipeline.Digest));
            command.Parameters.Add(new DuckDBParameter("yaml", pipeline.Yaml));
            command.Parameters.Add(new DuckDBParameter("loaded_at", pipeline.LoadedAt));
            command.Parameters.Add(new DuckDBParameter("loader", pipeline.Loader));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT digest, yaml, epoch_ms(loaded_at), loader FROM pipelines ORDER BY loaded_at DESC, rowid DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredPipeline(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3))
            : null;
    }

    /// <summary>Closes the writer connection after any batch in progress has committed or rolled back.</summary>
    /// <remarks>Queries already running keep their own connections and finish; the database closes after the last one.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await _writeLock.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _writer.DisposeAsync();
            if (_copyDirectory is not null)
            {
                Directory.Delete(_copyDirectory, recursive: true);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Takes the write lock; while another write holds it, says so every <see cref="WaitLogInterval"/>.</summary>
    private async Task WaitForWriterAsync(CancellationToken cancellationToken)
    {
        var since = Stopwatch.GetTimestamp();
        while (!await _writeLock.WaitAsync(WaitLogInterval, cancellationToken))
        {
            DuckDbLog.WaitingForWriter(_logger, DataSource, Stopwatch.GetElapsedTime(since).TotalSeconds);
        }
    }

    private void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            throw new InvalidOperationException("the DuckDB store is not initialised; call InitializeAsync first");
        }
    }

    private DuckDBConnection OpenReader()
    {
        ThrowIfNotReady();

        // An in-memory database is reachable only through a connection that already has it; a file is shared by path.
        var connection = _inMemory ? _writer.Duplicate() : new DuckDBConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds <c>SELECT columns FROM table WHERE ... ORDER BY keys</c>; with a limit, the inner query takes the last
    /// rows in descending order and the outer one puts them back in ascending order.
    /// </summary>
    private static DuckDBCommand CreateOrderedQuery(DuckDBConnection connection, string columns, string table, Filter filter, int? limit, params string[] orderKeys)
    {
        var ascending = string.Join(", ", orderKeys);
        var sql = new StringBuilder();
        if (limit is { } n)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n, "query.Limit");
            var descending = string.Join(" DESC, ", orderKeys) + " DESC";
            sql.Append("SELECT * FROM (SELECT ").Append(columns).Append(" FROM ").Append(table).Append(filter.Where)
                .Append(" ORDER BY ").Append(descending).Append(" LIMIT $limit) ORDER BY ").Append(ascending);
        }
        else
        {
            sql.Append("SELECT ").Append(columns).Append(" FROM ").Append(table).Append(filter.Where)
                .Append(" ORDER BY ").Append(ascending);
        }

        var command = connection.CreateCommand();
        command.CommandText = sql.ToString();
        foreach (var parameter in filter.Parameters)
        {
            command.Parameters.Add(parameter);
        }

        if (limit is { } value)
        {
            command.Parameters.Add(new DuckDBParameter("limit", (long)value));
        }

        return command;
    }

    private void AppendTicks(List<Tick> ticks, CancellationToken cancellationToken)
    {
        using var appender = _writer.CreateAppender("ticks");
        for (var i = 0; i < ticks.Count; i++)
        {
            if (i % RowsBetweenCancellationChecks == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            // AppendRow with a static callback, unlike CreateRow, allocates no row object per tick.
            appender.AppendRow((Tick: ticks[i], Names: _names), static (row, state) => AppendTick(row, in state.Tick, state.Names));
        }
    }

    /// <summary>One tick as a row of <c>ticks</c>, without allocating.</summary>
    /// <remarks>
    /// Strings go in as UTF-8 spans: DuckDB.NET encodes a string argument anew on every row, and a numeric trade id
    /// would be formatted into a new string.
    /// </remarks>
    private static void AppendTick(IDuckDBAppenderRow row, in Tick tick, Utf8Names names)
    {
        row.AppendValue(names.Utf8(tick.Symbol))
            .AppendValue(ToTimestamp(tick.Ts))
            .AppendValue(tick.Price)
            .AppendValue(tick.Volume);
        Span<byte> number = stackalloc byte[20]; // long.MaxValue has 19 digits
        if (!tick.TradeId.HasValue)
        {
            row.AppendNullValue();
        }
        else if (tick.TradeId.IsNumber && Utf8Formatter.TryFormat(tick.TradeId.Number, number, out var written))
        {
            row.AppendValue(number[..written]);
        }
        else
        {
            row.AppendValue(tick.TradeId.ToString());
        }

        (tick.Exchange is null ? row.AppendNullValue() : row.AppendValue(names.Utf8(tick.Exchange)))
            .AppendValue(names.Utf8(AssetClasses.Name(tick.AssetClass))); // AppendRow ends the row
    }

    private void StageBars(List<Bar> bars, CancellationToken cancellationToken)
    {
        using var appender = _writer.CreateAppender("temp", "main", "bars_stage");
        for (var i = 0; i < bars.Count; i++)
        {
            if (i % RowsBetweenCancellationChecks == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var bar = bars[i];
            appender.CreateRow()
                .AppendValue((long)i)
                .AppendValue(bar.Symbol)
                .AppendValue(bar.Window)
                .AppendValue(ToTimestamp(bar.WindowStart))
                .AppendValue(ToTimestamp(bar.WindowEnd))
                .AppendValue(bar.Open)
                .AppendValue(bar.High)
                .AppendValue(bar.Low)
                .AppendValue(bar.Close)
                .AppendValue(bar.Volume)
                .AppendValue(bar.Vwap)
                .AppendValue(bar.Trades)
                .EndRow();
        }
    }

    private void StageAlerts(List<Alert> alerts, CancellationToken cancellationToken)
    {
        using var appender = _writer.CreateAppender("temp", "main", "alerts_stage");
        for (var i = 0; i < alerts.Count; i++)
        {
            if (i % RowsBetweenCancellationChecks == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var alert = alerts[i];
            appender.CreateRow()
                .AppendValue((long)i)
                .AppendValue(alert.Id)
                .AppendValue(alert.Rule)
                .AppendValue(alert.Symbol)
                .AppendValue(alert.Window)
                .AppendValue(ToTimestamp(alert.WindowStart))
                .AppendValue(ToTimestamp(alert.WindowEnd))
                .AppendValue(alert.Value)
                .AppendValue(alert.Threshold)
                .AppendValue(ToTimestamp(alert.Ts))
                .AppendValue(alert.Pipeline)
                .EndRow();
        }
    }

    // DuckDB.NET writes a DateTime's ticks as they are, whatever its Kind; Utc only documents the intent.
    /// <summary>Reads a bar from columns symbol, window, window_start, window_end (epoch ms), open, high, low, close, volume, vwap, trades.</summary>
    internal static Bar ReadBar(System.Data.IDataRecord reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetInt64(2),
        reader.GetInt64(3),
        reader.GetDouble(4),
        reader.GetDouble(5),
        reader.GetDouble(6),
        reader.GetDouble(7),
        reader.GetDouble(8),
        reader.IsDBNull(9) ? null : reader.GetDouble(9),
        reader.GetInt64(10));

    private static DateTime ToTimestamp(long epochMs) =>
        new(EpochTicks + (epochMs * TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);

    /// <summary>The UTF-8 bytes of the few distinct symbols, exchanges and asset classes that ticks repeat.</summary>
    /// <remarks>Not thread-safe. Bounded: a feed of ever new names starts the cache over rather than growing it.</remarks>
    private sealed class Utf8Names
    {
        private const int MaxNames = 100_000;
        private readonly Dictionary<string, byte[]> _bytes = new(StringComparer.Ordinal);

        public Span<byte> Utf8(string name)
        {
            if (!_bytes.TryGetValue(name, out var bytes))
            {
                if (_bytes.Count >= MaxNames)
                {
                    _bytes.Clear();
                }

                bytes = Encoding.UTF8.GetBytes(name);
                _bytes.Add(name, bytes);
            }

            return bytes;
        }
    }

    /// <summary>A WHERE clause from fixed condition texts; every value travels as a parameter.</summary>
    private sealed class Filter
    {
        private readonly StringBuilder _where = new();

        public List<DuckDBParameter> Parameters { get; } = [];

        public string Where => _where.ToString();

        public void Add(string condition, string name, string? value)
        {
            if (value is not null)
            {
                Append(condition, new DuckDBParameter(name, value));
            }
        }

        public void Add(string condition, string name, long? value)
        {
            if (value is { } v)
            {
                Append(condition, new DuckDBParameter(name, v));
            }
        }

        public void AddTo(DuckDBCommand command)
        {
            foreach (var parameter in Parameters)
            {
                command.Parameters.Add(parameter);
            }
        }

        /// <summary><c>column IN ($name0, $name1, …)</c>, one parameter per value.</summary>
        public void AddIn(string column, string name, IReadOnlyList<string> values)
        {
            var names = new string[values.Count];
            for (var i = 0; i < values.Count; i++)
            {
                names[i] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}{i}");
                Parameters.Add(new DuckDBParameter(names[i], values[i]));
            }

            _where.Append(_where.Length == 0 ? " WHERE " : " AND ").Append(column).Append(" IN ($").Append(string.Join(", $", names)).Append(')');
        }

        private void Append(string condition, DuckDBParameter parameter)
        {
            _where.Append(_where.Length == 0 ? " WHERE " : " AND ").Append(condition);
            Parameters.Add(parameter);
        }
    }
}

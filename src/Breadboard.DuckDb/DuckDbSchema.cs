using DuckDB.NET.Data;

namespace Breadboard.DuckDb;

/// <summary>The store's tables and the migrations that create them, numbered by <c>schema_version</c>.</summary>
/// <remarks>
/// Times are <c>TIMESTAMP</c> (UTC by convention, no zone) rather than BIGINT epoch ms: DuckDB keeps them as
/// microseconds, so every millisecond value is exact, and a person at the DuckDB prompt sees readable times and can
/// use the date functions without a view. SQL converts at the boundary with <c>epoch_ms()</c> both ways, so neither
/// .NET's DateTimeKind nor the session's TimeZone ever touches a value. <c>"window"</c> is quoted because WINDOW is
/// a keyword. Ticks have no index: DuckDB's per-block min/max zone maps prune time ranges, and an index would slow
/// the appender, which is the hot path.
/// </remarks>
internal static class DuckDbSchema
{
    /// <summary>Migration <c>i</c> takes the schema from version <c>i</c> to <c>i + 1</c>; append, never edit.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE ticks (
            symbol      VARCHAR   NOT NULL,
            ts          TIMESTAMP NOT NULL,
            price       DOUBLE    NOT NULL,
            volume      DOUBLE    NOT NULL,
            trade_id    VARCHAR,
            exchange    VARCHAR,
            asset_class VARCHAR   NOT NULL
        );
        CREATE TABLE bars (
            symbol       VARCHAR   NOT NULL,
            "window"     VARCHAR   NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end   TIMESTAMP NOT NULL,
            open         DOUBLE    NOT NULL,
            high         DOUBLE    NOT NULL,
            low          DOUBLE    NOT NULL,
            close        DOUBLE    NOT NULL,
            volume       DOUBLE    NOT NULL,
            vwap         DOUBLE,
            trades       BIGINT    NOT NULL,
            PRIMARY KEY (symbol, "window", window_start)
        );
        CREATE TABLE alerts (
            id           VARCHAR   PRIMARY KEY,
            rule         VARCHAR   NOT NULL,
            symbol       VARCHAR   NOT NULL,
            "window"     VARCHAR   NOT NULL,
            window_start TIMESTAMP NOT NULL,
            window_end   TIMESTAMP NOT NULL,
            value        DOUBLE    NOT NULL,
            threshold    DOUBLE    NOT NULL,
            ts           TIMESTAMP NOT NULL
        );
        CREATE TABLE pipeline_counts (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            rejects    BIGINT  NOT NULL,
            late       BIGINT  NOT NULL,
            duplicates BIGINT  NOT NULL
        );
        INSERT INTO pipeline_counts VALUES (1, 0, 0, 0);
        """,
        """
        CREATE TABLE checkpoints (
            key      VARCHAR   PRIMARY KEY,
            position BIGINT    NOT NULL,
            state    BLOB      NOT NULL,
            updated  TIMESTAMP NOT NULL
        );
        """,
        """
        CREATE TABLE batch_runs (
            run_id  VARCHAR   NOT NULL,
            job     VARCHAR   NOT NULL,
            started TIMESTAMP NOT NULL,
            ended   TIMESTAMP,
            status  VARCHAR   NOT NULL,
            "rows"  BIGINT    NOT NULL,
            error   VARCHAR   NOT NULL,
            attempt INTEGER   NOT NULL,
            PRIMARY KEY (job, run_id)
        );
        """,
        // Checkpoints carry the totals of their input (see Checkpoint.Counts).
        """
        ALTER TABLE checkpoints ADD COLUMN rejects BIGINT DEFAULT 0;
        ALTER TABLE checkpoints ADD COLUMN late BIGINT DEFAULT 0;
        ALTER TABLE checkpoints ADD COLUMN duplicates BIGINT DEFAULT 0;
        """,
        // Alerts carry the digest of the definition that fired them (NULL for older ones); pipelines keeps every
        // definition a process loaded, in the order written (rowid breaks ties on loaded_at).
        """
        ALTER TABLE alerts ADD COLUMN pipeline VARCHAR;
        CREATE TABLE pipelines (
            digest    VARCHAR   NOT NULL,
            yaml      VARCHAR   NOT NULL,
            loaded_at TIMESTAMP NOT NULL,
            loader    VARCHAR   NOT NULL
        );
        """,
    ];

    public static int LatestVersion => Migrations.Length;

    /// <summary>
    /// Connection-local staging for upserts: rows are appended here, collapsed to the last version of each key
    /// (<c>seq</c> is the position in the batch), then moved with one INSERT OR REPLACE, which DuckDB refuses when
    /// the same key occurs twice in its input.
    /// </summary>
    public const string CreateStagingTables =
        """
        CREATE TEMP TABLE IF NOT EXISTS bars_stage (
            seq BIGINT, symbol VARCHAR, "window" VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP,
            open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT
        );
        CREATE TEMP TABLE IF NOT EXISTS alerts_stage (
            seq BIGINT, id VARCHAR, rule VARCHAR, symbol VARCHAR, "window" VARCHAR, window_start TIMESTAMP,
            window_end TIMESTAMP, value DOUBLE, threshold DOUBLE, ts TIMESTAMP, pipeline VARCHAR
        );
        """;

    public const string UpsertBars =
        """
        INSERT OR REPLACE INTO bars
        SELECT symbol, "window", window_start, window_end, open, high, low, close, volume, vwap, trades
        FROM temp.bars_stage
        QUALIFY row_number() OVER (PARTITION BY symbol, "window", window_start ORDER BY seq DESC) = 1;
        DELETE FROM temp.bars_stage;
        """;

    public const string UpsertAlerts =
        """
        INSERT OR REPLACE INTO alerts (id, rule, symbol, "window", window_start, window_end, value, threshold, ts, pipeline)
        SELECT id, rule, symbol, "window", window_start, window_end, value, threshold, ts, pipeline
        FROM temp.alerts_stage
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1;
        DELETE FROM temp.alerts_stage;
        """;

    /// <summary>Brings the schema to <see cref="LatestVersion"/> in one transaction; a current schema is left alone.
    /// Returns the version the file had (0 for a new one).</summary>
    public static async Task<int> MigrateAsync(DuckDBConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken);

        int current;
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
            current = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"the DuckDB file has schema version {current}, newer than this build understands ({LatestVersion})");
        }

        if (current == LatestVersion)
        {
            return current;
        }

        for (var version = current; version < LatestVersion; version++)
        {
            await ExecuteAsync(connection, Migrations[version], cancellationToken);
        }

        await ExecuteAsync(connection, "DELETE FROM schema_version", cancellationToken);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO schema_version VALUES ($version)";
            command.Parameters.Add(new DuckDBParameter("version", LatestVersion));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return current;
    }

    public static async Task ExecuteAsync(DuckDBConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

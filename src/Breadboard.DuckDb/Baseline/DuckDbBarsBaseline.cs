using System.Diagnostics;
using Breadboard.Core.Model;
using DuckDB.NET.Data;

namespace Breadboard.DuckDb.Baseline;

/// <summary>The benchmark's yardstick: DuckDB computing the default pipeline's bars from an NDJSON tick file in one batch query.</summary>
/// <remarks>
/// <para>
/// Windows follow <c>PipelineDefinition.Default</c>: 1m tumbling and 5m hopping every minute, both aligned to the Unix
/// epoch, and 30 s sessions (a gap of 30 000 ms or more starts a new one). Open and close take the price at the
/// smallest and largest (ts, file position), so ties in ts go to the first and the last line of the file.
/// </para>
/// <para>
/// The file position is <c>WITH ORDINALITY</c>, which DuckDB computes as a streaming <c>row_number() OVER ()</c> over
/// the scan in file order (checked on 1M lines with 16 threads). The ticks are materialised once and shared by the
/// three windows. Volume and VWAP are floating-point sums that DuckDB adds in parallel, so they may differ from a
/// sequential engine in the last bits: compare them with a tolerance.
/// </para>
/// </remarks>
public static class DuckDbBarsBaseline
{
    /// <summary>
    /// The query, with the file path as parameter <c>$path</c>. Columns: symbol, window, window_start, window_end
    /// (epoch ms), open, high, low, close, volume, vwap (NULL for zero volume), trades.
    /// </summary>
    public const string Sql =
        """
        WITH ticks AS MATERIALIZED (
            SELECT symbol, epoch_ms(ts) AS ts, price, volume, ordinality AS ord
            FROM read_ndjson($path, columns = {
                symbol: 'VARCHAR', ts: 'TIMESTAMP', price: 'DOUBLE', volume: 'DOUBLE',
                trade_id: 'VARCHAR', exchange: 'VARCHAR', asset_class: 'VARCHAR'
            }) WITH ORDINALITY
        ),
        one_minute AS (
            SELECT symbol, '1m' AS "window", ts // 60000 * 60000 AS window_start, window_start + 60000 AS window_end,
                   arg_min(price, (ts, ord)) AS open, max(price) AS high, min(price) AS low,
                   arg_max(price, (ts, ord)) AS close, sum(volume) AS volume,
                   sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM ticks
            GROUP BY symbol, window_start
        ),
        five_minutes AS (
            -- each tick belongs to the five windows starting at a whole minute in (ts - 300 s, ts]
            SELECT symbol, '5m' AS "window", ts // 60000 * 60000 - hop.back AS window_start, window_start + 300000 AS window_end,
                   arg_min(price, (ts, ord)) AS open, max(price) AS high, min(price) AS low,
                   arg_max(price, (ts, ord)) AS close, sum(volume) AS volume,
                   sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM ticks CROSS JOIN (SELECT range * 60000 AS back FROM range(5)) hop
            GROUP BY symbol, window_start
        ),
        numbered AS (
            -- the first tick of a symbol has no predecessor, so the comparison is NULL and it starts session 1
            SELECT *, sum(CASE WHEN ts - prev_ts < 30000 THEN 0 ELSE 1 END)
                          OVER (PARTITION BY symbol ORDER BY ts, ord ROWS UNBOUNDED PRECEDING) AS session_no
            FROM (SELECT *, lag(ts) OVER (PARTITION BY symbol ORDER BY ts, ord) AS prev_ts FROM ticks)
        ),
        sessions AS (
            SELECT symbol, 'session' AS "window", min(ts) AS window_start, max(ts) + 30000 AS window_end,
                   arg_min(price, (ts, ord)) AS open, max(price) AS high, min(price) AS low,
                   arg_max(price, (ts, ord)) AS close, sum(volume) AS volume,
                   sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM numbered
            GROUP BY symbol, session_no
        )
        SELECT * FROM one_minute
        UNION ALL SELECT * FROM five_minutes
        UNION ALL SELECT * FROM sessions
        """;

    /// <summary>
    /// The same bars the way a DuckDB user would write them: <c>read_json</c> given the four columns it needs (its
    /// own detection would take whole-number prices for integers) and plain GROUP BYs, nothing to fix the order of ticks in the same millisecond. Open and close of a bar whose
    /// first or last millisecond holds several of its ticks may therefore be any of them (DuckDB aggregates in
    /// parallel); everything else equals <see cref="Sql"/>. This is the benchmark's yardstick, since it is what a
    /// user of DuckDB would time; <see cref="Sql"/> is the one to check an engine against.
    /// </summary>
    public const string SimpleSql =
        """
        WITH ticks AS (
            SELECT symbol, epoch_ms(ts) AS ts, price, volume
            FROM read_json($path, columns = {symbol: 'VARCHAR', ts: 'TIMESTAMP', price: 'DOUBLE', volume: 'DOUBLE'})
        ),
        one_minute AS (
            SELECT symbol, '1m' AS "window", ts // 60000 * 60000 AS window_start, window_start + 60000 AS window_end,
                   arg_min(price, ts) AS open, max(price) AS high, min(price) AS low, arg_max(price, ts) AS close,
                   sum(volume) AS volume, sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM ticks
            GROUP BY symbol, window_start
        ),
        five_minutes AS (
            SELECT symbol, '5m' AS "window", ts // 60000 * 60000 - back AS window_start, window_start + 300000 AS window_end,
                   arg_min(price, ts) AS open, max(price) AS high, min(price) AS low, arg_max(price, ts) AS close,
                   sum(volume) AS volume, sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM ticks, (SELECT range * 60000 AS back FROM range(5))
            GROUP BY symbol, window_start
        ),
        sessions AS (
            SELECT symbol, 'session' AS "window", min(ts) AS window_start, max(ts) + 30000 AS window_end,
                   arg_min(price, ts) AS open, max(price) AS high, min(price) AS low, arg_max(price, ts) AS close,
                   sum(volume) AS volume, sum(price * volume) / nullif(sum(volume), 0) AS vwap, count(*) AS trades
            FROM (
                SELECT *, sum(CASE WHEN ts - prev_ts < 30000 THEN 0 ELSE 1 END) OVER (PARTITION BY symbol ORDER BY ts) AS session_no
                FROM (SELECT *, lag(ts) OVER (PARTITION BY symbol ORDER BY ts) AS prev_ts FROM ticks)
            )
            GROUP BY symbol, session_no
        )
        SELECT * FROM one_minute
        UNION ALL SELECT * FROM five_minutes
        UNION ALL SELECT * FROM sessions
        """;

    /// <summary>
    /// Runs <see cref="SimpleSql"/> into a table in a fresh in-memory database, with DuckDB's default threads (all
    /// cores). The time covers reading the file and computing and storing every bar, not opening the database or counting.
    /// </summary>
    public static BaselineResult Run(string ndjsonPath)
    {
        using var connection = OpenWithBars(ndjsonPath, SimpleSql, out var elapsed);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT \"window\", count(*), sum(trades) FILTER (WHERE \"window\" = '1m')::BIGINT FROM bars GROUP BY \"window\"";
        using var reader = command.ExecuteReader();
        var barsPerWindow = new Dictionary<string, long>(StringComparer.Ordinal);
        long ticks = 0;
        while (reader.Read())
        {
            barsPerWindow[reader.GetString(0)] = reader.GetInt64(1);
            if (!reader.IsDBNull(2))
            {
                // Every tick is in exactly one 1m bar.
                ticks = reader.GetInt64(2);
            }
        }

        return new BaselineResult(barsPerWindow, ticks, elapsed);
    }

    /// <summary>Computes the same bars and returns them ordered by window, symbol and window_start, to check an engine against.</summary>
    /// <param name="simple">With <see cref="SimpleSql"/> rather than <see cref="Sql"/>.</param>
    public static IReadOnlyList<Bar> ComputeBars(string ndjsonPath, bool simple = false)
    {
        using var connection = OpenWithBars(ndjsonPath, simple ? SimpleSql : Sql, out _);
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT symbol, \"window\", window_start, window_end, open, high, low, close, volume, vwap, trades FROM bars ORDER BY \"window\", symbol, window_start";
        using var reader = command.ExecuteReader();
        var bars = new List<Bar>();
        while (reader.Read())
        {
            bars.Add(DuckDbStore.ReadBar(reader));
        }

        return bars;
    }

    private static DuckDBConnection OpenWithBars(string ndjsonPath, string sql, out TimeSpan elapsed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ndjsonPath);
        if (!File.Exists(ndjsonPath))
        {
            throw new FileNotFoundException($"no tick file at {ndjsonPath}", ndjsonPath);
        }

        var connection = new DuckDBConnection("DataSource=:memory:");
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();

            // A table, not a count over the query: DuckDB drops aggregates nobody reads, which would flatter it.
            command.CommandText = "CREATE TABLE bars AS " + sql;
            command.Parameters.Add(new DuckDBParameter("path", Path.GetFullPath(ndjsonPath)));
            var stopwatch = Stopwatch.StartNew();
            command.ExecuteNonQuery();
            elapsed = stopwatch.Elapsed;
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}

/// <summary>What the baseline produced and how long DuckDB took.</summary>
/// <param name="BarsPerWindow">Number of bars per window name (1m, 5m, session).</param>
/// <param name="Ticks">Ticks read from the file.</param>
/// <param name="Elapsed">Wall time of the query, reading the file included.</param>
public sealed record BaselineResult(IReadOnlyDictionary<string, long> BarsPerWindow, long Ticks, TimeSpan Elapsed);

using System.Globalization;
using System.Text.RegularExpressions;

namespace Breadboard.ClickHouse;

/// <summary>
/// The store's tables and the numbered migrations that create them, for one server or for a replicated cluster
/// (the seed's one shard with three replicas): the same code writes both, so production DDL is never hand-kept.
/// </summary>
/// <remarks>
/// <para>Times are <c>Int64</c> epoch milliseconds: 18.16 has no <c>DateTime64</c>, and an integer keeps every
/// millisecond on old and new servers alike. Partitions come from <c>toDateTime(intDiv(ts, 1000))</c>.</para>
/// <para>Every table is a ReplacingMergeTree keyed by what makes a row the same row, so a batch written twice (a
/// retry, a replay after a crash) collapses to one; readers use <c>FINAL</c>. Rows that can be re-emitted with new
/// values (bars, counts, checkpoints) carry a <c>version</c>, and the highest version wins. Ticks collapse on
/// (symbol, ts, trade_id, price, volume): two identical trades without a trade id in the same millisecond are
/// stored once.</para>
/// <para>With a cluster, each table is a <c>ReplicatedReplacingMergeTree</c> named <c>&lt;table&gt;_local</c>
/// (paths from the <c>{shard}</c> and <c>{replica}</c> macros) behind a <c>Distributed</c> table with the plain
/// name, all created <c>ON CLUSTER</c>. The store reads and writes the replicated tables (see ClickHouseStore);
/// the Distributed ones are for people's own queries.</para>
/// </remarks>
public static partial class ClickHouseSchema
{
    /// <summary>One migration: its number (from 1), a name for the migrations table, the tables it creates and
    /// the columns it adds to existing ones.</summary>
    private sealed record Migration(int Version, string Name, IReadOnlyList<Table> Tables, IReadOnlyList<Column>? Columns = null);

    /// <summary>A column added to a table (18.16 has no <c>ADD COLUMN IF NOT EXISTS</c>: the migration checks first).</summary>
    private sealed record Column(string Table, string Name, string Definition);

    /// <summary>A table as columns, engine arguments and keys; the engine is chosen by the layout.</summary>
    private sealed record Table(string Name, string Columns, string? VersionColumn, string OrderBy, string? PartitionBy, string ShardKey);

    /// <summary>Append, never edit: a migration that ran on a server must keep meaning the same.</summary>
    private static readonly Migration[] Migrations =
    [
        new(1, "ticks, bars, alerts, counts, checkpoints",
        [
            new("ticks", "symbol String, ts Int64, price Float64, volume Float64, trade_id String, exchange String, asset_class String, seq UInt64", null,
                "(symbol, ts, trade_id, price, volume)", "toYYYYMMDD(toDateTime(intDiv(ts, 1000)))", "cityHash64(symbol)"),
            new("bars", "symbol String, `window` String, window_start Int64, window_end Int64, open Float64, high Float64, low Float64, close Float64, volume Float64, vwap Nullable(Float64), trades Int64, version UInt64", "version",
                "(symbol, `window`, window_start)", "toYYYYMM(toDateTime(intDiv(window_start, 1000)))", "cityHash64(symbol)"),
            new("alerts", "id String, rule String, symbol String, `window` String, window_start Int64, window_end Int64, value Float64, threshold Float64, ts Int64, version UInt64", "version",
                "id", "toYYYYMM(toDateTime(intDiv(ts, 1000)))", "cityHash64(id)"),
            new("pipeline_counts", "source String, rejects Int64, late Int64, duplicates Int64, version UInt64", "version", "source", null, "cityHash64(source)"),
            new("checkpoints", "key String, position Int64, state String, version UInt64", "version", "key", null, "cityHash64(key)"),
        ]),
        new(2, "batch runs",
        [
            new("batch_runs", "run_id String, job String, started Int64, ended Nullable(Int64), status String, rows Int64, error String, version UInt64", "version",
                "(job, run_id)", null, "cityHash64(run_id)"),
        ]),
        new(3, "counts with checkpoints, tick origins", [],
        [
            // A batch's counts go into the checkpoints' own insert, so they are stored exactly when its checkpoints are.
            new("checkpoints", "rejects", "Int64 DEFAULT 0"),
            new("checkpoints", "late", "Int64 DEFAULT 0"),
            new("checkpoints", "duplicates", "Int64 DEFAULT 0"),

            // The input position of a tick (a Kafka partition's checkpoint key and offset), so a restore can leave
            // out ticks written after its checkpoint by a write that crashed before the checkpoint went in.
            new("ticks", "source", "String DEFAULT ''"),
            new("ticks", "position", "Int64 DEFAULT -1"),
        ]),
        new(4, "batch run attempts", [], [new("batch_runs", "attempt", "Int32 DEFAULT 1")]),
        new(5, "alert pipelines, pipeline definitions",
        [
            // A history: a row is one load, so retrying its insert collapses and nothing else does. The latest
            // load is the running definition; version (the write's clock) breaks ties on loaded_at.
            new("pipelines", "digest String, yaml String, loaded_at Int64, loader String, version UInt64", "version",
                "(loaded_at, loader, digest)", null, "cityHash64(digest)"),
        ],
        [
            // The digest of the definition that fired an alert; NULL for alerts stored before alerts carried it.
            new("alerts", "pipeline", "Nullable(String)"),
        ]),
    ];

    public static int LatestVersion => Migrations.Length;

    /// <summary>The statements that take an empty server to the latest schema, in order: what <c>store migrate --print</c> shows.</summary>
    public static IReadOnlyList<string> Statements(string database, string? cluster = null)
    {
        var statements = new List<string> { CreateDatabase(database, cluster) };
        statements.AddRange(TableStatements(MigrationsTable, database, cluster, 0));
        foreach (var migration in Migrations)
        {
            foreach (var table in migration.Tables)
            {
                statements.AddRange(TableStatements(table, database, cluster, migration.Version));
            }

            foreach (var column in migration.Columns ?? [])
            {
                statements.Add(AddColumn(column, database, cluster));
            }

            if (cluster is not null)
            {
                foreach (var table in AlteredTables(migration))
                {
                    statements.AddRange(DistributedStatements(table, database, cluster, migration.Version, replace: true));
                }
            }
        }

        return statements;
    }

    /// <summary>
    /// Brings the server's schema to the latest version; returns the migrations applied. Harmless when run again
    /// or by two processes at once: every statement is <c>IF NOT EXISTS</c>, and a migration is recorded after its
    /// tables exist (in a ReplacingMergeTree, so a double record collapses).
    /// </summary>
    public static async Task<IReadOnlyList<int>> MigrateAsync(ClickHouseHttpClient client, string? cluster = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var database = client.Database;
        using (var server = client.WithDatabase("system"))
        {
            // Requests name their database, so the one being created is asked for through one that exists.
            await server.ExecuteAsync(CreateDatabase(database, cluster), cancellationToken);
        }

        foreach (var statement in TableStatements(MigrationsTable, database, cluster, 0))
        {
            await client.ExecuteAsync(statement, cancellationToken);
        }

        var applied = (await client.QueryAsync($"SELECT version FROM {Quote(database)}.schema_migrations FINAL", row => row.GetProperty("version").GetInt32(), cancellationToken)).ToHashSet();
        var done = new List<int>();
        foreach (var migration in Migrations.Where(m => !applied.Contains(m.Version)))
        {
            foreach (var table in migration.Tables)
            {
                foreach (var statement in TableStatements(table, database, cluster, migration.Version))
                {
                    await client.ExecuteAsync(statement, cancellationToken);
                }
            }

            foreach (var column in migration.Columns ?? [])
            {
                await AddColumnAsync(client, column, cluster, cancellationToken);
            }

            if (cluster is not null)
            {
                foreach (var table in AlteredTables(migration))
                {
                    await ReplaceDistributedAsync(client, table, cluster, migration.Version, cancellationToken);
                }
            }

            // Into the replicated table itself: an insert into a Distributed table returns before the rows are in.
            var row = string.Create(CultureInfo.InvariantCulture, $"INSERT INTO {Quote(database)}.schema_migrations{(cluster is null ? "" : "_local")} (version, name, applied_at) VALUES ({migration.Version}, '{migration.Name.Replace("'", "\\'", StringComparison.Ordinal)}', now())");
            await client.ExecuteAsync(row, cancellationToken);
            done.Add(migration.Version);
        }

        return done;
    }

    /// <summary>The migrations recorded on the server.</summary>
    public static async Task<IReadOnlyList<int>> AppliedAsync(ClickHouseHttpClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return await client.QueryAsync($"SELECT version FROM {Quote(client.Database)}.schema_migrations FINAL ORDER BY version", row => row.GetProperty("version").GetInt32(), cancellationToken);
    }

    /// <summary>
    /// What the server holds of the schema, read without creating or changing anything (for <c>doctor</c>): whether
    /// the database and its migrations table exist, and the migrations recorded there.
    /// </summary>
    public static async Task<ClickHouseSchemaState> ReadStateAsync(ClickHouseHttpClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var database = Quote(client.Database);
        using (var server = client.WithDatabase("system"))
        {
            // Asked through 'system': a request naming a database that does not exist fails before it runs.
            var found = await server.QueryAsync(
                $"SELECT (SELECT count() FROM system.databases WHERE name = '{database}') AS db, (SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'schema_migrations') AS migrations",
                row => (Database: row.GetProperty("db").GetInt64() > 0, Migrations: row.GetProperty("migrations").GetInt64() > 0),
                cancellationToken);
            if (!found[0].Database || !found[0].Migrations)
            {
                return new ClickHouseSchemaState(found[0].Database, false, []);
            }
        }

        return new ClickHouseSchemaState(true, true, await AppliedAsync(client, cancellationToken));
    }

    private static readonly Table MigrationsTable = new("schema_migrations", "version UInt32, name String, applied_at DateTime", null, "version", null, "version");

    private static string CreateDatabase(string database, string? cluster) => $"CREATE DATABASE IF NOT EXISTS {Quote(database)}{OnCluster(cluster)}";

    /// <param name="version">The migration creating the table: the Distributed table gets the columns as of it.</param>
    private static IEnumerable<string> TableStatements(Table table, string database, string? cluster, int version)
    {
        var db = Quote(database);
        var partition = table.PartitionBy is null ? "" : $" PARTITION BY {table.PartitionBy}";
        if (cluster is null)
        {
            yield return $"CREATE TABLE IF NOT EXISTS {db}.{table.Name} ({table.Columns}) ENGINE = ReplacingMergeTree({table.VersionColumn}){partition} ORDER BY {table.OrderBy}";
            yield break;
        }

        // The replica path names the table, not the database's current name, so a rename never orphans replicas.
        var replicated = $"ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{database}/{table.Name}', '{{replica}}'{(table.VersionColumn is null ? "" : ", " + table.VersionColumn)})";
        yield return $"CREATE TABLE IF NOT EXISTS {db}.{table.Name}_local{OnCluster(cluster)} ({table.Columns}) ENGINE = {replicated}{partition} ORDER BY {table.OrderBy}";
        foreach (var statement in DistributedStatements(table, database, cluster, version, replace: false))
        {
            yield return statement;
        }
    }

    /// <summary>
    /// The Distributed table in front of <c>&lt;table&gt;_local</c>, with the table's columns as of migration
    /// <paramref name="version"/> named outright (not <c>AS</c> the local table, whose columns on a replica may not
    /// yet have caught up); <paramref name="replace"/> drops the one there first.
    /// </summary>
    /// <remarks>
    /// A migration that adds columns replaces the Distributed table rather than altering it: ClickHouse 18.16 refuses
    /// <c>ALTER … ON CLUSTER</c> on a table that is not replicated when the cluster's shard has internal replication
    /// (error 371, <c>DDLWorker::processTaskAlter</c> in src/Interpreters/DDLWorker.cpp of 18.16), while DROP and
    /// CREATE run on every host on old and new servers alike (newer servers' <c>DDLWorker::taskShouldBeExecutedOnLeader</c>
    /// sends only ALTERs of replicated tables to one replica). It holds no rows of its own: Breadboard writes the
    /// replicated tables, and readers see nothing missing once it is back, a moment later.
    /// </remarks>
    private static IEnumerable<string> DistributedStatements(Table table, string database, string cluster, int version, bool replace)
    {
        var db = Quote(database);
        if (replace)
        {
            yield return $"DROP TABLE IF EXISTS {db}.{table.Name}{OnCluster(cluster)}";
        }

        yield return $"CREATE TABLE IF NOT EXISTS {db}.{table.Name}{OnCluster(cluster)} ({ColumnsAsOf(table, version)}) ENGINE = Distributed({Quote(cluster)}, {db}, {table.Name}_local, {table.ShardKey})";
    }

    /// <summary>A table's columns as of a migration: those it was created with and those added up to it.</summary>
    private static string ColumnsAsOf(Table table, int version) =>
        string.Join(", ", [table.Columns, .. Migrations.Where(m => m.Version <= version).SelectMany(m => m.Columns ?? []).Where(c => c.Table == table.Name).Select(c => $"{c.Name} {c.Definition}")]);

    /// <summary>The tables a migration adds columns to, in order.</summary>
    private static IEnumerable<Table> AlteredTables(Migration migration) =>
        (migration.Columns ?? []).Select(c => c.Table).Distinct().Select(name => Migrations.SelectMany(m => m.Tables).First(t => t.Name == name));

    /// <summary>The column added to the table itself (one server) or to its replicated table on one replica.</summary>
    /// <remarks>Not <c>ON CLUSTER</c>: an ALTER of a replicated table goes through ZooKeeper to every replica by
    /// itself (a replica that is down takes it when it returns). And 18.16 runs an <c>ALTER … ON CLUSTER</c> of a
    /// replicated table racily: it checks whether the shard already ran the task before taking the shard's lock, so a
    /// replica that lost the race runs it again, fails on "Node exists …/executed", and its DDL worker stops for good
    /// (<c>DDLWorker::processTaskAlter</c> in src/Interpreters/DDLWorker.cpp of 18.16; seen on the test cluster).</remarks>
    private static string AddColumn(Column column, string database, string? cluster) =>
        $"ALTER TABLE {Quote(database)}.{column.Table}{(cluster is null ? "" : "_local")} ADD COLUMN {column.Name} {column.Definition}";

    /// <summary>Adds a column unless this server's table has it; a concurrent migration adding it first is fine too.</summary>
    private static async Task AddColumnAsync(ClickHouseHttpClient client, Column column, string? cluster, CancellationToken cancellationToken)
    {
        if (await HasColumnAsync(client, column.Table + (cluster is null ? "" : "_local"), column.Name, cancellationToken))
        {
            return;
        }

        try
        {
            await client.ExecuteAsync(AddColumn(column, client.Database, cluster), cancellationToken);
        }
        catch (ClickHouseException e) when (e.Code == DuplicateColumn)
        {
            // Another process's migration added it in the meantime.
        }
    }

    /// <summary>Replaces the Distributed table unless this server's already has every column of the migration.</summary>
    private static async Task ReplaceDistributedAsync(ClickHouseHttpClient client, Table table, string cluster, int version, CancellationToken cancellationToken)
    {
        var migration = Migrations[version - 1];
        var current = true;
        foreach (var column in (migration.Columns ?? []).Where(c => c.Table == table.Name))
        {
            current &= await HasColumnAsync(client, table.Name, column.Name, cancellationToken);
        }

        if (!current)
        {
            foreach (var statement in DistributedStatements(table, client.Database, cluster, version, replace: true))
            {
                await client.ExecuteAsync(statement, cancellationToken);
            }
        }
    }

    private static async Task<bool> HasColumnAsync(ClickHouseHttpClient client, string table, string column, CancellationToken cancellationToken) =>
        (await client.QueryAsync(
            $"SELECT count() AS n FROM system.columns WHERE database = '{client.Database}' AND table = '{table}' AND name = '{column}'",
            row => row.GetProperty("n").GetInt64(),
            cancellationToken))[0] > 0;

    /// <summary>ILLEGAL_COLUMN: "Cannot add column …: column with this name already exists".</summary>
    private const int DuplicateColumn = 44;

    private static string OnCluster(string? cluster) => cluster is null ? "" : $" ON CLUSTER {Quote(cluster)}";

    /// <summary>Database and cluster names are identifiers we put in SQL: only plain ones are accepted.</summary>
    public static string Quote(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return Identifier().IsMatch(identifier)
            ? identifier
            : throw new ArgumentException($"'{identifier}' is not a plain identifier (letters, digits, '_'; not starting with a digit)", nameof(identifier));
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex Identifier();
}

/// <summary>The schema a ClickHouse database holds, as <see cref="ClickHouseSchema.ReadStateAsync"/> found it.</summary>
/// <param name="DatabaseExists">Whether the database exists.</param>
/// <param name="MigrationsTableExists">Whether it has the <c>schema_migrations</c> table (created by the first migration run).</param>
/// <param name="Applied">The migrations recorded, in order.</param>
public sealed record ClickHouseSchemaState(bool DatabaseExists, bool MigrationsTableExists, IReadOnlyList<int> Applied)
{
    /// <summary>The migrations this build has that the database lacks.</summary>
    public IReadOnlyList<int> Missing => [.. Enumerable.Range(1, ClickHouseSchema.LatestVersion).Where(v => !Applied.Contains(v))];

    /// <summary>Migrations recorded that this build does not know (a newer build migrated the database).</summary>
    public IReadOnlyList<int> Unknown => [.. Applied.Where(v => v > ClickHouseSchema.LatestVersion)];
}

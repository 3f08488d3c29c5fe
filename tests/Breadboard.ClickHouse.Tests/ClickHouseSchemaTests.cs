using Breadboard.Core.Seams;
using Breadboard.TestKit;
using Breadboard.TestKit.Logging;
using Breadboard.TestKit.Stores;

namespace Breadboard.ClickHouse.Tests;

[Slow]
public sealed class ClickHouseSchemaTests(ClickHouseServerFixture fixture) : IClassFixture<ClickHouseServerFixture>
{
    private static readonly string[] Tables = ["alerts", "bars", "batch_runs", "checkpoints", "pipeline_counts", "pipelines", "schema_migrations", "ticks"];

    [Fact]
    public async Task Migrate_OnAnEmptyServer_CreatesEveryTable_AndRunAgainChangesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = $"migrate_{Guid.NewGuid():N}";
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null);

        Assert.Equal(Enumerable.Range(1, ClickHouseSchema.LatestVersion), await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct));
        Assert.Empty(await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct));
        Assert.Empty(await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct));

        Assert.Equal(Enumerable.Range(1, ClickHouseSchema.LatestVersion), await ClickHouseSchema.AppliedAsync(client, ct));
        var engines = await client.QueryAsync(
            $"SELECT name, engine FROM system.tables WHERE database = '{database}' ORDER BY name",
            row => (Name: row.GetProperty("name").GetString()!, Engine: row.GetProperty("engine").GetString()!),
            ct);
        Assert.Equal(Tables, engines.Select(e => e.Name));
        Assert.All(engines, e => Assert.Equal("ReplacingMergeTree", e.Engine));
    }

    [Fact]
    public async Task ReadState_NoDatabase_EmptyDatabase_PartlyAndFullyMigrated_AndCreatesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = $"state_{Guid.NewGuid():N}";
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null);

        // Read twice: the first read created nothing.
        Assert.Equal((false, false, 0), Summary(await ClickHouseSchema.ReadStateAsync(client, ct)));
        Assert.Equal((false, false, 0), Summary(await ClickHouseSchema.ReadStateAsync(client, ct)));

        using (var admin = new ClickHouseHttpClient(fixture.Url, "default", null, null))
        {
            await admin.ExecuteAsync($"CREATE DATABASE {database}", ct);
        }

        Assert.Equal((true, false, 0), Summary(await ClickHouseSchema.ReadStateAsync(client, ct)));

        // Every table, but only migrations 1-3 recorded: as a database left by an older build looks.
        await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct);
        await client.ExecuteAsync("DROP TABLE schema_migrations", ct);
        await client.ExecuteAsync(ClickHouseSchema.Statements(database)[1], ct);
        await client.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '', now()), (2, '', now()), (3, '', now())", ct);
        var partly = await ClickHouseSchema.ReadStateAsync(client, ct);
        Assert.Equal([1, 2, 3], partly.Applied);
        Assert.Equal(Enumerable.Range(4, ClickHouseSchema.LatestVersion - 3), partly.Missing);

        await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct);
        var current = await ClickHouseSchema.ReadStateAsync(client, ct);
        Assert.True(current.DatabaseExists && current.MigrationsTableExists);
        Assert.Empty(current.Missing);
        Assert.Empty(current.Unknown);

        static (bool, bool, int) Summary(ClickHouseSchemaState state) => (state.DatabaseExists, state.MigrationsTableExists, state.Applied.Count);
    }

    [Fact]
    public async Task Migrate_TwoAtOnce_BothSucceedAndEachMigrationIsRecordedOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = $"race_{Guid.NewGuid():N}";
        using var a = new ClickHouseHttpClient(fixture.Url, database, null, null);
        using var b = new ClickHouseHttpClient(fixture.Url, database, null, null);

        await Task.WhenAll(ClickHouseSchema.MigrateAsync(a, cancellationToken: ct), ClickHouseSchema.MigrateAsync(b, cancellationToken: ct));

        Assert.Equal(Enumerable.Range(1, ClickHouseSchema.LatestVersion), await ClickHouseSchema.AppliedAsync(a, ct));
    }

    [Fact]
    public async Task Initialize_ADatabaseOfVersion4WithAlerts_AddsTheirPipelineAsNullAndThePipelinesTable()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = $"upgrade_{Guid.NewGuid():N}";
        var url = $"clickhouse://127.0.0.1:{fixture.Server.HttpPort}/{database}";
        var old = StoreRecords.Alert("price_drop", "AAPL", StoreRecords.T0);
        await using (var store = ClickHouseStore.Open(url))
        {
            await store.InitializeAsync(ct);
            await store.WriteAsync(StoreRecords.Batch(alerts: [old]), ct);
        }

        // Back to version 4, its alert kept: the alerts table before alerts carried a pipeline, no pipelines table.
        using (var client = new ClickHouseHttpClient(fixture.Url, database, null, null))
        {
            await client.ExecuteAsync("ALTER TABLE alerts DROP COLUMN pipeline", ct);
            await client.ExecuteAsync("DROP TABLE pipelines", ct);
            await client.ExecuteAsync("DROP TABLE schema_migrations", ct);
            await client.ExecuteAsync(ClickHouseSchema.Statements(database)[1], ct);
            await client.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '', now()), (2, '', now()), (3, '', now()), (4, '', now())", ct);
        }

        var log = new ListLogger();
        await using var upgraded = ClickHouseStore.Open(url, logger: log);
        await upgraded.InitializeAsync(ct);
        var stamped = StoreRecords.Alert("price_drop", "MSFT", StoreRecords.T0) with { Pipeline = "0123456789abcdef" };
        await upgraded.WriteAsync(StoreRecords.Batch(alerts: [stamped]), ct);

        Assert.Contains("upgraded to schema version 5", Assert.Single(log.Lines), StringComparison.Ordinal);
        Assert.Equal([old, stamped], await upgraded.QueryAlertsAsync(new AlertQuery(), ct).ToListAsync(ct));
        Assert.Null(await upgraded.LoadPipelineAsync(ct));
    }

    [Fact]
    public async Task Bars_WrittenTwiceWithANewerVersion_ReadWithFinal_GiveOneRowWithTheNewestValues()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = $"bars_{Guid.NewGuid():N}";
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null);
        await ClickHouseSchema.MigrateAsync(client, cancellationToken: ct);
        const string columns = "symbol, `window`, window_start, window_end, open, high, low, close, volume, vwap, trades, version";
        foreach (var (close, version) in new[] { (101.5, 1), (102.25, 2), (101.5, 1) })
        {
            await client.InsertAsync("bars", columns, async (stream, token) =>
            {
                var row = System.Text.Encoding.UTF8.GetBytes(
                    $$"""{"symbol":"BTC-USD","window":"1m","window_start":1767225600000,"window_end":1767225660000,"open":100,"high":103,"low":99,"close":{{close.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"volume":2,"vwap":null,"trades":4,"version":{{version}}}""" + "\n");
                await stream.WriteAsync(row, token);
            }, ct);
        }

        var bars = await client.QueryAsync("SELECT close, window_start FROM bars FINAL", row => (Close: row.GetProperty("close").GetDouble(), Start: row.GetProperty("window_start").GetInt64()), ct);

        Assert.Equal((102.25, 1_767_225_600_000L), Assert.Single(bars));
    }

    [Fact]
    public void Statements_ForACluster_AreReplicatedLocalTablesBehindDistributedOnes_OnCluster()
    {
        var statements = ClickHouseSchema.Statements("breadboard", "breadboard_cluster").ToList();

        Assert.Equal("CREATE DATABASE IF NOT EXISTS breadboard ON CLUSTER breadboard_cluster", statements[0]);
        foreach (var table in Tables)
        {
            var local = Assert.Single(statements, s => s.StartsWith($"CREATE TABLE IF NOT EXISTS breadboard.{table}_local ON CLUSTER breadboard_cluster (", StringComparison.Ordinal));
            Assert.Contains($"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/breadboard/{table}', '{{replica}}'", local, StringComparison.Ordinal);
            var distributed = statements.Last(s => s.StartsWith($"CREATE TABLE IF NOT EXISTS breadboard.{table} ON CLUSTER breadboard_cluster (", StringComparison.Ordinal));
            Assert.Contains($") ENGINE = Distributed(breadboard_cluster, breadboard, {table}_local, ", distributed, StringComparison.Ordinal);
        }

        // Columns added by a later migration go to the replicated table on one replica, not ON CLUSTER (its replicas
        // take them from ZooKeeper, and 18.16's ON CLUSTER ALTER races); the Distributed table is replaced with every
        // column, since 18.16 refuses ALTER ON CLUSTER on it (error 371).
        Assert.All(statements.Where(s => s.StartsWith("ALTER", StringComparison.Ordinal)), s => Assert.Matches(@"^ALTER TABLE breadboard\.\w+_local ADD COLUMN ", s));
        var late = statements.FindIndex(s => s == "ALTER TABLE breadboard.checkpoints_local ADD COLUMN late Int64 DEFAULT 0");
        var drop = statements.FindIndex(s => s == "DROP TABLE IF EXISTS breadboard.checkpoints ON CLUSTER breadboard_cluster");
        Assert.InRange(late, 1, drop - 1);
        Assert.Equal(
            "CREATE TABLE IF NOT EXISTS breadboard.checkpoints ON CLUSTER breadboard_cluster (key String, position Int64, state String, version UInt64, rejects Int64 DEFAULT 0, late Int64 DEFAULT 0, duplicates Int64 DEFAULT 0) ENGINE = Distributed(breadboard_cluster, breadboard, checkpoints_local, cityHash64(key))",
            statements[drop + 1]);
        Assert.Equal(
            ["ALTER TABLE breadboard.alerts_local ADD COLUMN pipeline Nullable(String)", "DROP TABLE IF EXISTS breadboard.alerts ON CLUSTER breadboard_cluster"],
            statements[^3..^1].ToArray());
        Assert.EndsWith("value Float64, threshold Float64, ts Int64, version UInt64, pipeline Nullable(String)) ENGINE = Distributed(breadboard_cluster, breadboard, alerts_local, cityHash64(id))", statements[^1], StringComparison.Ordinal);

        var bars = Assert.Single(statements, s => s.Contains("bars_local", StringComparison.Ordinal) && s.Contains("Replicated", StringComparison.Ordinal));
        Assert.Contains("'{replica}', version)", bars, StringComparison.Ordinal);
        Assert.Contains("ORDER BY (symbol, `window`, window_start)", bars, StringComparison.Ordinal);
        Assert.Contains("PARTITION BY toYYYYMM(toDateTime(intDiv(window_start, 1000)))", bars, StringComparison.Ordinal);
    }

    [Fact]
    public void Statements_ForOneServer_MatchWhatMigrateCreates()
    {
        var statements = ClickHouseSchema.Statements("market");

        Assert.Equal(1 + Tables.Length + 7, statements.Count);
        Assert.DoesNotContain(statements, s => s.Contains("ON CLUSTER", StringComparison.Ordinal) || s.Contains("Distributed", StringComparison.Ordinal));
        Assert.Equal("ALTER TABLE market.checkpoints ADD COLUMN rejects Int64 DEFAULT 0", statements[^8]);
        Assert.Equal("ALTER TABLE market.ticks ADD COLUMN position Int64 DEFAULT -1", statements[^4]);
        Assert.Equal("ALTER TABLE market.batch_runs ADD COLUMN attempt Int32 DEFAULT 1", statements[^3]);
        Assert.Equal("CREATE TABLE IF NOT EXISTS market.pipelines (digest String, yaml String, loaded_at Int64, loader String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (loaded_at, loader, digest)", statements[^2]);
        Assert.Equal("ALTER TABLE market.alerts ADD COLUMN pipeline Nullable(String)", statements[^1]);
        Assert.Contains("CREATE TABLE IF NOT EXISTS market.ticks (symbol String, ts Int64, price Float64, volume Float64, trade_id String, exchange String, asset_class String, seq UInt64) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000))) ORDER BY (symbol, ts, trade_id, price, volume)", statements);
    }

    [Theory]
    [InlineData("bad-name")]
    [InlineData("x; DROP TABLE y")]
    [InlineData("1abc")]
    public void Statements_WithANameThatIsNotAPlainIdentifier_AreRefused(string name) =>
        Assert.Throws<ArgumentException>(() => ClickHouseSchema.Statements(name));
}

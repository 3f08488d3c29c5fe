using System.Diagnostics;
using Breadboard.ClickHouse;
using Breadboard.DuckDb;
using Breadboard.Kafka;
using Breadboard.Nats;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;
using Breadboard.TestKit.Flink;
using Breadboard.TestKit.Http;
using Breadboard.TestKit.Kafka;
using Breadboard.TestKit.Nats;
using Confluent.Kafka;
using NATS.Client.JetStream;
using NATS.Net;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>breadboard doctor</c> through the real CLI against real servers: every check ok, each kind of failure, and nothing created.</summary>
public sealed class DoctorCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<CliProcess.Result> DoctorAsync(TempDir dir, IDictionary<string, string>? environment, params string[] args) =>
        await CliProcess.RunAsync(dir.Path, ["doctor", .. args], environment, timeoutSeconds: 60);

    private static string[] Lines(CliProcess.Result result) => result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string Line(CliProcess.Result result, string check) =>
        Assert.Single(Lines(result), l => l.StartsWith($"ok   {check}: ", StringComparison.Ordinal) || l.StartsWith($"FAIL {check}: ", StringComparison.Ordinal));

    [Fact]
    public async Task Doctor_EmbeddedDefaults_EveryCheckOk_Exit0()
    {
        using var dir = new TempDir();

        var result = await DoctorAsync(dir, null);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.All(Lines(result), l => Assert.StartsWith("ok   ", l, StringComparison.Ordinal));
        Assert.Equal(
            $"ok   duckdb: {dir.File("data/breadboard.duckdb")}: no file yet, created by the first `breadboard up` (or any command that stores); directory {dir.File("data")} created with it ({dir.Path} writable)",
            Line(result, "duckdb"));
        Assert.Equal(["duckdb", "bus", "alerts", "engine", "scheduler", "channels"], Lines(result).Select(l => l[5..l.IndexOf(':', StringComparison.Ordinal)]));
        Assert.False(Directory.Exists(dir.File("data")));
    }

    [Fact]
    public async Task Doctor_DuckDbFileHeldByAWriter_IsOkWithANote_ThenReportsTheCurrentSchema()
    {
        using var dir = new TempDir();
        var path = dir.File("bb.duckdb");
        string[] store = ["--store", $"duckdb://{path}"];
        var store1 = DuckDbStore.Open(path);
        await store1.InitializeAsync(Ct);

        CliProcess.Result held;
        await using (store1)
        {
            held = await DoctorAsync(dir, null, store);
        }

        var free = await DoctorAsync(dir, null, store);

        Assert.True(held.ExitCode == 0, held.Stdout + held.Stderr);
        Assert.StartsWith($"ok   duckdb: {path}: held for writing by PID {Environment.ProcessId} (", Line(held, "duckdb"), StringComparison.Ordinal);
        Assert.True(free.ExitCode == 0, free.Stdout + free.Stderr);
        Assert.Equal($"ok   duckdb: {path}: schema version {DuckDbFile.LatestSchemaVersion} (current); directory writable", Line(free, "duckdb"));
    }

    [Fact]
    public async Task Doctor_EveryBackendUpAndSetUp_EveryCheckOk_Exit0_AndNothingIsPosted()
    {
        await using var clickHouse = await ClickHouseServerProcess.StartAsync(Ct);
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        await using var kafka = await KafkaMockProcess.StartAsync(cancellationToken: Ct);
        await using var receiver = await HttpReceiver.StartAsync(cancellationToken: Ct);
        await using var flink = await FakeFlinkGateway.StartAsync(Ct);
        using var dir = new TempDir();

        var store = $"clickhouse://127.0.0.1:{clickHouse.HttpPort}/doctor_ok?user={ClickHouseServerProcess.User}";
        using (var client = new ClickHouseHttpClient(new Uri(clickHouse.Url), "doctor_ok", ClickHouseServerProcess.User, ClickHouseServerProcess.Password))
        {
            await ClickHouseSchema.MigrateAsync(client, cancellationToken: Ct);
        }

        // The mock cluster cannot create topics through the admin API (KafkaTopics.EnsureAsync's way): it makes them
        // itself, as deploy/k8s/kafka.yaml lays them out (dead letters on one partition).
        foreach (var topic in KafkaBusOptions.AllTopics)
        {
            await kafka.CreateTopicAsync(topic, topic.EndsWith("-dlq", StringComparison.Ordinal) ? 1 : 6, Ct);
        }

        var natsOptions = new NatsAlertOptions { Servers = nats.Url };
        await using (var connection = AlertStreams.Connect(natsOptions, "test"))
        {
            var js = await AlertStreams.EnsureAsync(connection, natsOptions, Ct);
            await AlertConsumers.EnsureAsync(js, "webhook", StartFrom.NewOnly, TimeSpan.FromSeconds(30), Ct);
        }

        var environment = new Dictionary<string, string>
        {
            ["BREADBOARD_STORE"] = store,
            ["BREADBOARD_CLICKHOUSE_PASSWORD"] = ClickHouseServerProcess.Password,
            ["BREADBOARD_BUS"] = $"kafka://{kafka.BootstrapServers}",
            ["BREADBOARD_ALERTS"] = nats.Url,
            ["BREADBOARD_ENGINE"] = flink.EngineUrl,
            ["BREADBOARD_SCHEDULER"] = "airflow",
            ["BREADBOARD_WEBHOOK_URL"] = new Uri(receiver.Url, "hooks/alerts").AbsoluteUri,
            ["BREADBOARD_WEBHOOK_SECRET"] = "whsec-doctor-ok",
            ["BREADBOARD_SLACK_WEBHOOK_URL"] = new Uri(receiver.Url, "services/T0/B0/slack-token").AbsoluteUri,
        };

        var started = Stopwatch.GetTimestamp();
        var result = await DoctorAsync(dir, environment);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20), $"took {Stopwatch.GetElapsedTime(started)}");
        Assert.All(Lines(result), l => Assert.StartsWith("ok   ", l, StringComparison.Ordinal));
        Assert.StartsWith($"ok   clickhouse: ClickHouse 18.16", Line(result, "clickhouse"), StringComparison.Ordinal);
        Assert.Equal($"ok   clickhouse schema: database doctor_ok at schema version {ClickHouseSchema.LatestVersion} (current)", Line(result, "clickhouse schema"));
        Assert.Equal($"ok   kafka: 3 brokers in the cluster at {kafka.BootstrapServers}", Line(result, "kafka"));
        foreach (var topic in KafkaBusOptions.AllTopics.Where(t => !t.EndsWith("-dlq", StringComparison.Ordinal)))
        {
            Assert.Equal($"ok   kafka topic {topic}: 6 partitions, 1 replica", Line(result, $"kafka topic {topic}"));
        }

        Assert.Equal("ok   kafka topic ticks-dlq: 1 partition, 1 replica (a dead-letter topic works with any count)", Line(result, "kafka topic ticks-dlq"));

        Assert.StartsWith($"ok   nats: nats-server 2.", Line(result, "nats"), StringComparison.Ordinal);
        Assert.Equal("ok   nats stream ALERTS: 0 messages; subjects alerts.*, max_age 7d, replicas 1 as configured", Line(result, "nats stream ALERTS"));
        Assert.Equal("ok   nats stream ALERTS_DEAD: 0 messages; subjects alerts.dead.>, max_age 7d, replicas 1 as configured", Line(result, "nats stream ALERTS_DEAD"));
        Assert.Equal("ok   nats consumers: webhook (0 pending); slack (configured) created on first `notify --channel slack`", Line(result, "nats consumers"));
        Assert.Equal($"ok   flink: SQL Gateway at {flink.Url.AbsoluteUri} answers: Apache Flink 1.20.1", Line(result, "flink"));
        Assert.Equal("ok   scheduler: airflow (its DAG runs the batch steps; nothing to check from here)", Line(result, "scheduler"));
        Assert.Equal($"ok   webhook: {receiver.Url.AbsoluteUri}…: TCP connect ok; signing secret set (BREADBOARD_WEBHOOK_SECRET)", Line(result, "webhook"));
        Assert.Equal($"ok   slack: {receiver.Url.AbsoluteUri}…: TCP connect ok", Line(result, "slack"));
        Assert.Empty(receiver.Requests);
        Assert.DoesNotContain(ClickHouseServerProcess.Password, result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("slack-token", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_StoreNamingReplicas_ChecksEachOnItsOwnLine_AndFailsForTheOneDown()
    {
        await using var clickHouse = await ClickHouseServerProcess.StartAsync(Ct);
        using var dir = new TempDir();
        var down = ServerProcess.FreePort();
        var store = $"clickhouse://127.0.0.1:{clickHouse.HttpPort},127.0.0.1:{down}/doctor_replicas";
        await CliProcess.RunSucceedsAsync(dir, "store", "migrate", "--store", $"clickhouse://127.0.0.1:{clickHouse.HttpPort}/doctor_replicas");

        var result = await DoctorAsync(dir, null, "--store", store);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"ok   clickhouse 127.0.0.1:{clickHouse.HttpPort}: ClickHouse 18.16", Line(result, $"clickhouse 127.0.0.1:{clickHouse.HttpPort}"), StringComparison.Ordinal);
        Assert.Equal($"ok   clickhouse schema 127.0.0.1:{clickHouse.HttpPort}: database doctor_replicas at schema version {ClickHouseSchema.LatestVersion} (current)", Line(result, $"clickhouse schema 127.0.0.1:{clickHouse.HttpPort}"));
        Assert.StartsWith($"FAIL clickhouse 127.0.0.1:{down}: http://127.0.0.1:{down}/ping: ", Line(result, $"clickhouse 127.0.0.1:{down}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_FreshClickHouseDatabase_FailsWithTheMigrateFix_AndCreatesNoDatabase()
    {
        await using var clickHouse = await ClickHouseServerProcess.StartAsync(Ct);
        using var dir = new TempDir();
        var store = $"clickhouse://127.0.0.1:{clickHouse.HttpPort}/doctor_fresh";

        var result = await DoctorAsync(dir, null, "--store", store);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ok   clickhouse: ", Line(result, "clickhouse"), StringComparison.Ordinal);
        Assert.Equal(
            $"FAIL clickhouse schema: database doctor_fresh does not exist (this build expects schema version {ClickHouseSchema.LatestVersion}) — fix: breadboard store migrate --store '{store}'",
            Line(result, "clickhouse schema"));
        using var client = new ClickHouseHttpClient(new Uri(clickHouse.Url), "system", null, null);
        var databases = await client.QueryAsync("SELECT count() AS n FROM system.databases WHERE name = 'doctor_fresh'", row => row.GetProperty("n").GetInt64(), Ct);
        Assert.Equal(0, databases[0]);

        // The fix it names works, after which the same check passes.
        await CliProcess.RunSucceedsAsync(dir, "store", "migrate", "--store", store);
        var again = await DoctorAsync(dir, null, "--store", store);
        Assert.True(again.ExitCode == 0, again.Stdout);
    }

    [Fact]
    public async Task Doctor_KafkaTopicMissingAndOneWithTooFewPartitions_FailsOnEach_AndCreatesNoTopic()
    {
        await using var kafka = await KafkaMockProcess.StartAsync(cancellationToken: Ct);
        foreach (var topic in KafkaBusOptions.AllTopics.Where(t => t != KafkaBusOptions.BarsTopic))
        {
            await kafka.CreateTopicAsync(topic, topic == KafkaBusOptions.StockTopic ? 3 : topic.EndsWith("-dlq", StringComparison.Ordinal) ? 2 : 6, Ct);
        }

        using var dir = new TempDir();

        var result = await DoctorAsync(dir, null, "--bus", $"kafka://{kafka.BootstrapServers}");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ok   kafka: 3 brokers", Line(result, "kafka"), StringComparison.Ordinal);
        Assert.Equal(
            "FAIL kafka topic stock-prices: 3 partitions; the bus expects 6 (?partitions=6) — fix: recreate it with 6 partitions, or set ?partitions=3 in --bus if 3 is meant",
            Line(result, "kafka topic stock-prices"));
        Assert.Equal(
            "FAIL kafka topic bars: missing — fix: kafka-topics.sh --create --topic bars --partitions 6 --replication-factor 3 (`breadboard ingest` and `process` also create missing topics, unless ?strict=true)",
            Line(result, "kafka topic bars"));
        Assert.Equal("ok   kafka topic outputs-dlq: 2 partitions, 1 replica (a dead-letter topic works with any count)", Line(result, "kafka topic outputs-dlq"));
        Assert.Equal(2, Lines(result).Count(l => l.StartsWith("FAIL ", StringComparison.Ordinal)));

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var topics = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToList();
        Assert.DoesNotContain(KafkaBusOptions.BarsTopic, topics);
    }

    [Fact]
    public async Task Doctor_NatsWithoutStreams_FailsOnEachStream_AndCreatesNone()
    {
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        using var dir = new TempDir();

        var result = await DoctorAsync(dir, null, "--alerts", nats.Url);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("ok   nats: ", Line(result, "nats"), StringComparison.Ordinal);
        Assert.Equal(
            "FAIL nats stream ALERTS: missing — fix: start `breadboard up`, `process` or `notify` on this alert bus: each creates or updates both streams as --alerts configures them",
            Line(result, "nats stream ALERTS"));
        Assert.StartsWith("FAIL nats stream ALERTS_DEAD: missing — fix: ", Line(result, "nats stream ALERTS_DEAD"), StringComparison.Ordinal);
        await using var connection = AlertStreams.Connect(new NatsAlertOptions { Servers = nats.Url }, "test");
        var e = await Assert.ThrowsAsync<NatsJSApiException>(async () => await connection.CreateJetStreamContext().GetStreamAsync(NatsAlertOptions.StreamName, cancellationToken: Ct));
        Assert.Equal(404, e.Error.Code);
    }

    [Fact]
    public async Task Doctor_NatsStreamWithOtherLimits_FailsNamingEachDifference()
    {
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        var natsOptions = new NatsAlertOptions { Servers = nats.Url };
        await using (var connection = AlertStreams.Connect(natsOptions, "test"))
        {
            await AlertStreams.EnsureAsync(connection, natsOptions, Ct);
        }

        using var dir = new TempDir();

        var result = await DoctorAsync(dir, null, "--alerts", $"{nats.Url}?max_age=1d&max_msgs=5000");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith(
            "FAIL nats stream ALERTS: differs from the configuration: max_age 7d (expected 1d); max_msgs 1000000 (expected 5000) — fix: ",
            Line(result, "nats stream ALERTS"),
            StringComparison.Ordinal);
        Assert.StartsWith("FAIL nats stream ALERTS_DEAD: differs from the configuration: max_age 7d (expected 1d) — fix: ", Line(result, "nats stream ALERTS_DEAD"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_NatsServerKilled_FailsAtOnce_WithoutHanging()
    {
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        await nats.KillAsync();
        using var dir = new TempDir();

        var started = Stopwatch.GetTimestamp();
        var result = await DoctorAsync(dir, null, "--alerts", nats.Url, "--timeout", "2s");

        Assert.Equal(1, result.ExitCode);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(15), $"took {Stopwatch.GetElapsedTime(started)}");
        Assert.StartsWith($"FAIL nats: cannot connect to {nats.Url}: ", Line(result, "nats"), StringComparison.Ordinal);
        Assert.Contains(" — fix: start nats-server -js there, or correct --alerts (env BREADBOARD_ALERTS)", Line(result, "nats"), StringComparison.Ordinal);
        Assert.Single(Lines(result), l => l.StartsWith("FAIL ", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_WebhookPortClosed_FailsWithTheFix()
    {
        using var dir = new TempDir();
        var port = ServerProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["BREADBOARD_WEBHOOK_URL"] = $"http://127.0.0.1:{port}/hooks/alerts",
            ["BREADBOARD_WEBHOOK_SECRET"] = "whsec-closed",
        };

        var result = await DoctorAsync(dir, environment, "--timeout", "2s");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"FAIL webhook: cannot connect to 127.0.0.1:{port}: Connection refused — fix: start the receiver there, or correct BREADBOARD_WEBHOOK_URL",
            Line(result, "webhook"));
    }

    [Fact]
    public async Task Doctor_WebhookWithoutItsSecret_FailsNamingTheVariable()
    {
        await using var receiver = await HttpReceiver.StartAsync(cancellationToken: Ct);
        using var dir = new TempDir();

        var result = await DoctorAsync(dir, new Dictionary<string, string> { ["BREADBOARD_WEBHOOK_URL"] = receiver.Url.AbsoluteUri });

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            "FAIL webhook: BREADBOARD_WEBHOOK_SECRET is not set — fix: set BREADBOARD_WEBHOOK_SECRET (`breadboard settings` says what each variable takes)",
            Line(result, "webhook"));
    }

    [Fact]
    public async Task Doctor_SecretsInEverySetting_NeverAppearInItsOutput()
    {
        await using var receiver = await HttpReceiver.StartAsync(cancellationToken: Ct);
        using var dir = new TempDir();
        var closed = ServerProcess.FreePort();
        string[] secrets = ["store-pw-1", "ch-env-pw-2", "tok-in-url-3", "whsec-4", "slack-path-5", "smtp-pw-6", "nats-pw-7"];
        var environment = new Dictionary<string, string>
        {
            ["BREADBOARD_STORE"] = $"clickhouse://admin:{secrets[0]}@127.0.0.1:{closed}/db",
            ["BREADBOARD_CLICKHOUSE_PASSWORD"] = secrets[1],
            ["BREADBOARD_WEBHOOK_URL"] = $"http://127.0.0.1:{closed}/hook?token={secrets[2]}",
            ["BREADBOARD_WEBHOOK_SECRET"] = secrets[3],
            ["BREADBOARD_SLACK_WEBHOOK_URL"] = new Uri(receiver.Url, $"services/T0/B0/{secrets[4]}").AbsoluteUri,
            ["BREADBOARD_SMTP_HOST"] = "127.0.0.1",
            ["BREADBOARD_SMTP_PORT"] = closed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["BREADBOARD_SMTP_SECURITY"] = "none",
            ["BREADBOARD_SMTP_USER"] = "alerts",
            ["BREADBOARD_SMTP_PASSWORD"] = secrets[5],
            ["BREADBOARD_SMTP_FROM"] = "alerts@breadboard.test",
            ["BREADBOARD_SMTP_TO"] = "ops@breadboard.test",
            ["BREADBOARD_ALERTS"] = $"nats://127.0.0.1:{closed}",
            ["BREADBOARD_NATS_USER"] = "bb",
            ["BREADBOARD_NATS_PASSWORD"] = secrets[6],
        };

        var result = await DoctorAsync(dir, environment, "--timeout", "2s");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"FAIL store: --store (env BREADBOARD_STORE) = 'clickhouse://admin:***@127.0.0.1:{closed}/db': credentials do not belong in the URL; set user=NAME and BREADBOARD_CLICKHOUSE_PASSWORD — fix: correct --store or BREADBOARD_STORE",
            Line(result, "store"));
        Assert.StartsWith("FAIL webhook: ", Line(result, "webhook"), StringComparison.Ordinal);
        Assert.StartsWith("FAIL email: smtp 127.0.0.1:", Line(result, "email"), StringComparison.Ordinal);
        Assert.StartsWith("FAIL nats: ", Line(result, "nats"), StringComparison.Ordinal);
        Assert.Equal($"ok   slack: {receiver.Url.AbsoluteUri}…: TCP connect ok", Line(result, "slack"));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.ClickHouse;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.Flink.Gateway;
using Breadboard.Kafka;
using Breadboard.Nats;
using Breadboard.Notify;
using Breadboard.Notify.Channels;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Net;

namespace Breadboard.Cli.Commands;

/// <summary>The checks of <c>doctor</c>, one method per backend, each through the adapter's own read-only code.</summary>
/// <remarks>
/// What each looks at, changing nothing:
/// <list type="bullet">
/// <item>DuckDB: the directory is writable (a probe file, deleted on close), the file's schema version read with the
/// file opened read-only (<see cref="DuckDbFile.InspectAsync"/>); a file another process holds for writing is normal
/// while <c>up</c> runs, and is reported as such.</item>
/// <item>ClickHouse: <c>/ping</c>, <c>SELECT version()</c>, the database and its recorded migrations
/// (<see cref="ClickHouseSchema.ReadStateAsync"/>) against this build's.</item>
/// <item>Kafka: the cluster's metadata (<see cref="KafkaTopics.DescribeAsync"/>): brokers, and every topic of the bus
/// with the partition count <c>?partitions=</c> says (what the product creates); dead-letter topics may have any.</item>
/// <item>NATS: connect, JetStream account, both alert streams against <see cref="AlertStreams.Configs"/>, and the
/// durable consumers on ALERTS (one per channel, created by the channel's first notifier).</item>
/// <item>Flink: the SQL Gateway's <c>/v2/info</c>.</item>
/// <item>Channels: DNS, TCP and TLS to the webhook and Slack URLs, no request sent; SMTP connect, EHLO and QUIT
/// (<see cref="ChannelCheck"/>); the webhook's signing secret is set.</item>
/// </list>
/// </remarks>
internal sealed class DoctorChecks(ParseResult parse, TimeSpan timeout)
{
    private string Seconds => $"{timeout.TotalSeconds:0.#} s";

    public async Task<IReadOnlyList<DoctorLine>> StoreAsync(CancellationToken cancellationToken)
    {
        var url = Seams.Store.Resolve(parse);
        return Seam.SchemeOf(url) == "clickhouse" ? await ClickHouseAsync(url, cancellationToken) : await DuckDbAsync(url, cancellationToken);
    }

    public async Task<IReadOnlyList<DoctorLine>> BusAsync(CancellationToken cancellationToken)
    {
        var url = Seams.Bus.Resolve(parse);
        return Seam.SchemeOf(url) == "kafka"
            ? await KafkaAsync(Backends.KafkaBus(parse), cancellationToken)
            : [DoctorLine.Pass("bus", $"{url} (in-process channels; nothing to check)")];
    }

    public async Task<IReadOnlyList<DoctorLine>> AlertsAsync(CancellationToken cancellationToken)
    {
        var url = Seams.Alerts.Resolve(parse);
        return Seam.SchemeOf(url) == "nats"
            ? await NatsAsync(Backends.NatsAlerts(parse), cancellationToken)
            : [DoctorLine.Pass("alerts", $"{url} (in-process; nothing to check)")];
    }

    public async Task<IReadOnlyList<DoctorLine>> EngineAsync(CancellationToken cancellationToken)
    {
        var url = Seams.Engine.Resolve(parse);
        if (url == "local")
        {
            return [DoctorLine.Pass("engine", "local (runs inside `up` and `process`; nothing to check)")];
        }

        var gateway = FlinkEngineUrl.Parse(url);
        using var client = new SqlGatewayClient(gateway, SqlGatewayOpts.Default with { RequestTimeout = timeout, GetAttempts = 1 });
        try
        {
            var info = await client.GetInfoAsync(cancellationToken);
            return [DoctorLine.Pass("flink", $"SQL Gateway at {SecretText.Redact(gateway.AbsoluteUri)} answers: {OutsideText.ForDisplay(info.ProductName, 80)} {OutsideText.ForDisplay(info.Version, 40)}")];
        }
        catch (FlinkGatewayException e)
        {
            return [DoctorLine.Fail("flink", e.Message, $"start the SQL Gateway there (sql-gateway.sh start), or correct {Seams.Engine.Flag} (env {Seams.Engine.EnvironmentVariable})")];
        }
    }

    public Task<IReadOnlyList<DoctorLine>> SchedulerAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<DoctorLine> lines = Seams.Scheduler.Resolve(parse) == "airflow"
            ? [DoctorLine.Pass("scheduler", "airflow (its DAG runs the batch steps; nothing to check from here)")]
            : [DoctorLine.Pass("scheduler", $"local (batch jobs run inside `up` when {BatchSchedule.SymbolsVariable} is set; nothing to check)")];
        return Task.FromResult(lines);
    }

    public async Task<IReadOnlyList<DoctorLine>> ChannelsAsync(CancellationToken cancellationToken)
    {
        var configured = Notifications.ConfiguredChannels();
        if (configured.Count == 0)
        {
            return [DoctorLine.Pass("channels", $"none configured ({ChannelSettings.WebhookUrlVariable}, {ChannelSettings.SlackWebhookUrlVariable} and {ChannelSettings.SmtpHostVariable} are unset)")];
        }

        return [.. (await Task.WhenAll(configured.Select(name => ChannelAsync(name, cancellationToken)))).SelectMany(lines => lines)];
    }

    private static async Task<IReadOnlyList<DoctorLine>> DuckDbAsync(string url, CancellationToken cancellationToken)
    {
        const string Check = "duckdb";
        if (!DuckDbStore.TryParseUrl(url, out var path, out var error))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        }

        if (path == DuckDbStore.InMemoryPath)
        {
            return [DoctorLine.Pass(Check, ":memory: (private to each process; nothing to check)")];
        }

        var file = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(file)!;
        var existing = directory;
        while (!Directory.Exists(existing))
        {
            existing = Path.GetDirectoryName(existing)!;
        }

        var relocate = $"or set {Seams.Store.Flag} duckdb:///a/writable/directory/breadboard.duckdb";
        if (!IsWritable(existing))
        {
            return [DoctorLine.Fail(Check, $"{existing} is not writable, so {file} cannot be {(File.Exists(file) ? "written" : "created")}", $"make {existing} writable for this user, {relocate}")];
        }

        var place = existing == directory ? "directory writable" : $"directory {directory} created with it ({existing} writable)";
        if (!File.Exists(file))
        {
            return [DoctorLine.Pass(Check, $"{file}: no file yet, created by the first `breadboard up` (or any command that stores); {place}")];
        }

        try
        {
            using (File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite))
            {
                // Only whether it may be opened for writing; DuckDB's own lock is what tells a running writer.
            }
        }
        catch (UnauthorizedAccessException)
        {
            return [DoctorLine.Fail(Check, $"{file} is read-only for this user", $"make it writable (chmod u+w), {relocate}")];
        }

        DuckDbFileState state;
        try
        {
            state = await DuckDbFile.InspectAsync(file, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            return [DoctorLine.Fail(Check, $"{file} cannot be read as a DuckDB database: {Outside(e.Message)}", $"point {Seams.Store.Flag} at Breadboard's database file, or move this file away")];
        }

        var latest = DuckDbFile.LatestSchemaVersion;
        return [state switch
        {
            { HeldBy: { } holder } => DoctorLine.Pass(Check, $"{file}: held for writing by {holder}, as it is while `breadboard up` runs; schema not read; {place}"),
            { SchemaVersion: 0 } => DoctorLine.Pass(Check, $"{file}: no Breadboard tables yet, created by the next command that opens it for writing; {place}"),
            { SchemaVersion: var v } when v == latest => DoctorLine.Pass(Check, $"{file}: schema version {v} (current); {place}"),
            { SchemaVersion: var v } when v < latest => DoctorLine.Pass(Check, $"{file}: schema version {v}, migrated to {latest} by the next command that opens it for writing; {place}"),
            { SchemaVersion: var v } => DoctorLine.Fail(Check, $"{file}: schema version {v} is newer than this build's {latest}", $"use the breadboard build that wrote it, {relocate}"),
        }];
    }

    private async Task<IReadOnlyList<DoctorLine>> ClickHouseAsync(string url, CancellationToken cancellationToken)
    {
        if (!ClickHouseUrl.TryParse(url, out var parsed, out var error))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        }

        // Each replica on its own: the pipeline runs while one is down, but a replica down is still a failure to fix.
        var lines = new List<DoctorLine>();
        foreach (var replica in parsed!.Replicas)
        {
            lines.AddRange(await ClickHouseServerAsync(url, parsed, replica, parsed.Replicas.Count > 1, cancellationToken));
        }

        return lines;
    }

    private async Task<IReadOnlyList<DoctorLine>> ClickHouseServerAsync(string url, ClickHouseUrl parsed, Uri replica, bool named, CancellationToken cancellationToken)
    {
        var check = named ? $"clickhouse {replica.Authority}" : "clickhouse";
        var schema = named ? $"clickhouse schema {replica.Authority}" : "clickhouse schema";
        var server = SecretText.Redact(replica.AbsoluteUri);
        var correct = $"or correct {Seams.Store.Flag} (env {Seams.Store.EnvironmentVariable})";
        using var http = new HttpClient { Timeout = timeout };
        using var client = new ClickHouseHttpClient(replica, parsed.Database, parsed.User, Environment.GetEnvironmentVariable(ClickHouseUrl.PasswordVariable), http, ClickHouseClientOpts.Default with { MaxRetries = 0 });
        var started = Stopwatch.GetTimestamp();
        if (!await client.PingAsync(cancellationToken))
        {
            var what = Stopwatch.GetElapsedTime(started) >= timeout * 0.9 ? $"no answer to {server}ping within {Seconds}" : $"{server}ping: {await WhyUnreachableAsync(client, cancellationToken)}";
            return [DoctorLine.Fail(check, what, $"start ClickHouse there, {correct}")];
        }

        var lines = new List<DoctorLine>();
        try
        {
            Version version;
            try
            {
                // Asked through 'system': the store's database may not exist yet, which the schema check reports.
                using var system = client.WithDatabase("system");
                version = await system.GetServerVersionAsync(cancellationToken);
            }
            catch (ClickHouseException e)
            {
                return [DoctorLine.Fail(check, $"{server} answers /ping but refuses queries: {e.Message}", $"check user= in {Seams.Store.Flag} and {ClickHouseUrl.PasswordVariable}")];
            }

            lines.Add(DoctorLine.Pass(check, $"ClickHouse {version} at {server} answers"));
            var state = await ClickHouseSchema.ReadStateAsync(client, cancellationToken);
            var latest = ClickHouseSchema.LatestVersion;
            var database = parsed.Database;
            var migrate = $"breadboard store migrate --store '{SecretText.Redact(url)}'";
            lines.Add(state switch
            {
                { DatabaseExists: false } => DoctorLine.Fail(schema, $"database {database} does not exist (this build expects schema version {latest})", migrate),
                { MigrationsTableExists: false } => DoctorLine.Fail(schema, $"database {database} has no schema_migrations table: never migrated (this build expects schema version {latest})", migrate),
                { Missing.Count: > 0 } => DoctorLine.Fail(schema, $"database {database} lacks migration{(state.Missing.Count == 1 ? "" : "s")} {string.Join(", ", state.Missing)} of 1-{latest}", migrate),
                { Unknown.Count: > 0 } => DoctorLine.Pass(schema, $"database {database} at schema version {state.Applied.Max()}, newer than this build's {latest} (a newer breadboard migrated it)"),
                _ => DoctorLine.Pass(schema, $"database {database} at schema version {latest} (current)"),
            });
        }
        catch (Exception e) when (e is ClickHouseException or ClickHouseUnavailableException)
        {
            lines.Add(DoctorLine.Fail(lines.Count == 0 ? check : schema, e.Message, $"see the server's log, {correct}"));
        }

        return lines;
    }

    /// <summary>
    /// Dead letters are few and read by people, in any order: the manifests give them one partition
    /// (deploy/k8s/kafka.yaml). The other topics carry the pipeline, keyed by symbol, and must have the count the bus names.
    /// </summary>
    private static bool IsDeadLetter(string topic) => topic is KafkaBusOptions.DeadLetterTopic or KafkaBusOptions.OutputDeadLetterTopic;

    private static string Partitions(int count) => count == 1 ? "1 partition" : $"{count} partitions";

    /// <summary>Why a ping failed at once (refused, reset, not HTTP): the same request again, for its error.</summary>
    private static async Task<string> WhyUnreachableAsync(ClickHouseHttpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using var system = client.WithDatabase("system");
            await system.GetServerVersionAsync(cancellationToken);
            return "not answered with Ok.";
        }
        catch (ClickHouseUnavailableException e)
        {
            return Outside(e.InnerException?.Message ?? e.Message);
        }
        catch (ClickHouseException e)
        {
            return e.Message;
        }
    }

    private async Task<IReadOnlyList<DoctorLine>> KafkaAsync(KafkaBusOptions options, CancellationToken cancellationToken)
    {
        KafkaBusState state;
        try
        {
            state = await KafkaTopics.DescribeAsync(options, timeout, cancellationToken);
        }
        catch (KafkaSetupException e)
        {
            return [DoctorLine.Fail("kafka", e.Message, $"start the brokers there, or correct {Seams.Bus.Flag} (env {Seams.Bus.EnvironmentVariable})")];
        }

        var lines = new List<DoctorLine>
        {
            DoctorLine.Pass("kafka", $"{state.Brokers} broker{(state.Brokers == 1 ? "" : "s")} in the cluster at {SecretText.Redact(options.BootstrapServers)}"),
        };
        var partitions = options.Partitions;
        var replication = Math.Min(options.Replication, state.Brokers);
        foreach (var topic in state.Topics)
        {
            var check = $"kafka topic {topic.Name}";
            var create = $"kafka-topics.sh --create --topic {topic.Name} --partitions {partitions} --replication-factor {replication}";
            lines.Add(topic switch
            {
                { Error: { } reason } => DoctorLine.Fail(check, $"unusable: {reason}", "see the brokers' logs"),
                { Partitions: null } => DoctorLine.Fail(check, "missing", $"{create} (`breadboard ingest` and `process` also create missing topics, unless ?strict=true)"),
                { Partitions: int p } when p != partitions && !IsDeadLetter(topic.Name) =>
                    DoctorLine.Fail(check, $"{Partitions(p)}; the bus expects {partitions} (?partitions={partitions})", $"recreate it with {partitions} partitions, or set ?partitions={p} in {Seams.Bus.Flag} if {p} is meant"),
                { Partitions: int p } => DoctorLine.Pass(check, $"{Partitions(p)}, {topic.Replicas} replica{(topic.Replicas == 1 ? "" : "s")}{(p != partitions ? " (a dead-letter topic works with any count)" : "")}"),
            });
        }

        return lines;
    }

    private async Task<IReadOnlyList<DoctorLine>> NatsAsync(NatsAlertOptions options, CancellationToken cancellationToken)
    {
        var servers = SecretText.Redact(options.Servers);
        var correct = $"correct {Seams.Alerts.Flag} (env {Seams.Alerts.EnvironmentVariable})";
        await using var connection = AlertStreams.Connect(options, "doctor");
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(timeout, cancellationToken);
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            var why = e is TimeoutException ? $"no connection within {Seconds}" : Outside(e.Message);
            return [DoctorLine.Fail("nats", $"cannot connect to {servers}: {why}", $"start nats-server -js there, or {correct}; credentials come from {AlertStreams.UserVariable}/{AlertStreams.PasswordVariable} or {AlertStreams.TokenVariable}")];
        }

        var js = connection.CreateJetStreamContext();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var lines = new List<DoctorLine>();
        var check = "nats";
        try
        {
            try
            {
                await js.GetAccountInfoAsync(deadline.Token);
            }
            catch (NatsJSApiException e)
            {
                return [DoctorLine.Fail("nats", $"{servers} answers, but not JetStream: {Outside(e.Message)}", "start nats-server with JetStream (-js), or enable it for this account")];
            }

            lines.Add(DoctorLine.Pass("nats", $"nats-server {OutsideText.ForDisplay(connection.ServerInfo?.Version ?? "?", 40)} at {servers}, JetStream on"));
            var alertsStream = false;
            foreach (var expected in AlertStreams.Configs(options))
            {
                check = $"nats stream {expected.Name}";
                var create = $"start `breadboard up`, `process` or `notify` on this alert bus: each creates or updates both streams as {Seams.Alerts.Flag} configures them";
                try
                {
                    var stream = await js.GetStreamAsync(expected.Name!, cancellationToken: deadline.Token);
                    var differences = AlertStreams.Differences(expected, stream.Info.Config);
                    var messages = stream.Info.State.Messages;
                    alertsStream |= expected.Name == NatsAlertOptions.StreamName;
                    lines.Add(differences.Count == 0
                        ? DoctorLine.Pass(check, string.Create(CultureInfo.InvariantCulture, $"{messages} message{(messages == 1 ? "" : "s")}; subjects {string.Join(",", expected.Subjects ?? [])}, max_age {Duration(expected.MaxAge)}, replicas {expected.NumReplicas} as configured"))
                        : DoctorLine.Fail(check, $"differs from the configuration: {string.Join("; ", differences)}", create));
                }
                catch (NatsJSApiException e) when (e.Error.Code == 404)
                {
                    lines.Add(DoctorLine.Fail(check, "missing", create));
                }
            }

            if (alertsStream)
            {
                check = "nats consumers";
                lines.Add(await ConsumersAsync(js, deadline.Token));
            }
        }
        catch (Exception e) when (e is NatsException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var why = e is OperationCanceledException ? $"no answer within {Seconds}" : Outside(e.Message);
            lines.Add(DoctorLine.Fail(check, $"{servers}: {why}", $"see the server's log, or {correct}"));
        }

        return lines;
    }

    /// <summary>The durable consumers on ALERTS: one per channel that has run, and <c>dashboard</c>.</summary>
    private static async Task<DoctorLine> ConsumersAsync(INatsJSContext js, CancellationToken cancellationToken)
    {
        var present = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
        await foreach (var consumer in js.ListConsumersAsync(NatsAlertOptions.StreamName, cancellationToken))
        {
            present[consumer.Info.Name] = consumer.Info.NumPending + (ulong)Math.Max(0, consumer.Info.NumAckPending);
        }

        var parts = new List<string>
        {
            present.Count == 0
                ? "none yet"
                : string.Join(", ", present.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} ({c.Value} pending)"))),
        };
        foreach (var channel in Notifications.ConfiguredChannels().Where(c => !present.ContainsKey(c)))
        {
            parts.Add($"{channel} (configured) created on first `notify --channel {channel}`");
        }

        return DoctorLine.Pass("nats consumers", string.Join("; ", parts));
    }

    private async Task<IReadOnlyList<DoctorLine>> ChannelAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var found = name switch
            {
                "webhook" => await WebhookAsync(cancellationToken),
                "slack" => await SlackAsync(cancellationToken),
                _ => await EmailAsync(cancellationToken),
            };
            return [DoctorLine.Pass(name, found)];
        }
        catch (ChannelSettingsException e)
        {
            // Its message starts with the variable's name, never its value.
            var variable = e.Message.Split(' ')[0];
            return [DoctorLine.Fail(name, e.Message, $"set {variable} (`breadboard settings` says what each variable takes)")];
        }
        catch (NotificationException e)
        {
            var fix = name switch
            {
                "webhook" => $"start the receiver there, or correct {ChannelSettings.WebhookUrlVariable}",
                "slack" => $"check {ChannelSettings.SlackWebhookUrlVariable} and that this host may reach Slack",
                _ => $"check {ChannelSettings.SmtpHostVariable}, {ChannelSettings.SmtpPortVariable} and {ChannelSettings.SmtpSecurityVariable}, and that the server accepts connections from this host",
            };
            return [DoctorLine.Fail(name, WithoutChannel(name, e.Message), fix)];
        }
    }

    private async Task<string> WebhookAsync(CancellationToken cancellationToken)
    {
        var options = ChannelSettings.Webhook(Environment.GetEnvironmentVariable);
        var found = await ChannelCheck.HttpEndpointAsync("webhook", options.Url, timeout, cancellationToken);
        return $"{SecretText.HostOnly(options.Url)}: {found}; signing secret set ({ChannelSettings.WebhookSecretVariable})";
    }

    private async Task<string> SlackAsync(CancellationToken cancellationToken)
    {
        var options = ChannelSettings.Slack(Environment.GetEnvironmentVariable);
        return $"{SecretText.HostOnly(options.WebhookUrl)}: {await ChannelCheck.HttpEndpointAsync("slack", options.WebhookUrl, timeout, cancellationToken)}";
    }

    private async Task<string> EmailAsync(CancellationToken cancellationToken)
    {
        var options = ChannelSettings.Email(Environment.GetEnvironmentVariable);
        return $"smtp {options.Host}:{options.Port}: {await ChannelCheck.SmtpAsync(options, timeout, cancellationToken)}";
    }

    /// <summary>Whether a file can be created in <paramref name="directory"/>: a probe file, deleted as it is closed.</summary>
    private static bool IsWritable(string directory)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(directory, $".breadboard-doctor-{Environment.ProcessId}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    /// <summary>A channel's message without its leading <c>webhook: </c>, which the line's check already says.</summary>
    private static string WithoutChannel(string name, string message) =>
        message.StartsWith(name + ": ", StringComparison.Ordinal) ? message[(name.Length + 2)..] : message;

    /// <summary>A library's or server's message as one safe line.</summary>
    private static string Outside(string message) => OutsideText.ForDisplay(CommandRunner.OneLine(message), 300);

    private static string Duration(TimeSpan duration) => Core.Pipeline.DurationText.Format((long)duration.TotalMilliseconds);
}

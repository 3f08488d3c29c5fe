using Breadboard.Batch.Providers;
using Breadboard.Batch.Scheduling;
using Breadboard.Cli.Commands;
using Breadboard.ClickHouse;
using Breadboard.Feeds.Live.Alpaca;
using Breadboard.Nats;
using Breadboard.Notify.Channels;
using Breadboard.Web;

namespace Breadboard.Cli.Settings;

/// <summary>Every <c>BREADBOARD_*</c> environment variable the product reads, so that deployments can be checked against it.</summary>
/// <remarks>Names come from the constants the reading code uses: a renamed variable cannot leave a stale entry here.</remarks>
internal static class EnvironmentSettings
{
    public static IReadOnlyList<EnvironmentSetting> All { get; } =
    [
        new(Seams.Bus.EnvironmentVariable, $"The tick bus between feed and engine: memory:// or kafka://… (default {Seams.Bus.DefaultValue}).", Secret: false),
        new(Seams.Store.EnvironmentVariable, $"Where ticks, bars and alerts are stored: duckdb://… or clickhouse://… (default {Seams.Store.DefaultValue}).", Secret: false),
        new(Seams.Alerts.EnvironmentVariable, $"Where alerts are published: memory:// or nats://… (default {Seams.Alerts.DefaultValue}).", Secret: false),
        new(Seams.Engine.EnvironmentVariable, $"Which engine runs the pipeline: local, or a Flink SQL Gateway at flink+http(s)://… (default {Seams.Engine.DefaultValue}).", Secret: false),
        new(Seams.Scheduler.EnvironmentVariable, $"Which scheduler runs batch jobs: local or airflow (default {Seams.Scheduler.DefaultValue}).", Secret: false),
        new(CommandRunner.PipelineVariable, "Pipeline definition file, YAML or JSON (default: the built-in pipeline).", Secret: false),
        new(UpCommand.UrlsVariable, $"Where up and api listen, ';'-separated (default {WebOptions.DefaultUrls}).", Secret: false),
        new(WebOptions.ApiKeyVariable, "The X-Api-Key that mutating endpoints require; unset, they are disabled.", Secret: true),
        new(WebOptions.AllowedHostsVariable, "Host names up and api answer to besides those of the URLs, ',' between them (listening on 0.0.0.0: the names clients use, such as a Service's).", Secret: false),
        new(WebOptions.AllowedOriginsVariable, "Origins of other sites whose pages may use the live stream and mutating endpoints, ',' between them (default: none).", Secret: false),
        new(WebOptions.MaxStreamClientsVariable, $"Live-stream connections up and api serve at once (default {WebOptions.DefaultMaxStreamClients}).", Secret: false),
        new(WorkerHealth.UrlsVariable, "Where ingest, process, sink and notify serve /health/live and /health/ready (default: not served).", Secret: false),
        new(BatchSchedule.SymbolsVariable, "Symbols up's scheduled historical job fetches (default: none, no job).", Secret: false),
        new(BatchSchedule.ProviderVariable, "The scheduled job's historical provider (default synthetic).", Secret: false),
        new(BatchSchedule.CronVariable, $"The scheduled job's five-field cron in UTC (default '{new ScheduleOptions().Cron}').", Secret: false),
        new(BatchSchedule.RetriesVariable, "Retries after a failed scheduled run (default 3).", Secret: false),
        new(BatchSchedule.RetryDelayVariable, "Wait before each retry of a scheduled run (default 5m).", Secret: false),
        new(ClickHouseUrl.PasswordVariable, "Password of the ClickHouse store's user (never in the store URL).", Secret: true),
        new(AlertStreams.UserVariable, "User on the NATS alert bus, with its password (never in the alerts URL).", Secret: false),
        new(AlertStreams.PasswordVariable, "Password of the NATS user.", Secret: true),
        new(AlertStreams.TokenVariable, "Token for the NATS alert bus, instead of user and password.", Secret: true),
        new(ChannelSettings.SmtpHostVariable, "SMTP server of the email channel; set, up runs the email notifier.", Secret: false),
        new(ChannelSettings.SmtpPortVariable, "SMTP port (default 587; 465 with tls).", Secret: false),
        new(ChannelSettings.SmtpSecurityVariable, "SMTP transport security: starttls, tls or none (default starttls).", Secret: false),
        new(ChannelSettings.SmtpUserVariable, "SMTP user, with its password (default: no authentication).", Secret: false),
        new(ChannelSettings.SmtpPasswordVariable, "Password of the SMTP user.", Secret: true),
        new(ChannelSettings.SmtpFromVariable, "Sender address of alert e-mails.", Secret: false),
        new(ChannelSettings.SmtpToVariable, "Recipients of alert e-mails, comma-separated.", Secret: false),
        new(ChannelSettings.SlackWebhookUrlVariable, "Slack incoming webhook of the slack channel (the URL holds its token); set, up runs the slack notifier.", Secret: true),
        new(ChannelSettings.WebhookUrlVariable, "Where the webhook channel POSTs alerts; set, up runs the webhook notifier.", Secret: false),
        new(ChannelSettings.WebhookSecretVariable, "HMAC key the webhook channel signs its requests with.", Secret: true),
        new(HistoricalProviderOptions.PolygonApiKeyVariable, "Polygon API key of the polygon historical provider (batch, and backfill of --feed alpaca).", Secret: true),
        new(AlpacaProtocol.KeyIdVariable, "Alpaca API key id of --feed alpaca.", Secret: true),
        new(AlpacaProtocol.SecretKeyVariable, "Alpaca API secret key of --feed alpaca.", Secret: true),
    ];
}

/// <summary>One environment variable: its name, what it sets, and whether its value must never be shown.</summary>
internal sealed record EnvironmentSetting(string Name, string Description, bool Secret);

using System.CommandLine;
using Breadboard.ClickHouse;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.Flink.Gateway;
using Breadboard.Kafka;
using Breadboard.Nats;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The five seams, each one URL-like setting from a flag or the environment: which bus, store, alert bus,
/// engine and scheduler the process wires in. Embedded defaults need no server.
/// </summary>
/// <remarks>
/// Each value is checked by the same parser that later opens it (so <c>validate-config</c> refuses what the commands
/// refuse, credentials in a URL included), and shown only through <see cref="SecretText.Redact"/>.
/// </remarks>
internal sealed class Seams
{
    public static readonly Seam Bus = new("--bus", "BREADBOARD_BUS", "memory://", "The tick bus between feed and engine.", ["memory://", "kafka://"], CheckBus);
    public static readonly Seam Store = new("--store", "BREADBOARD_STORE", "duckdb://./data/breadboard.duckdb", "Where ticks, bars and alerts are stored.", ["duckdb://", "clickhouse://"], CheckStore);
    public static readonly Seam Alerts = new("--alerts", "BREADBOARD_ALERTS", "memory://", "Where alerts are published.", ["memory://", "nats://"], CheckAlerts);
    public static readonly Seam Engine = new("--engine", "BREADBOARD_ENGINE", "local", "Which engine runs the pipeline: local (in this process, or 'process' on Kafka) or a Flink cluster's SQL Gateway (the job is deployed with 'flink deploy'; 'sink' stores its output).", ["local", "flink+http://", "flink+https://"], CheckEngine);
    public static readonly Seam Scheduler = new("--scheduler", "BREADBOARD_SCHEDULER", "local", "Which scheduler runs batch jobs: local (in this process, when --batch-symbols names a job) or airflow (nothing here; the DAG runs the steps).", ["local", "airflow"]);

    public static IEnumerable<Seam> All => [Bus, Store, Alerts, Engine, Scheduler];

    private static string? CheckBus(string value) =>
        Seam.SchemeOf(value) == "kafka" && !KafkaBusOptions.TryParse(value, out _, out var error) ? error : null;

    private static string? CheckStore(string value) => Seam.SchemeOf(value) switch
    {
        "clickhouse" => ClickHouseUrl.TryParse(value, out _, out var error) ? null : error,
        _ => DuckDbStore.TryParseUrl(value, out _, out var error) ? null : error,
    };

    private static string? CheckAlerts(string value) =>
        Seam.SchemeOf(value) == "nats" && !NatsAlertOptions.TryParse(value, out _, out var error) ? error : null;

    /// <summary>The check <c>flink</c> and <c>up</c> make of a gateway address (no user, query or fragment), made of every engine setting.</summary>
    private static string? CheckEngine(string value)
    {
        if (value == "local")
        {
            return null;
        }

        try
        {
            FlinkEngineUrl.Parse(value);
            return null;
        }
        catch (ArgumentException e)
        {
            return Commands.CommandRunner.OneLine(e);
        }
    }
}

/// <summary>One seam's flag, environment variable, default and accepted schemes.</summary>
internal sealed class Seam
{
    private readonly Func<string, string?>? _check;

    /// <param name="check">The value's full check once its scheme is known: null when it is usable, else a one-line reason.</param>
    public Seam(string flag, string environmentVariable, string defaultValue, string description, string[] schemes, Func<string, string?>? check = null)
    {
        _check = check;
        Flag = flag;
        EnvironmentVariable = environmentVariable;
        DefaultValue = defaultValue;
        Schemes = schemes;
        Option = new Option<string?>(flag)
        {
            Description = $"{description} Default: {defaultValue} (env {environmentVariable}). Accepted: {string.Join(", ", schemes)}",
            Recursive = true,
        };
    }

    public string Flag { get; }

    public string EnvironmentVariable { get; }

    public string DefaultValue { get; }

    public string[] Schemes { get; }

    public Option<string?> Option { get; }

    /// <summary>True when the user set it, by flag or environment.</summary>
    public bool IsExplicit(ParseResult parse) =>
        parse.GetValue(Option) is not null || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>The value in force: the flag, else the environment, else the default; validated against the schemes this build knows.</summary>
    public string Resolve(ParseResult parse)
    {
        var value = parse.GetValue(Option);
        if (string.IsNullOrEmpty(value))
        {
            value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        }

        if (string.IsNullOrEmpty(value))
        {
            value = DefaultValue;
        }

        var scheme = SchemeOf(value);
        if (!Schemes.Any(s => SchemeOf(s).Equals(scheme, StringComparison.OrdinalIgnoreCase)))
        {
            throw new SettingException($"{Describe(value)}: unknown scheme '{SecretText.Redact(scheme)}'; this build supports {string.Join(", ", Schemes)}");
        }

        if (_check?.Invoke(value) is { } error)
        {
            throw new SettingException($"{Describe(value)}: {error}");
        }

        return value;
    }

    /// <summary>The value in force as it may be shown (<see cref="SecretText.Redact"/>), for messages and the web API.</summary>
    public string Shown(ParseResult parse) => SecretText.Redact(Resolve(parse));

    /// <summary>Names the setting and its value, redacted, for error messages.</summary>
    public string Describe(string value) => $"{Flag} (env {EnvironmentVariable}) = '{SecretText.Redact(value)}'";

    public static string SchemeOf(string value)
    {
        var at = value.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? value : value[..at];
    }
}

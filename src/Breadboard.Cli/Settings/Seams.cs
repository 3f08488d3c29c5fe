using System.CommandLine;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The five seams, each one URL-like setting from a flag or the environment: which bus, store, alert bus,
/// engine and scheduler the process wires in. Embedded defaults need no server.
/// </summary>
internal sealed class Seams
{
    public static readonly Seam Bus = new("--bus", "BREADBOARD_BUS", "memory://", "The tick bus between feed and engine.", ["memory://", "kafka://"]);
    public static readonly Seam Store = new("--store", "BREADBOARD_STORE", "duckdb://./data/breadboard.duckdb", "Where ticks, bars and alerts are stored.", ["duckdb://", "clickhouse://"]);
    public static readonly Seam Alerts = new("--alerts", "BREADBOARD_ALERTS", "memory://", "Where alerts are published.", ["memory://", "nats://"]);
    public static readonly Seam Engine = new("--engine", "BREADBOARD_ENGINE", "local", "Which engine runs the pipeline: local (in this process, or 'process' on Kafka) or a Flink cluster's SQL Gateway (the job is deployed with 'flink deploy'; 'sink' stores its output).", ["local", "flink+http://", "flink+https://"]);
    public static readonly Seam Scheduler = new("--scheduler", "BREADBOARD_SCHEDULER", "local", "Which scheduler runs batch jobs: local (in this process, when --batch-symbols names a job) or airflow (nothing here; the DAG runs the steps).", ["local", "airflow"]);

    public static IEnumerable<Seam> All => [Bus, Store, Alerts, Engine, Scheduler];
}

/// <summary>One seam's flag, environment variable, default and accepted schemes.</summary>
internal sealed class Seam
{
    public Seam(string flag, string environmentVariable, string defaultValue, string description, string[] schemes)
    {
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
            throw new SettingException($"{Describe(value)}: unknown scheme '{scheme}'; this build supports {string.Join(", ", Schemes)}");
        }

        return value;
    }

    /// <summary>Names the setting and its value, for error messages.</summary>
    public string Describe(string value) => $"{Flag} (env {EnvironmentVariable}) = '{value}'";

    public static string SchemeOf(string value)
    {
        var at = value.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? value : value[..at];
    }
}

using System.Globalization;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Flink;

/// <summary>Compiles a <see cref="PipelineDefinition"/> to one Flink SQL script for Flink 1.20 with the Kafka SQL connector.</summary>
/// <remarks>
/// The script reads the tick topics written by Breadboard's Kafka ingest and writes the <c>bars</c> and <c>alerts</c>
/// topics with the field names and keys the local engine's Kafka processor uses, so the same sink role consumes both.
/// Where Flink cannot reproduce the local engine's semantics the compiler throws <see cref="FlinkUnsupportedException"/>
/// rather than emit a job that computes something else; the smaller differences it cannot avoid are listed in the
/// script's header.
/// </remarks>
public static class FlinkSqlCompiler
{
    /// <summary>The Flink line the script is written for.</summary>
    public const string TargetFlinkVersion = "1.20";

    public const string StockTable = "stock_prices";
    public const string CryptoTable = "crypto_prices";
    public const string BarsSinkTable = "bars_sink";
    public const string AlertsSinkTable = "alerts_sink";

    // Topic names as in Breadboard.Kafka.KafkaBusOptions; this project references the core only.
    private const string StockTopic = "stock-prices";
    private const string CryptoTopic = "crypto-prices";
    private const string BarsTopic = "bars";
    private const string AlertsTopic = "alerts";

    // Fixed-width event time text; prefixed to the price it sorts by time, so MIN/MAX give open/close.
    private const string SortableTs = "'yyyy-MM-dd HH:mm:ss.SSS'";
    private const int SortableTsLength = 23;

    /// <summary>The whole script: a header comment, then every statement followed by <c>;</c> and a blank line.</summary>
    /// <exception cref="FlinkUnsupportedException">The definition uses a feature the compiler cannot express in Flink SQL.</exception>
    /// <exception cref="ArgumentException">The options are not usable; the message lists every problem.</exception>
    public static string Compile(PipelineDefinition definition, FlinkOptions options)
    {
        var statements = CompileStatements(definition, options);
        var sb = new StringBuilder();
        sb.Append(Header(definition));
        foreach (var statement in statements)
        {
            sb.Append('\n').Append(statement).Append(";\n");
        }

        return sb.ToString();
    }

    /// <summary>The statements of <see cref="Compile"/> without the trailing <c>;</c>, one per SQL Gateway request.</summary>
    public static IReadOnlyList<string> CompileStatements(PipelineDefinition definition, FlinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Flink options: " + string.Join("; ", errors), nameof(options));
        }

        var indicators = Check(definition);
        var statements = new List<string>();
        statements.AddRange(Settings(options));
        statements.Add(SourceTable(StockTable, StockTopic, definition, options));
        statements.Add(SourceTable(CryptoTable, CryptoTopic, definition, options));
        statements.Add(AllTicksView(definition));
        statements.Add(DedupView());
        for (var i = 0; i < definition.Windows.Count; i++)
        {
            statements.Add(BarsView(i, definition.Windows[i]));
        }

        var sources = new string[definition.Windows.Count];
        for (var i = 0; i < definition.Windows.Count; i++)
        {
            var name = definition.Windows[i].Name;
            sources[i] = IndicatorViews(i, [.. indicators.Where(x => x.Window == name)], statements);
        }

        for (var i = 0; i < definition.Rules.Count; i++)
        {
            var rule = definition.Rules[i];
            var window = WindowIndex(definition, rule);
            var source = rule.Kind.IndicatorValues(rule).Count > 0 ? sources[window] : BarsView(window);
            statements.Add(AlertsView(i, rule, source));
        }

        statements.Add(BarsSink(definition, options));
        statements.Add(AlertsSink(options));
        statements.Add(StatementSet(definition));
        return statements;
    }

    /// <summary>
    /// Refuses what cannot be compiled, every problem at once, one line each; returns the indicators the rules read
    /// (through the indicators they are computed over too), in definition order: the only ones compiled.
    /// </summary>
    private static List<IndicatorDefinition> Check(PipelineDefinition definition)
    {
        if (definition.Windows.Count == 0)
        {
            throw new FlinkUnsupportedException("a pipeline without windows has nothing to compile");
        }

        if (definition.OutOfOrdernessMs < 0)
        {
            throw new FlinkUnsupportedException($"negative out_of_orderness ({definition.OutOfOrdernessMs} ms)");
        }

        var problems = new List<string>();
        foreach (var w in definition.Windows)
        {
            if (w.Kind.SqlRefusal(w) is { } refusal)
            {
                problems.Add($"window '{w.Name}': {refusal}");
            }
        }

        var read = new HashSet<IndicatorDefinition>(ReferenceEqualityComparer.Instance);
        foreach (var r in definition.Rules)
        {
            if (!definition.Windows.Any(w => w.Name == r.Window))
            {
                problems.Add($"rule '{r.Name}': no window named '{r.Window}'");
                continue;
            }

            if (r.Kind.SqlRefusal(r) is { } refusal)
            {
                problems.Add($"rule '{r.Name}': {refusal}");
            }

            if (!double.IsFinite(r.Threshold))
            {
                problems.Add($"rule '{r.Name}': a threshold that is not a finite number");
            }

            foreach (var (indicator, reader) in IndicatorsRead(definition, r, problems))
            {
                read.Add(indicator);
                if (indicator.Kind.SqlRefusal(indicator) is { } why)
                {
                    var through = reader is null ? "" : $", which '{reader.Name}' is computed over";
                    problems.Add($"rule '{r.Name}': indicator '{indicator.Name}' ({indicator.Kind.Name}){through}: {why}");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new FlinkUnsupportedException(string.Join('\n', problems.Distinct()));
        }

        return [.. definition.Indicators.Where(read.Contains)];
    }

    /// <summary>The indicators a rule reads, each with the indicator computed over it (null for those the rule names itself).</summary>
    private static List<(IndicatorDefinition Indicator, IndicatorDefinition? Reader)> IndicatorsRead(PipelineDefinition d, RuleDefinition r, List<string> problems)
    {
        var layout = d.IndicatorLayout;
        var result = new List<(IndicatorDefinition, IndicatorDefinition?)>();
        var pending = new Queue<(string Value, IndicatorDefinition? Reader)>(r.Kind.IndicatorValues(r).Select(v => (v, (IndicatorDefinition?)null)));
        while (pending.TryDequeue(out var next))
        {
            if (!layout.TryFind(next.Value, out var slot))
            {
                problems.Add($"rule '{r.Name}': no indicator value named '{next.Value}'");
                continue;
            }

            var indicator = layout.OwnerOf(slot);
            if (result.Any(x => ReferenceEquals(x.Item1, indicator)))
            {
                continue;
            }

            result.Add((indicator, next.Reader));
            if (indicator.Of is { } of && !BarFields.TryParse(of, out _))
            {
                pending.Enqueue((of, indicator));
            }
        }

        return result;
    }

    private static string Header(PipelineDefinition definition)
    {
        var sb = new StringBuilder();
        sb.AppendLine("-- Breadboard pipeline compiled to Flink SQL (Breadboard.Flink.FlinkSqlCompiler). Do not edit: regenerate.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"-- Targets Apache Flink {TargetFlinkVersion} (LTS) with the Kafka SQL connector flink-sql-connector-kafka 3.3.0-1.20.");
        sb.AppendLine("-- Also valid for Flink 1.19. Not for 1.18 or older: the SESSION window table-valued function arrived in 1.19.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"-- Pipeline: {definition.Fingerprint()}");
        sb.AppendLine("--");
        sb.AppendLine("-- Differences from the local engine (docs/ENGINE.md):");
        sb.AppendLine("-- * Late ticks are dropped by Flink's window operators, not written to a late output, and not counted here.");
        sb.AppendLine("-- * The watermark is periodic (pipeline.auto-watermark-interval) and the minimum over all source partitions;");
        sb.AppendLine("--   idle partitions are skipped after table.exec.source.idle-timeout. Which ticks are late can therefore differ.");
        sb.AppendLine("-- * A window closes when the watermark reaches its last millisecond (end - 1); the local engine's at end.");
        sb.AppendLine("-- * A stream has no end: the last windows close only when later ticks move the watermark on.");
        sb.AppendLine("-- * open/close ties (several ticks at the same ms) are broken by the price text, not by arrival order.");
        sb.AppendLine("-- * Duplicates are dropped by (symbol, trade_id) with no horizon: the dedup state keeps every trade id");
        sb.AppendLine("--   (dedup_horizon is not applied, so a trade id repeated after the horizon is still dropped).");
        sb.AppendLine("-- * Sessions: the gap is compiled as gap - 1 ms, and window_end written as Flink's end + 1 ms, because Flink");
        sb.AppendLine("--   merges sessions that touch and the local engine does not.");
        sb.AppendLine("-- * volume_surge takes the mean of the previous bars as (sum of lookback+1 bars - this bar) / lookback.");
        sb.AppendLine("-- * Ticks the local engine refuses (malformed, out of range, beyond year 9999) are skipped here and never move");
        sb.AppendLine("--   the watermark; 'breadboard sink', which reads the tick topics too, dead-letters them.");
        sb.AppendLine("-- * No future guard: a valid tick far ahead of the others moves the watermark (the local engine holds it");
        sb.AppendLine("--   until later ticks confirm the jump, and on live faces refuses ticks ahead of the wall clock).");
        sb.AppendLine("-- * A ts with an impossible day (2026-02-30) is read leniently by UNIX_TIMESTAMP; the local engine refuses it.");
        sb.AppendLine("-- * Doubles are written in Java's notation (1.0E-4 where .NET writes 0.0001); readers parse both.");
        if (definition.Indicators.Count > 0 || definition.Rules.Any(r => r.Kind is ExpressionRule))
        {
            sb.AppendLine("-- * Indicators are computed only where a rule reads them: Flink writes bars and alerts, not indicator values.");
            sb.AppendLine("-- * sma, zscore and bollinger add their window's values oldest first and take the two-pass deviation, as the");
            sb.AppendLine("--   local engine does: the same doubles (error bound 0), so in-order input gives the same alerts. ema, rsi");
            sb.AppendLine("--   and atr are recursive over every earlier bar and refused; so is a period above " + IndicatorKind.MaxSqlPeriod.ToString(CultureInfo.InvariantCulture) + ".");
            sb.AppendLine("-- * An alert value or threshold that is undefined (NaN in the local engine) is written as null.");
        }

        sb.AppendLine("-- Readers of the bars and alerts topics must use isolation.level=read_committed (exactly-once sinks).");
        return sb.ToString();
    }

    private static IEnumerable<string> Settings(FlinkOptions o)
    {
        yield return Set("pipeline.name", o.JobName);
        yield return Set("execution.runtime-mode", "streaming");
        yield return Set("parallelism.default", o.Parallelism.ToString(CultureInfo.InvariantCulture));
        yield return Set("execution.checkpointing.interval", FlinkDuration(o.CheckpointInterval));
        yield return Set("execution.checkpointing.mode", "EXACTLY_ONCE");
        yield return Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        yield return Set("state.backend.type", "rocksdb");
        // FLIP-406 (Flink 1.20) renamed state.backend.incremental to this key, keeping the old one as deprecated
        // (flink-core CheckpointingOptions.INCREMENTAL_CHECKPOINTS). Flink 1.19 does not know it and checkpoints in
        // full: slower checkpoints, the same results.
        yield return Set("execution.checkpointing.incremental", "true");
        // Window starts of TIMESTAMP_LTZ time attributes follow the session time zone: UTC keeps them epoch-aligned,
        // as in the local engine, and makes DATE_FORMAT print UTC.
        yield return Set("table.local-time-zone", "UTC");
        yield return Set("table.exec.source.idle-timeout", FlinkDuration(o.SourceIdleTimeout));
    }

    /// <remarks>
    /// <c>ts</c> is read as text and converted here, because the JSON format's TIMESTAMP_LTZ takes only ISO-8601
    /// ending in Z (flink-json JsonParserToRowDataConverters.convertToTimestampWithLocalZone with
    /// ISO8601_TIMESTAMP_WITH_LOCAL_TIMEZONE_FORMAT) and would make every tick with an offset or in epoch ms NULL;
    /// a JSON number read as STRING is its text (convertToString). The watermark takes only valid ticks: the
    /// generated watermark generator ignores a NULL watermark (flink-table-runtime
    /// GeneratedWatermarkGeneratorSupplier.DefaultWatermarkGenerator.onEvent), so a tick the views filter out never
    /// moves event time, as in the local engine.
    /// </remarks>
    private static string SourceTable(string table, string topic, PipelineDefinition d, FlinkOptions o) =>
        $"""
        CREATE TABLE {table} (
          `v` INT,
          `symbol` STRING,
          `ts` STRING,
          `price` DOUBLE,
          `volume` DOUBLE,
          `trade_id` STRING,
          `exchange` STRING,
          `asset_class` STRING,
          `proc_time` AS PROCTIME(),
          `event_ts` AS TO_TIMESTAMP_LTZ({EpochMsOfTs}, 3),
          WATERMARK FOR `event_ts` AS CASE WHEN {Valid(d)} THEN `event_ts` - {Interval(d.OutOfOrdernessMs)} END
        ) WITH (
          'connector' = 'kafka',
          'topic' = {Lit(topic)},
          'properties.bootstrap.servers' = {Lit(o.BootstrapServers)},
          'properties.group.id' = {Lit(o.ConsumerGroup)},
          'scan.startup.mode' = {Lit(o.StartupMode)},
          'format' = 'json',
          'json.timestamp-format.standard' = 'ISO-8601',
          'json.fail-on-missing-field' = 'false',
          'json.ignore-parse-errors' = 'true'
        )
        """;

    // Schema version 1 only, as the local consumer; ticks it refuses are dropped here (the sink dead-letters them).
    private static string AllTicksView(PipelineDefinition d) =>
        $"""
        CREATE TEMPORARY VIEW ticks_all AS
        SELECT `symbol`, `event_ts` AS `ts`, `price`, `volume`, `trade_id`, `proc_time`,
          CONCAT(DATE_FORMAT(`event_ts`, {SortableTs}), CAST(`price` AS STRING)) AS `ts_price`
        FROM {StockTable}
        WHERE {Valid(d)}
        UNION ALL
        SELECT `symbol`, `event_ts` AS `ts`, `price`, `volume`, `trade_id`, `proc_time`,
          CONCAT(DATE_FORMAT(`event_ts`, {SortableTs}), CAST(`price` AS STRING)) AS `ts_price`
        FROM {CryptoTable}
        WHERE {Valid(d)}
        """;

    /// <summary>The epoch-milliseconds form of <c>ts</c> (the range is checked after), as a Java regular expression.</summary>
    internal const string EpochMsPattern = "^[0-9]{1,15}$";

    /// <summary>The ISO-8601 form of <c>ts</c> the local engine reads, as a Java regular expression.</summary>
    internal const string IsoPattern =
        "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

    /// <summary>
    /// <c>ts</c> as epoch milliseconds, read as the local engine reads it (EventTime.TryParseIso, TickJson.TryParseTs):
    /// digits are epoch ms; otherwise <c>YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|±HH:MM)</c>, the fraction truncated to
    /// milliseconds; NULL for anything else. UNIX_TIMESTAMP reads the date in the session time zone, UTC.
    /// </summary>
    internal const string EpochMsOfTs =
        "CASE "
        + "WHEN REGEXP(`ts`, '" + EpochMsPattern + "') THEN CAST(`ts` AS BIGINT) "
        + "WHEN REGEXP(`ts`, '" + IsoPattern + "') THEN "
        + "UNIX_TIMESTAMP(CONCAT(SUBSTRING(`ts` FROM 1 FOR 10), ' ', SUBSTRING(`ts` FROM 12 FOR 8)), 'yyyy-MM-dd HH:mm:ss') * 1000 "
        + "+ CAST(RPAD(COALESCE(REGEXP_EXTRACT(`ts`, '^.{19}\\.([0-9]{1,3})', 1), ''), 3, '0') AS BIGINT) "
        + "- CASE WHEN REGEXP(`ts`, '[+-][0-9]{2}:[0-9]{2}$') THEN "
        + "(CASE WHEN SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 5 FOR 1) = '-' THEN -1 ELSE 1 END) "
        + "* (CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 4 FOR 2) AS BIGINT) * 60 + CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 1 FOR 2) AS BIGINT)) * 60000 "
        + "ELSE 0 END "
        + "END";

    /// <summary>
    /// A tick the local engine takes, as a predicate over a source table's columns: schema version 1, a symbol of 1 to
    /// 64 characters without spaces or control characters, a time from 1970 to the pipeline's latest tick time,
    /// and the price, volume and notional bounds of <see cref="TickLimits"/>.
    /// </summary>
    internal static string Valid(PipelineDefinition d) =>
        "`v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\\s\\p{Cntrl}]') "
        + $"AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ({d.LatestTickMs.ToString(CultureInfo.InvariantCulture)}, 3) "
        + $"AND `price` BETWEEN {Number(TickLimits.MinPrice)} AND {Number(TickLimits.MaxPrice)} "
        + $"AND (`volume` = 0 OR `volume` BETWEEN {Number(TickLimits.MinVolume)} AND {Number(TickLimits.MaxVolume)}) "
        + $"AND `price` * `volume` <= {Number(TickLimits.MaxNotional)}";

    // First arrival wins, as in the local engine; ticks without a trade id are never duplicates.
    private static string DedupView() =>
        """
        CREATE TEMPORARY VIEW ticks AS
        SELECT `symbol`, `ts`, `price`, `volume`, `ts_price`
        FROM (
          SELECT *, ROW_NUMBER() OVER (PARTITION BY `symbol`, `trade_id` ORDER BY `proc_time` ASC) AS `rn`
          FROM ticks_all
          WHERE `trade_id` IS NOT NULL
        )
        WHERE `rn` = 1
        UNION ALL
        SELECT `symbol`, `ts`, `price`, `volume`, `ts_price`
        FROM ticks_all
        WHERE `trade_id` IS NULL
        """;

    private static string BarsView(int index, WindowDefinition w)
    {
        var sql = w.Kind.ToSql(w, Interval);
        var tvf = sql.Table;
        var end = sql.WindowEnd;
        var first = SortableTsLength + 1;
        return $"""
            CREATE TEMPORARY VIEW {BarsView(index)} AS
            -- window '{w.Name}': {w.Kind.Name}
            SELECT
              `symbol`,
              `window_start`,
              {end},
              `window_time`,
              CAST(SUBSTRING(MIN(`ts_price`) FROM {first}) AS DOUBLE) AS `open`,
              MAX(`price`) AS `high`,
              MIN(`price`) AS `low`,
              CAST(SUBSTRING(MAX(`ts_price`) FROM {first}) AS DOUBLE) AS `close`,
              SUM(`volume`) AS `volume`,
              CASE WHEN SUM(`volume`) = 0 THEN CAST(NULL AS DOUBLE) ELSE SUM(`price` * `volume`) / SUM(`volume`) END AS `vwap`,
              COUNT(*) AS `trades`
            FROM TABLE({tvf})
            GROUP BY `symbol`, `window_start`, `window_end`, `window_time`
            """;
    }

    /// <param name="source">The view the rule reads: its window's bars, with the indicators the rule reads when it reads any.</param>
    private static string AlertsView(int index, RuleDefinition r, string source)
    {
        var idPrefix = Lit($"{r.Name}:");
        var idWindow = Lit($":{r.Window}:");
        var sql = r.Kind.ToSql(r, source);
        var threshold = sql.Threshold ?? $"CAST({Number(r.Threshold)} AS DOUBLE)";
        var select = $"""
              {Text(r.Name)} AS `rule`,
              CONCAT({idPrefix}, `symbol`, {idWindow}, CAST({EpochMs("`window_start`")} AS STRING)) AS `id`,
              `symbol`, `window_start`, `window_end`, `value`, {threshold} AS `threshold`
            """;
        var values = "  " + sql.Values.ReplaceLineEndings("\n").Replace("\n", "\n  ", StringComparison.Ordinal);
        var where = sql.Condition is null ? "" : $"\nWHERE `value` {sql.Condition}";
        return $"""
            CREATE TEMPORARY VIEW {AlertsView(index)} AS
            -- rule '{r.Name}': {r.Kind.Name} over window '{r.Window}', {OneLine(sql.Description)}
            SELECT
            {select}
            FROM (
            {values}
            ){where}
            """;
    }

    /// <summary>
    /// The views adding the indicators the window's rules read to its bars, one view per indicator in definition
    /// order; returns the last (the bars view when there are none), which those rules read.
    /// </summary>
    private static string IndicatorViews(int index, List<IndicatorDefinition> indicators, List<string> statements)
    {
        var from = BarsView(index);
        List<string> columns = ["`symbol`", "`window_start`", "`window_end`", "`window_time`", .. BarFields.Names.Select(SqlText.Column)];
        for (var j = 0; j < indicators.Count; j++)
        {
            var view = string.Create(CultureInfo.InvariantCulture, $"indicators_{index}_{j + 1}");
            statements.Add(IndicatorView(view, from, columns, indicators[j]));
            columns.AddRange(indicators[j].ValueNames().Select(SqlText.Indicator));
            from = view;
        }

        return from;
    }

    /// <summary>
    /// One indicator over the view before it: an OVER window over the symbol's bars on which its input is
    /// defined gives the array of its input's latest values (NULL until there are enough), the kind's SQL turns
    /// it into the outputs, and the bars on which the input is undefined are added back with undefined outputs.
    /// </summary>
    /// <remarks>
    /// ARRAY_AGG (Flink 1.19 on, FLINK-21949) retracts the value that leaves a ROWS window by removing the first
    /// equal element (flink-table-runtime <c>ArrayAggFunction.retract</c>), which is the oldest, so the array holds
    /// the window's values oldest first. A window of one row is <c>ARRAY[x]</c>: Flink's bounded ROWS OVER operator
    /// (<c>RowTimeRowsBoundedPrecedingFunction</c>) is not meant for 0 PRECEDING.
    /// </remarks>
    private static string IndicatorView(string view, string from, List<string> columns, IndicatorDefinition i)
    {
        var of = i.Of ?? throw new FlinkUnsupportedException($"indicator '{i.Name}' ({i.Kind.Name}) reads no input");
        var isField = BarFields.TryParse(of, out var field);
        var x = isField ? SqlText.Field(field) : SqlText.Indicator(of);
        var nullable = !isField || field == BarField.Vwap;
        var values = SqlText.Column($"@{i.Name}#values");
        var sql = i.Kind.ToSql(i, values, name => SqlText.Column($"@{i.Name}#{name}"));
        var filter = nullable ? $"\nWHERE {x} IS NOT NULL" : "";
        var rows = sql.Rows.ToString(CultureInfo.InvariantCulture);
        var preceding = (sql.Rows - 1).ToString(CultureInfo.InvariantCulture);
        var select = sql.Rows == 1
            ? $"SELECT *,\n  ARRAY[{x}] AS {values}\nFROM {from}{filter}"
            : $"SELECT *,\n  CASE WHEN COUNT(*) OVER w = {rows} THEN ARRAY_AGG({x}) OVER w END AS {values}\nFROM {from}{filter}\n"
                + $"WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN {preceding} PRECEDING AND CURRENT ROW)";
        foreach (var (name, step) in sql.Steps)
        {
            select = $"SELECT *,\n  {step} AS {SqlText.Column($"@{i.Name}#{name}")}\nFROM {SqlText.Subquery(select)}";
        }

        var names = i.ValueNames().ToList();
        var keep = string.Join(", ", columns);
        var body = $"SELECT {keep},\n  {string.Join(",\n  ", sql.Outputs.Select((o, k) => $"{o} AS {SqlText.Indicator(names[k])}"))}\nFROM {SqlText.Subquery(select)}";
        if (nullable)
        {
            var undefined = string.Join(",\n  ", names.Select(n => $"CAST(NULL AS DOUBLE) AS {SqlText.Indicator(n)}"));
            body += $"\nUNION ALL\nSELECT {keep},\n  {undefined}\nFROM {from}\nWHERE {x} IS NULL";
        }

        var k = i.Kind.TakesK ? $", k {Number(i.K)}" : "";
        return $"CREATE TEMPORARY VIEW {view} AS\n-- window '{i.Window}', indicator '{i.Name}': {i.Kind.Name} of {of}, period {i.Period}{k}\n{body}";
    }

    /// <summary>Text for a <c>--</c> comment: line breaks and other control characters as spaces.</summary>
    private static string OneLine(string text) => string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));

    private static string BarsSink(PipelineDefinition d, FlinkOptions o)
    {
        var columns = new StringBuilder();
        foreach (var a in EmittedAggregates(d))
        {
            var type = a == Aggregate.Trades ? "BIGINT" : "DOUBLE";
            columns.Append(CultureInfo.InvariantCulture, $"  `{Name(a)}` {type},\n");
        }

        return $"""
            CREATE TABLE {BarsSinkTable} (
              `kafka_key` STRING,
              `symbol` STRING,
              `window` STRING,
              `window_start` STRING,
              `window_end` STRING,
            {columns.ToString().TrimEnd('\n', ',')}
            ) WITH (
            {SinkOptions(BarsTopic, o, "bars")}
            )
            """;
    }

    private static string AlertsSink(FlinkOptions o) =>
        $"""
        CREATE TABLE {AlertsSinkTable} (
          `kafka_key` STRING,
          `id` STRING,
          `rule` STRING,
          `symbol` STRING,
          `window` STRING,
          `window_start` STRING,
          `window_end` STRING,
          `value` DOUBLE,
          `threshold` DOUBLE,
          `ts` STRING,
          `pipeline` STRING
        ) WITH (
        {SinkOptions(AlertsTopic, o, "alerts")}
        )
        """;

    // The Kafka key is written raw and left out of the value, so the value is the local engine's JSON.
    private static string SinkOptions(string topic, FlinkOptions o, string suffix) =>
        $"""
          'connector' = 'kafka',
          'topic' = {Lit(topic)},
          'properties.bootstrap.servers' = {Lit(o.BootstrapServers)},
          'properties.transaction.timeout.ms' = '{(long)o.TransactionTimeout.TotalMilliseconds}',
          'key.format' = 'raw',
          'key.fields' = 'kafka_key',
          'value.format' = 'json',
          'value.fields-include' = 'EXCEPT_KEY',
          'sink.delivery-guarantee' = 'exactly-once',
          'sink.transactional-id-prefix' = {Lit($"{o.TransactionalIdPrefix}-{suffix}")}
        """;

    /// <summary>
    /// One INSERT per sink table, its windows' or rules' rows joined with UNION ALL. Each INSERT becomes a KafkaSink
    /// of its own, and transactional ids are prefix-subtask-checkpoint (flink-connector-kafka 3.3.0
    /// TransactionalIdFactory.buildTransactionalId); two sinks with one prefix would share ids and abort each
    /// other's transactions at start (KafkaWriter.abortLingeringTransactions), a ProducerFencedException loop.
    /// </summary>
    private static string StatementSet(PipelineDefinition d)
    {
        var sb = new StringBuilder();
        sb.Append("EXECUTE STATEMENT SET\nBEGIN\n");
        sb.Append(CultureInfo.InvariantCulture, $"INSERT INTO {BarsSinkTable}\n");
        for (var i = 0; i < d.Windows.Count; i++)
        {
            var w = d.Windows[i];
            var key = $"CONCAT(`symbol`, '|', {Lit(w.Name)}, '|', CAST({EpochMs("`window_start`")} AS STRING))";
            sb.Append(i == 0 ? "" : "UNION ALL\n");
            sb.Append(CultureInfo.InvariantCulture, $"SELECT\n  {key},\n  `symbol`,\n  {Text(w.Name)},\n");
            sb.Append(CultureInfo.InvariantCulture, $"  {Iso("`window_start`")},\n  {Iso("`window_end`")}");
            foreach (var a in EmittedAggregates(d))
            {
                sb.Append(CultureInfo.InvariantCulture, $",\n  `{Name(a)}`");
            }

            sb.Append(CultureInfo.InvariantCulture, $"\nFROM {BarsView(i)}\n");
        }

        sb.Length--;
        sb.Append(";\n");
        if (d.Rules.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"INSERT INTO {AlertsSinkTable}\n");
            for (var i = 0; i < d.Rules.Count; i++)
            {
                var r = d.Rules[i];
                sb.Append(i == 0 ? "" : "UNION ALL\n");
                sb.Append(CultureInfo.InvariantCulture, $"SELECT\n  `id`,\n  `id`,\n  `rule`,\n  `symbol`,\n  {Text(r.Window)},\n");
                sb.Append(CultureInfo.InvariantCulture, $"  {Iso("`window_start`")},\n  {Iso("`window_end`")},\n  `value`,\n  `threshold`,\n  {Iso("`window_end`")},\n  {Text(d.Digest())}\n");
                sb.Append(CultureInfo.InvariantCulture, $"FROM {AlertsView(i)}\n");
            }

            sb.Length--;
            sb.Append(";\n");
        }

        sb.Append("END");
        return sb.ToString();
    }

    private static List<Aggregate> EmittedAggregates(PipelineDefinition d) => [.. d.Aggregates.Distinct().Order()];

    private static int WindowIndex(PipelineDefinition d, RuleDefinition r)
    {
        for (var i = 0; i < d.Windows.Count; i++)
        {
            if (d.Windows[i].Name == r.Window)
            {
                return i;
            }
        }

        throw new FlinkUnsupportedException($"rule '{r.Name}': no window named '{r.Window}'");
    }

    private static string BarsView(int index) => $"bars_{index}";

    private static string AlertsView(int index) => $"alerts_{index}";

    private static string Name(Aggregate a) => a.ToString().ToLowerInvariant();

    private static string Set(string key, string value) => $"SET {Lit(key)} = {Lit(value)}";

    private static string Lit(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// A string literal as STRING. A literal is CHAR(n), and UNION ALL of CHAR(2) and CHAR(7) is CHAR(7) under
    /// Calcite's default type system (RelDataTypeSystem.shouldConvertRaggedUnionTypesToVarying is false), which
    /// would pad '1m' with spaces; as STRING every branch keeps its own text.
    /// </summary>
    private static string Text(string text) => $"CAST({Lit(text)} AS STRING)";

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>ISO-8601 UTC with milliseconds, the local engine's time format (needs table.local-time-zone UTC).</summary>
    private static string Iso(string column) => $"DATE_FORMAT({column}, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')";

    /// <summary>Epoch milliseconds of a UTC TIMESTAMP(3): UNIX_TIMESTAMP gives whole seconds in the session time zone.</summary>
    private static string EpochMs(string column) =>
        $"UNIX_TIMESTAMP(DATE_FORMAT({column}, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT({column}, 'SSS') AS BIGINT)";

    /// <summary>A Flink configuration duration: whole seconds as "30 s", otherwise milliseconds.</summary>
    private static string FlinkDuration(TimeSpan span)
    {
        var ms = (long)span.TotalMilliseconds;
        return ms % 1000 == 0 ? $"{ms / 1000} s" : $"{ms} ms";
    }

    /// <summary>A SQL interval literal in the largest unit that divides it; leading precision given past two digits.</summary>
    internal static string Interval(long ms)
    {
        var (value, unit) =
            ms > 0 && ms % 86_400_000 == 0 ? (ms / 86_400_000, "DAY")
            : ms > 0 && ms % 3_600_000 == 0 ? (ms / 3_600_000, "HOUR")
            : ms > 0 && ms % 60_000 == 0 ? (ms / 60_000, "MINUTE")
            : (ms / 1000, "SECOND");
        var fraction = ms % 1000;
        var digits = value.ToString(CultureInfo.InvariantCulture).Length;
        if (unit == "SECOND" && fraction != 0)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"{value}.{fraction:000}");
            return digits > 2 ? $"INTERVAL '{text}' SECOND({digits}, 3)" : $"INTERVAL '{text}' SECOND";
        }

        var precision = digits > 2 ? $"({digits})" : "";
        return string.Create(CultureInfo.InvariantCulture, $"INTERVAL '{value}' {unit}{precision}");
    }
}

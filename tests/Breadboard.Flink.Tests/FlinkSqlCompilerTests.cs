using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Breadboard.Core.Pipeline;
using Breadboard.TestKit;

namespace Breadboard.Flink.Tests;

public class FlinkSqlCompilerTests
{
    private static readonly FlinkOptions Options = new() { BootstrapServers = "kafka:9092" };

    [Fact]
    public void Compile_DefaultPipeline_MatchesGoldenFile()
    {
        var actual = FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options);
        var golden = GoldenPath("default-pipeline.sql");
        var expected = File.Exists(golden) ? File.ReadAllText(golden) : "";
        if (actual != expected)
        {
            // Written next to the golden file so a reviewer can diff it and copy it over when the change is intended.
            File.WriteAllText(golden + ".actual", actual);
        }

        Assert.True(actual == expected, $"the compiled script differs from {golden}; the actual script is in {golden}.actual");
    }

    [Fact]
    public void Compile_ShippedPipelineYaml_GivesTheDefaultScript()
    {
        var yaml = Path.Combine(Repository.Root(), "config", "pipeline.yaml");
        var definition = PipelineLoader.Parse(File.ReadAllText(yaml), yaml);

        Assert.Equal(FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options), FlinkSqlCompiler.Compile(definition, Options));
    }

    [Theory]
    [InlineData(5_000, "THEN `event_ts` - INTERVAL '5' SECOND END")]
    [InlineData(0, "THEN `event_ts` - INTERVAL '0' SECOND END")]
    [InlineData(1_500, "THEN `event_ts` - INTERVAL '1.500' SECOND END")]
    [InlineData(120_000, "THEN `event_ts` - INTERVAL '2' MINUTE END")]
    [InlineData(150_000, "THEN `event_ts` - INTERVAL '150' SECOND(3) END")]
    public void Compile_OutOfOrderness_IsTheWatermarkIntervalOfBothSources(long ms, string watermark)
    {
        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default with { OutOfOrdernessMs = ms }, Options);

        Assert.Equal(2, Count(sql, watermark + "\n"));
    }

    [Fact]
    public void Compile_Watermark_IsTakenOnlyFromTheTicksTheViewsKeep()
    {
        // A refused tick with a readable far-future ts must not move event time: the watermark expression is NULL
        // for exactly the rows the WHERE clause drops, and Flink's generated watermark generator skips a NULL.
        var definition = PipelineDefinition.Default;
        var sql = FlinkSqlCompiler.Compile(definition, Options);
        var valid = FlinkSqlCompiler.Valid(definition);

        Assert.Equal(2, Count(sql, $"WATERMARK FOR `event_ts` AS CASE WHEN {valid} THEN `event_ts` - INTERVAL '5' SECOND END\n"));
        Assert.Equal(2, Count(sql, $"WHERE {valid}"));
        Assert.DoesNotContain("ELSE", sql[sql.IndexOf("WATERMARK", StringComparison.Ordinal)..sql.IndexOf(") WITH", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.Contains("`event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300499999, 3)", valid, StringComparison.Ordinal);
        Assert.Contains("`price` BETWEEN 1E-15 AND 1000000000000000", valid, StringComparison.Ordinal);
        Assert.Contains("(`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18)", valid, StringComparison.Ordinal);
        Assert.Contains("`price` * `volume` <= 1E+21", valid, StringComparison.Ordinal);
        Assert.Contains("`v` = 1", valid, StringComparison.Ordinal);
    }

    /// <summary>The ts forms the Flink job reads are exactly those the local engine reads (ranges aside).</summary>
    [Theory]
    [InlineData("2026-01-02T14:30:00Z")]
    [InlineData("2026-01-02T14:30:00.123Z")]
    [InlineData("2026-01-02t14:30:00.1z")]
    [InlineData("2026-01-02 14:30:00.123456789Z")]
    [InlineData("2026-01-02T15:30:00.123+01:00")]
    [InlineData("2026-01-02T09:30:00-05:00")]
    [InlineData("2026-01-02T14:30:00+23:59")]
    [InlineData("1767364200123")]
    [InlineData("0")]
    [InlineData("2026-01-02T14:30:00")]
    [InlineData("2026-01-02T14:30:00.Z")]
    [InlineData("2026-01-02T14:30Z")]
    [InlineData("2026-13-02T14:30:00Z")]
    [InlineData("2026-01-02T24:00:00Z")]
    [InlineData("2026-01-02T14:60:00Z")]
    [InlineData("2026-01-02T14:30:00+24:00")]
    [InlineData("2026-01-02T14:30:00+0100")]
    [InlineData("2026-01-02")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("yesterday")]
    [InlineData("")]
    public void TsPatterns_AcceptWhatTheLocalEngineAccepts(string ts)
    {
        // .NET reads these patterns as Java does: character classes, groups, alternation and counted repeats only.
        var flink = Regex.IsMatch(ts, FlinkSqlCompiler.EpochMsPattern) || Regex.IsMatch(ts, FlinkSqlCompiler.IsoPattern);
        var local = Core.Codec.TickJson.TryParseTs(System.Text.Encoding.UTF8.GetBytes(ts), out _);

        Assert.Equal(local, flink);
    }

    [Fact]
    public void Compile_Options_SetParallelismCheckpointingAndJobName()
    {
        var options = Options with { JobName = "bb-prod", Parallelism = 6, CheckpointInterval = TimeSpan.FromMilliseconds(2_500), TransactionalIdPrefix = "bb-7" };

        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default, options);

        Assert.Contains("SET 'pipeline.name' = 'bb-prod';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'parallelism.default' = '6';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'execution.checkpointing.interval' = '2500 ms';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'execution.checkpointing.externalized-checkpoint-retention' = 'RETAIN_ON_CANCELLATION';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'state.backend.type' = 'rocksdb';\n", sql, StringComparison.Ordinal);
        Assert.Contains("SET 'execution.checkpointing.incremental' = 'true';\n", sql, StringComparison.Ordinal);
        Assert.Contains("'sink.transactional-id-prefix' = 'bb-7-bars'", sql, StringComparison.Ordinal);
        Assert.Contains("'sink.transactional-id-prefix' = 'bb-7-alerts'", sql, StringComparison.Ordinal);
        Assert.Equal(2, Count(sql, "'sink.delivery-guarantee' = 'exactly-once'"));
    }

    [Fact]
    public void Compile_QuotesInOptions_AreEscapedAsSqlLiterals()
    {
        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options with { JobName = "it's" });

        Assert.Contains("SET 'pipeline.name' = 'it''s';", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_BadOptions_ListsEveryProblem()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options with { Parallelism = 0, StartupMode = "timestamp" }));

        Assert.Contains("parallelism must be 1..32768 (got 0)", e.Message, StringComparison.Ordinal);
        Assert.Contains("startup mode must be", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_HoppingSizeNotAMultipleOfSlide_IsRefusedNamingTheWindow()
    {
        var definition = PipelineDefinition.Default with { Windows = [WindowDefinition.Hopping("odd", 90_000, 60_000)], Rules = [] };

        var e = Assert.Throws<FlinkUnsupportedException>(() => FlinkSqlCompiler.Compile(definition, Options));

        Assert.Equal("window 'odd': Flink's HOP needs a size that is a multiple of the slide (size 90000 ms, slide 60000 ms)", e.Message);
        Assert.IsAssignableFrom<NotSupportedException>(e);
    }

    [Fact]
    public void Compile_RuleOnUnknownWindow_IsRefused()
    {
        var definition = PipelineDefinition.Default with { Rules = [RuleDefinition.PriceChange("drop", "15m", ComparisonOp.LessOrEqual, -1)] };

        var e = Assert.Throws<FlinkUnsupportedException>(() => FlinkSqlCompiler.Compile(definition, Options));

        Assert.Equal("rule 'drop': no window named '15m'", e.Message);
    }

    [Fact]
    public void Compile_SessionWindow_MergesOnlyTicksLessThanGapApart()
    {
        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options);

        Assert.Contains("SESSION(TABLE ticks PARTITION BY `symbol`, DESCRIPTOR(`ts`), INTERVAL '29.999' SECOND)", sql, StringComparison.Ordinal);
        Assert.Contains("`window_end` + INTERVAL '0.001' SECOND AS `window_end`", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_OnlySomeAggregates_SinkHasOnlyThoseColumns()
    {
        var definition = PipelineDefinition.Default with { Aggregates = [Aggregate.Close, Aggregate.Open] };

        var sql = FlinkSqlCompiler.Compile(definition, Options);

        Assert.DoesNotContain("`vwap` DOUBLE", sql, StringComparison.Ordinal);
        Assert.Contains("`window_end` STRING,\n  `open` DOUBLE,\n  `close` DOUBLE\n) WITH", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void CompileStatements_EndsWithOneStatementSetHoldingOneInsertPerOutput()
    {
        var statements = FlinkSqlCompiler.CompileStatements(PipelineDefinition.Default, Options);

        var set = statements[^1];
        Assert.StartsWith("EXECUTE STATEMENT SET\nBEGIN\n", set, StringComparison.Ordinal);
        Assert.EndsWith("\nEND", set, StringComparison.Ordinal);
        // One INSERT per sink table: each INSERT is a KafkaSink of its own, and two with one transactional id
        // prefix would fence each other (flink-connector-kafka 3.3.0 TransactionalIdFactory, KafkaWriter).
        Assert.Equal(1, Count(set, "INSERT INTO bars_sink"));
        Assert.Equal(1, Count(set, "INSERT INTO alerts_sink"));
        Assert.Equal(2 + 2, Count(set, "UNION ALL"));
        Assert.Equal(3, Count(set, "FROM bars_"));
        Assert.Equal(3, Count(set, "FROM alerts_"));

        // A bare literal is CHAR(n): the union of '1m' and 'session' would pad '1m' to CHAR(7) with spaces.
        Assert.Contains("\n  CAST('1m' AS STRING),\n", set, StringComparison.Ordinal);
        Assert.Contains("\n  CAST('session' AS STRING),\n", set, StringComparison.Ordinal);
        Assert.DoesNotContain("\n  '1m',\n", set, StringComparison.Ordinal);
        Assert.Contains("CAST('price_drop' AS STRING) AS `rule`", string.Join("\n", statements), StringComparison.Ordinal);
        Assert.All(statements, s => Assert.False(s.EndsWith(';'), s));
    }

    [Theory]
    [InlineData(60_000, "INTERVAL '1' MINUTE")]
    [InlineData(300_000, "INTERVAL '5' MINUTE")]
    [InlineData(30_000, "INTERVAL '30' SECOND")]
    [InlineData(3_600_000, "INTERVAL '1' HOUR")]
    [InlineData(86_400_000 * 2L, "INTERVAL '2' DAY")]
    [InlineData(500, "INTERVAL '0.500' SECOND")]
    [InlineData(6_000_000, "INTERVAL '100' MINUTE(3)")]
    [InlineData(123_456, "INTERVAL '123.456' SECOND(3, 3)")]
    public void Interval_UsesTheLargestUnitThatDivides(long ms, string expected) =>
        Assert.Equal(expected, FlinkSqlCompiler.Interval(ms));

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string GoldenPath(string name, [CallerFilePath] string source = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(source) ?? "", "Golden");
        return Path.Combine(Directory.Exists(dir) ? dir : Path.Combine(AppContext.BaseDirectory, "Golden"), name);
    }
}

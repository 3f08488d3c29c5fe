using System.Runtime.CompilerServices;
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
    [InlineData(5_000, "WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND")]
    [InlineData(0, "WATERMARK FOR `ts` AS `ts` - INTERVAL '0' SECOND")]
    [InlineData(1_500, "WATERMARK FOR `ts` AS `ts` - INTERVAL '1.500' SECOND")]
    [InlineData(120_000, "WATERMARK FOR `ts` AS `ts` - INTERVAL '2' MINUTE")]
    [InlineData(150_000, "WATERMARK FOR `ts` AS `ts` - INTERVAL '150' SECOND(3)")]
    public void Compile_OutOfOrderness_IsTheWatermarkIntervalOfBothSources(long ms, string watermark)
    {
        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default with { OutOfOrdernessMs = ms }, Options);

        Assert.Equal(2, Count(sql, watermark + "\n"));
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
        Assert.Contains("SET 'state.backend.incremental' = 'true';\n", sql, StringComparison.Ordinal);
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
        Assert.Equal(3, Count(set, "INSERT INTO bars_sink"));
        Assert.Equal(3, Count(set, "INSERT INTO alerts_sink"));
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

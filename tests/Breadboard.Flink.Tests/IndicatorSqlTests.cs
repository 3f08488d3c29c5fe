using System.Runtime.CompilerServices;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Flink.Tests;

/// <summary>Indicators and expression rules compiled to Flink SQL: the script, and what is refused.</summary>
public class IndicatorSqlTests
{
    private static readonly FlinkOptions Options = new() { BootstrapServers = "kafka:9092" };

    [Fact]
    public void Compile_IndicatorPipeline_MatchesGoldenFile()
    {
        var actual = FlinkSqlCompiler.Compile(IndicatorPipeline(), Options);
        var golden = GoldenPath("indicators-pipeline.sql");
        var expected = File.Exists(golden) ? File.ReadAllText(golden) : "";
        if (actual != expected)
        {
            File.WriteAllText(golden + ".actual", actual);
        }

        Assert.True(actual == expected, $"the compiled script differs from {golden}; the actual script is in {golden}.actual");
    }

    [Fact]
    public void Compile_IndicatorNoRuleReads_IsNotCompiled()
    {
        var statements = FlinkSqlCompiler.CompileStatements(IndicatorPipeline(), Options);

        Assert.DoesNotContain(statements, s => s.Contains("ema12", StringComparison.Ordinal));
        Assert.Equal(7, statements.Count(s => s.StartsWith("CREATE TEMPORARY VIEW indicators_0_", StringComparison.Ordinal)));
    }

    [Fact]
    public void Compile_RulesReadingRecursiveIndicators_RefusesEachWithOneLine()
    {
        var definition = Load("""
            windows: [{ name: "1m", type: tumbling, size: 1m }]
            indicators:
              - { name: rsi14, window: "1m", type: rsi, of: close, period: 14 }
              - { name: ema12, window: "1m", type: ema, of: close, period: 12 }
              - { name: atr14, window: "1m", type: atr, period: 14 }
              - { name: rsi_avg, window: "1m", type: sma, of: rsi14, period: 3 }
              - { name: sma_long, window: "1m", type: sma, of: close, period: 201 }
              - { name: sma_ok, window: "1m", type: sma, of: close, period: 200 }
            rules:
              - { name: rsi_hot, window: "1m", when: "rsi14 > 70", for: 3 }
              - { name: trend, window: "1m", when: "close > ema12 and atr14 < 2" }
              - { name: smooth, window: "1m", when: "rsi_avg > 60" }
              - { name: long, window: "1m", when: "crosses_above(close, sma_long) and close > sma_ok" }
              - { name: drop, window: "1m", type: price_change, op: "<=", threshold_percent: -5 }
            """);

        var e = Assert.Throws<FlinkUnsupportedException>(() => FlinkSqlCompiler.Compile(definition, Options));

        Assert.Equal(
            [
                "rule 'rsi_hot': indicator 'rsi14' (rsi): rsi is Wilder-smoothed (recursive over every bar before it), which append-only Flink SQL cannot express",
                "rule 'trend': indicator 'ema12' (ema): ema is recursive (each value depends on every bar before it), which append-only Flink SQL cannot express",
                "rule 'trend': indicator 'atr14' (atr): atr is Wilder-smoothed (recursive over every bar before it), which append-only Flink SQL cannot express",
                "rule 'smooth': indicator 'rsi14' (rsi), which 'rsi_avg' is computed over: rsi is Wilder-smoothed (recursive over every bar before it), which append-only Flink SQL cannot express",
                $"rule 'long': indicator 'sma_long' (sma): a period of 201: Flink SQL gets the local engine's exact sma by adding the window's values one by one, oldest first, and the compiler writes out at most {IndicatorKind.MaxSqlPeriod}",
            ],
            e.Message.Split('\n'));
    }

    [Fact]
    public void Compile_RecursiveIndicatorNoRuleReads_CompilesTheRest()
    {
        var definition = Load("""
            windows: [{ name: "1m", type: tumbling, size: 1m }]
            indicators:
              - { name: rsi14, window: "1m", type: rsi, of: close, period: 14 }
              - { name: sma5, window: "1m", type: sma, of: close, period: 5 }
            rules:
              - { name: above, window: "1m", when: "close > sma5" }
            """);

        var sql = FlinkSqlCompiler.Compile(definition, Options);

        Assert.DoesNotContain("rsi14", sql.Replace(definition.Fingerprint(), "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("CREATE TEMPORARY VIEW indicators_0_1 AS\n-- window '1m', indicator 'sma5': sma of close, period 5\n", sql, StringComparison.Ordinal);
        Assert.Contains("FROM indicators_0_1\n", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_ProblemsOfWindowsAndRules_AreAllListed()
    {
        var loaded = Load("""
            windows: [{ name: "1m", type: tumbling, size: 1m }]
            indicators:
              - { name: ema12, window: "1m", type: ema, of: close, period: 12 }
            rules:
              - { name: trend, window: "1m", when: "close > ema12" }
            """);
        var definition = loaded with { Windows = [WindowDefinition.Hopping("odd", 90_000, 60_000), .. loaded.Windows] };

        var e = Assert.Throws<FlinkUnsupportedException>(() => FlinkSqlCompiler.Compile(definition, Options));

        var lines = e.Message.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("window 'odd': ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("rule 'trend': indicator 'ema12' (ema): ", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void ToSql_ExpressionRule_GivesOnlyTheFiringBarsWithValueAndThreshold()
    {
        var rule = Load("""
            windows: [{ name: "1m", type: tumbling, size: 1m }]
            rules:
              - { name: up, window: "1m", when: "close / open > 1.01 or not close == high", for: 2 }
            """).Rules[0];

        var sql = rule.Kind.ToSql(rule, "bars_0");

        Assert.Null(sql.Condition);
        Assert.Equal("`threshold`", sql.Threshold);
        Assert.Equal("close / open > 1.01 or not close == high for 2 bars", sql.Description);
        Assert.Contains("COALESCE((`close` / NULLIF(`open`, 0E0)) > 1.01E0, FALSE) OR (NOT COALESCE(`close` = `high`, FALSE))", sql.Values, StringComparison.Ordinal);
        Assert.Contains("(`close` / NULLIF(`open`, 0E0)) AS `value`,\n", sql.Values, StringComparison.Ordinal);
        Assert.Contains("1.01E0 AS `threshold`\n", sql.Values, StringComparison.Ordinal);
        Assert.EndsWith("WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 2", sql.Values, StringComparison.Ordinal);
    }

    internal static PipelineDefinition IndicatorPipeline()
    {
        var path = GoldenPath("indicators-pipeline.yaml");
        return PipelineLoader.Parse(File.ReadAllText(path), path);
    }

    private static PipelineDefinition Load(string yaml) => PipelineLoader.Parse(yaml, "p.yaml");

    private static string GoldenPath(string name, [CallerFilePath] string source = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(source) ?? "", "Golden");
        return Path.Combine(Directory.Exists(dir) ? dir : Path.Combine(AppContext.BaseDirectory, "Golden"), name);
    }
}

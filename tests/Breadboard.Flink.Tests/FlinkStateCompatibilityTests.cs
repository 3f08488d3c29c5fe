using Breadboard.Core.Pipeline;
using Breadboard.TestKit;

namespace Breadboard.Flink.Tests;

/// <summary>The upgrade precheck on scripts compiled from config/pipeline.yaml and edits of it.</summary>
public class FlinkStateCompatibilityTests
{
    private static readonly FlinkOptions Options = new() { BootstrapServers = "kafka:9092" };

    private static readonly string Shipped = File.ReadAllText(Path.Combine(Repository.Root(), "config", "pipeline.yaml"));

    private static IReadOnlyList<string> Compiled(string yaml, FlinkOptions? options = null) =>
        FlinkSqlCompiler.CompileStatements(PipelineLoader.Parse(yaml, "pipeline.yaml"), options ?? Options);

    /// <summary>The shipped file with one edit, which must apply exactly once so a changed file fails loudly here.</summary>
    private static string Edited(string from, string to)
    {
        var at = Shipped.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0 && Shipped.IndexOf(from, at + 1, StringComparison.Ordinal) < 0, $"'{from}' is not in config/pipeline.yaml exactly once");
        return Shipped[..at] + to + Shipped[(at + from.Length)..];
    }

    [Fact]
    public void Check_SamePipeline_KeepsStateWithNothingToReport()
    {
        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Shipped));

        Assert.True(verdict.KeepsState);
        Assert.Empty(verdict.Tolerated);
        Assert.Null(verdict.Reason);
    }

    [Fact]
    public void Check_ChangedThresholdAndComparison_KeepsState()
    {
        var edited = Edited("op: \"<=\"\n    threshold_percent: -5", "op: \">=\"\n    threshold_percent: -3.5");

        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(edited));

        Assert.True(verdict.KeepsState, string.Join("; ", verdict.Changes));
        Assert.Equal(["rule 'price_drop': name, threshold or comparison"], verdict.Tolerated);
    }

    [Fact]
    public void Check_VolumeSurgeFactorChanged_KeepsState_ButItsLookbackChanged_DoesNot()
    {
        var factor = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Edited("factor: 5", "factor: 4")));
        var lookback = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Edited("lookback: 20", "lookback: 30")));

        Assert.True(factor.KeepsState);
        Assert.Equal(["rule 'volume_surge' computes its value differently (alerts_2)"], lookback.Changes);
    }

    [Fact]
    public void Check_RenamedRule_KeepsState()
    {
        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Edited("name: price_spike", "name: price_jump")));

        Assert.True(verdict.KeepsState);
        Assert.Equal(["rule 'price_jump': name, threshold or comparison"], verdict.Tolerated);
    }

    [Fact]
    public void Check_ChangedWindow_IsRefusedNamingIt()
    {
        var edited = Edited("type: tumbling\n    size: 60s", "type: tumbling\n    size: 120s");

        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(edited));

        Assert.False(verdict.KeepsState);
        Assert.Equal(["window '1m' (bars_0) changed"], verdict.Changes);
        Assert.Equal(
            "cannot upgrade with state: window '1m' (bars_0) changed; the savepoint holds that state for the old definition, and Flink would hand it to the changed operator — stop the job with 'breadboard flink cancel' and deploy without --upgrade to start empty",
            FlinkStateCompatibility.Refusal(verdict));
    }

    [Fact]
    public void Check_ChangedWatermark_IsRefusedAtTheSourceTables()
    {
        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Edited("out_of_orderness: 5s", "out_of_orderness: 10s")));

        Assert.Equal(
            ["source table stock_prices (watermark, tick filter or Kafka options) changed", "source table crypto_prices (watermark, tick filter or Kafka options) changed"],
            verdict.Changes);
    }

    [Fact]
    public void Check_AddedRule_IsRefusedBecauseTheOperatorIdsMove()
    {
        var edited = Shipped + "  - name: price_crash\n    window: \"1m\"\n    type: price_change\n    op: \"<=\"\n    threshold_percent: -10\n";

        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(edited));

        Assert.Equal(["rule 'price_crash' added"], verdict.Changes);
        Assert.Contains("StreamGraphHasherV2", verdict.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', FlinkStateCompatibility.Refusal(verdict));
    }

    [Fact]
    public void Check_RemovedWindowAndRule_IsRefused()
    {
        var edited = Edited("  - name: \"session\"\n    type: session\n    gap: 30s\n", "");

        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(edited));

        Assert.Equal(["window 'session' (bars_2) removed"], verdict.Changes);
    }

    [Fact]
    public void Check_CheckpointIntervalAndParallelismWithinTheMaximum_KeepState_ParallelismBeyondIt_DoesNot()
    {
        var old = Compiled(Shipped);

        var rescaled = FlinkStateCompatibility.Check(old, Compiled(Shipped, Options with { Parallelism = 6, CheckpointInterval = TimeSpan.FromMinutes(1) }));
        var beyond = FlinkStateCompatibility.Check(old, Compiled(Shipped, Options with { Parallelism = 200 }));

        Assert.True(rescaled.KeepsState);
        Assert.Equal(["'execution.checkpointing.interval' 30 s → 60 s", "parallelism 2 → 6"], rescaled.Tolerated.Order(StringComparer.Ordinal));
        Assert.Equal(["parallelism 2 → 200, above the maximum parallelism 128 the running job's key groups were cut for"], beyond.Changes);
    }

    [Fact]
    public void Check_OtherKafkaCluster_IsRefused()
    {
        var verdict = FlinkStateCompatibility.Check(Compiled(Shipped), Compiled(Shipped, Options with { BootstrapServers = "other:9092" }));

        Assert.Equal(4, verdict.Changes.Count);
        Assert.Contains("sink table bars_sink (columns or Kafka options) changed", verdict.Changes);
    }

    [Fact]
    public void Check_IndicatorPeriodChanged_IsRefusedNamingTheIndicator()
    {
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "indicators-pipeline.yaml"));
        var old = Compiled(golden);
        var at = golden.IndexOf("period: 3", StringComparison.Ordinal);
        Assert.True(at >= 0);

        var verdict = FlinkStateCompatibility.Check(old, Compiled(golden[..at] + "period: 4" + golden[(at + "period: 3".Length)..]));

        Assert.Contains("indicator 'sma_fast' (indicators_0_1) changed", verdict.Changes);
    }
}

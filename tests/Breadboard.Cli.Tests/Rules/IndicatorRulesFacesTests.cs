using System.Text.Json;
using Breadboard.Cli.Tests.Kafka;

namespace Breadboard.Cli.Tests.Rules;

/// <summary>
/// One pipeline with indicators and expression rules on every face: <c>replay</c>, <c>up</c> (embedded) and
/// <c>ingest</c> + <c>process</c> through Kafka (librdkafka's mock cluster) give the same alerts from the same input.
/// </summary>
public class IndicatorRulesFacesTests
{
    // 10 s bars so that the test's ~8 minutes of ticks give each symbol ~50 bars; short periods so every rule fires.
    private const string Pipeline = """
        version: 1
        out_of_orderness: 2s
        windows:
          - { name: "10s", type: tumbling, size: 10s }
        indicators:
          - { name: fast, window: "10s", type: sma, of: close, period: 3 }
          - { name: slow, window: "10s", type: sma, of: close, period: 8 }
          - { name: trend, window: "10s", type: ema, of: close, period: 5 }
          - { name: rsi, window: "10s", type: rsi, of: close, period: 6 }
          - { name: vol_z, window: "10s", type: zscore, of: volume, period: 8 }
          - { name: bb, window: "10s", type: bollinger, of: close, period: 8, k: 1.5 }
          - { name: atr, window: "10s", type: atr, period: 5 }
          - { name: smooth_rsi, window: "10s", type: sma, of: rsi, period: 3 }
        rules:
          - { name: golden_cross, window: "10s", when: "crosses_above(fast, slow)" }
          - { name: rsi_hot, window: "10s", when: "rsi > 60", for: 2 }
          - { name: volume_anomaly, window: "10s", when: "vol_z >= 1.5 and close > open" }
          - { name: band_break, window: "10s", when: "crosses_below(close, bb.lower) or change_pct(close, 1) < 0" }
          - { name: wide_range, window: "10s", when: "(high - low) > 1.2 * atr and smooth_rsi < 50" }
        """;

    [Fact]
    public async Task ReplayUpAndProcess_WithIndicatorRules_FireTheSameAlerts()
    {
        using var dir = new TempDir();
        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, Pipeline, TestContext.Current.CancellationToken);
        var input = KafkaPipelineTests.WriteTicks(dir, 60_000, disorder: false);

        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", pipeline, "--input", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"));
        var replay = CliProcess.SortedLines(dir.File("replay-alerts.ndjson"));

        await CliProcess.RunSucceedsAsync(dir, "up", "--pipeline", pipeline, "--feed", $"replay:{input}", "--speed", "1000000", "--no-web", "--store", $"duckdb://{dir.File("up.duckdb")}");
        await CliProcess.RunSucceedsAsync(dir, "export", "--store", $"duckdb://{dir.File("up.duckdb")}", "--bars-out", dir.File("up-bars.ndjson"), "--alerts-out", dir.File("up-alerts.ndjson"));

        await using (var kafka = await KafkaPipelineTests.StartKafkaAsync())
        {
            var bus = $"kafka://{kafka.BootstrapServers}";
            await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{input}");
            await CliProcess.RunSucceedsAsync(dir, "process", "--pipeline", pipeline, "--bus", bus, "--store", $"duckdb://{dir.File("p.duckdb")}", "--drain", "--idle-timeout", "1", "--session-timeout", "3");
            await CliProcess.RunSucceedsAsync(dir, "export", "--store", $"duckdb://{dir.File("p.duckdb")}", "--bars-out", dir.File("p-bars.ndjson"), "--alerts-out", dir.File("p-alerts.ndjson"));
        }

        Assert.Equal(replay, CliProcess.SortedLines(dir.File("up-alerts.ndjson")));
        Assert.Equal(replay, CliProcess.SortedLines(dir.File("p-alerts.ndjson")));

        // Every rule fired, and an 'or' whose first comparison's right side (bb.lower) was still undefined wrote a null threshold rather than failing.
        var rules = replay.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("rule").GetString()).ToHashSet();
        Assert.Equal(["band_break", "golden_cross", "rsi_hot", "volume_anomaly", "wide_range"], rules.Order(StringComparer.Ordinal));
        Assert.Contains(replay, l => l.Contains("\"rule\":\"band_break\"", StringComparison.Ordinal) && l.Contains("\"threshold\":null", StringComparison.Ordinal));
    }
}

using System.Text.RegularExpressions;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.TestKit.Nats;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>bench freshness</c> end to end in both faces, briefly: every figure it promises has values (no timing is checked).</summary>
public partial class BenchFreshnessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BenchFreshness_Embedded_ReportsTicksAndAlertsOnTheStreamInTheStoreAndAtTheNotifier()
    {
        using var dir = new TempDir();

        var run = await CliProcess.RunAsync(dir.Path, ["bench", "freshness", "--rates", "1000", "--seconds", "3"], timeoutSeconds: 120);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        foreach (var figure in new[] { "tick → stream", "alert → stream", "alert → store", "alert → notifier" })
        {
            Assert.Matches(Measured(figure), run.Stdout);
        }

        Assert.Matches(@"alert → nats\s+none", run.Stdout); // the in-process bus
        Assert.Contains("goal at 10K ticks/s: not judged", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchFreshness_Kafka_ReportsAlertsAcknowledgedByNats()
    {
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        using var dir = new TempDir();

        var run = await CliProcess.RunAsync(
            dir.Path,
            // 8 s, not 3: under a loaded machine the processor joined its group too late for 3 s to hold a tick (seen once).
            ["bench", "freshness", "--face", "kafka", "--bus", $"kafka://{kafka.BootstrapServers}", "--alerts", nats.Url, "--rates", "1000", "--seconds", "8"],
            timeoutSeconds: 180);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        foreach (var figure in new[] { "tick → stream", "alert → stream", "alert → nats", "alert → notifier" })
        {
            Assert.Matches(Measured(figure), run.Stdout);
        }
    }

    private static Regex Measured(string figure) => new(Regex.Escape(figure) + @"\s+p50 .* \((?!0 )[0-9,]+ (ticks|alerts)\)");
}

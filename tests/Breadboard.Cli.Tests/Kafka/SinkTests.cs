using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.ClickHouse;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.TestKit.ClickHouse;
using Breadboard.TestKit.Flink;
using Breadboard.TestKit.Kafka;
using Breadboard.TestKit.Nats;
using Confluent.Kafka;

namespace Breadboard.Cli.Tests.Kafka;

/// <summary>
/// <c>breadboard sink</c>: Flink's bars and alerts topics (messages shaped as the compiled job's JSON sinks write
/// them) and the tick topics into DuckDB and NATS JetStream, with the real CLI in separate processes.
/// </summary>
public sealed class SinkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sink_FlinkShapedOutputAndTicks_LandInTheStoreAndOnNatsOnce()
    {
        using var dir = new TempDir();
        var (bars, alerts, ticks) = await ReferenceAsync(dir, 60_000);
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        var bus = $"kafka://{kafka.BootstrapServers}";
        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{ticks}");
        await ProduceFlinkOutputAsync(kafka.BootstrapServers, bars, alerts, repeatEvery: 7);

        string[] sink = ["sink", "--bus", bus, "--store", Store(dir, "s"), "--alerts", nats.Url, "--drain", "--idle-timeout", "1", "--session-timeout", "3"];
        await CliProcess.RunSucceedsAsync(dir, sink);
        await CliProcess.RunSucceedsAsync(dir, sink); // again: resumes from its checkpoints, adds nothing

        await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(dir, "s"), "--bars-out", dir.File("s-bars.ndjson"), "--alerts-out", dir.File("s-alerts.ndjson"));
        Assert.Equal(Sorted(bars), CliProcess.SortedLines(dir.File("s-bars.ndjson")));
        Assert.Equal(Sorted(alerts), CliProcess.SortedLines(dir.File("s-alerts.ndjson")));
        Assert.Equal(File.ReadLines(ticks).Count(), await CountTicksAsync(dir.File("s.duckdb")));
        Assert.Equal(AlertIds(alerts), await NatsAlertIdsAsync(dir, nats));
    }

    [Theory]
    [InlineData("duckdb")]
    [InlineData("clickhouse")]
    public async Task Sink_KilledThreeTimesMidStream_StoresAndPublishesEverythingExactlyOnce(string storeKind)
    {
        using var dir = new TempDir();
        var (bars, alerts, ticks) = await ReferenceAsync(dir, 120_000);
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        await using var nats = await NatsServerProcess.StartAsync(Ct);
        await using var clickHouse = storeKind == "clickhouse" ? await ClickHouseServerProcess.StartAsync(Ct) : null;
        var bus = $"kafka://{kafka.BootstrapServers}";
        var store = clickHouse is null ? Store(dir, "killed") : $"clickhouse://127.0.0.1:{clickHouse.HttpPort}/killed";

        // Ticks, bars and alerts keep arriving for ~25 s (1,000 s of event time at 40×) while the sink is killed
        // and restarted; a restarted member waits for the killed one's session to end before it gets partitions.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{ticks}", "--speed", "40"], timeoutSeconds: 180);
        var outputs = ProduceFlinkOutputAsync(kafka.BootstrapServers, bars, alerts, repeatEvery: 0, spreadOver: TimeSpan.FromSeconds(25));
        var random = new Random(2026);
        var partial = 0;
        for (var kill = 0; kill < 3; kill++)
        {
            var info = CliProcess.StartInfo(dir.Path, null, "sink", "--bus", bus, "--store", store, "--alerts", nats.Url, "--session-timeout", "3");
            using var process = Process.Start(info)!;
            var storing = new TaskCompletionSource();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("stored ticks ", StringComparison.Ordinal) == true && !e.Data.StartsWith("stored ticks 0 ", StringComparison.Ordinal))
                {
                    storing.TrySetResult();
                }
            };
            process.BeginOutputReadLine();
            await storing.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            await Task.Delay(random.Next(0, 700), Ct);
            process.Kill(entireProcessTree: true); // SIGKILL, mid-batch or mid-write
            await process.WaitForExitAsync(Ct);
            if (await CountTicksAsync(store) is > 0 and < 120_000)
            {
                partial++;
            }
        }

        Assert.True((await ingest).ExitCode == 0);
        await outputs;
        Assert.True(partial > 0, "no kill landed mid-stream; the input is too small for this machine");
        await CliProcess.RunSucceedsAsync(dir, "sink", "--bus", bus, "--store", store, "--alerts", nats.Url, "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        await CliProcess.RunSucceedsAsync(dir, "export", "--store", store, "--bars-out", dir.File("k-bars.ndjson"), "--alerts-out", dir.File("k-alerts.ndjson"));
        Assert.Equal(Sorted(bars), CliProcess.SortedLines(dir.File("k-bars.ndjson")));
        Assert.Equal(Sorted(alerts), CliProcess.SortedLines(dir.File("k-alerts.ndjson")));
        Assert.Equal(File.ReadLines(ticks).Count(), await CountTicksAsync(store));
        Assert.Equal(AlertIds(alerts), await NatsAlertIdsAsync(dir, nats));
    }

    [Fact]
    public async Task Sink_MalformedBarsAndAlerts_GoToOutputsDlqWithTheReasonAndTheRestIsStored()
    {
        using var dir = new TempDir();
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        const string Good = """{"symbol":"AAPL","window":"1m","window_start":"2026-01-02T10:00:00.000Z","window_end":"2026-01-02T10:01:00.000Z","open":190.0,"high":191.5,"low":1.0E-4,"close":191.0,"volume":1.25E7,"vwap":null,"trades":3}""";
        string[] badBars =
        [
            "not json",
            """{"symbol":"AAPL","window":"1m","window_start":"yesterday","window_end":"2026-01-02T10:01:00.000Z","open":1,"high":1,"low":1,"close":1,"volume":1}""",
            """{"symbol":"AAPL","window":"1m","window_start":"2026-01-02T10:00:00.000Z","window_end":"2026-01-02T10:01:00.000Z","open":1,"high":1e308,"low":1,"close":1,"volume":1}""",
        ];
        string[] badAlerts = ["""{"id":"x","rule":"price_drop"}"""];
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var value in badBars.Append(Good))
            {
                await producer.ProduceAsync("bars", new Message<string, string> { Key = "AAPL|1m|1767348000000", Value = value }, Ct);
            }

            await producer.ProduceAsync("alerts", new Message<string, string> { Key = "x", Value = badAlerts[0] }, Ct);
        }

        await CliProcess.RunSucceedsAsync(dir, "sink", "--bus", $"kafka://{kafka.BootstrapServers}", "--store", Store(dir, "dlq"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        var dead = ReadTopic(kafka.BootstrapServers, "outputs-dlq", 4);
        Assert.Equal(badBars.Concat(badAlerts).Order(StringComparer.Ordinal), dead.Select(d => d.Message.Value).Order(StringComparer.Ordinal));
        var reasons = dead.ToDictionary(d => d.Message.Value, d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes("reason")));
        Assert.StartsWith("not JSON", reasons["not json"], StringComparison.Ordinal);
        Assert.Contains("\"window_start\" must be an ISO-8601 UTC time", reasons[badBars[1]], StringComparison.Ordinal);
        Assert.Equal("\"open\", \"high\", \"low\" and \"close\" must be prices: a number from 1e-15 to 1e15", reasons[badBars[2]]);
        Assert.Contains("\"symbol\" must be a non-empty string", reasons[badAlerts[0]], StringComparison.Ordinal);
        Assert.Equal("alerts", Encoding.UTF8.GetString(dead.Single(d => d.Message.Value == badAlerts[0]).Message.Headers.GetLastBytes("source-topic")));

        await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(dir, "dlq"), "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"));
        var bar = JsonDocument.Parse(Assert.Single(File.ReadAllLines(dir.File("bars.ndjson")))).RootElement;
        Assert.Equal(1.0E-4, bar.GetProperty("low").GetDouble());
        Assert.Equal(12_500_000, bar.GetProperty("volume").GetDouble());
        Assert.Equal(JsonValueKind.Null, bar.GetProperty("vwap").ValueKind);
        Assert.Empty(File.ReadAllLines(dir.File("alerts.ndjson")));
        await using var store = DuckDbStore.Open(dir.File("dlq.duckdb"));
        await store.InitializeAsync(Ct);
        Assert.Equal(4, (await store.ReadCountsAsync(Ct)).Rejects);
    }

    [Fact]
    public async Task Up_WithTheFlinkEngineAndAKafkaBus_FeedsKafkaAndStoresTicksThroughTheSink()
    {
        using var dir = new TempDir();
        var ticks = KafkaPipelineTests.WriteTicks(dir, 5_000, disorder: false);
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        await using var gateway = await FakeFlinkGateway.StartAsync(Ct);
        gateway.Jobs.Add(new FakeFlinkGateway.Job("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "breadboard", "RUNNING", DateTimeOffset.UtcNow));

        var up = await CliProcess.RunAsync(dir.Path, ["up", "--engine", gateway.EngineUrl, "--bus", bus, "--feed", $"replay:{ticks}", "--speed", "1000000", "--no-web", "--store", Store(dir, "up"), "--duration", "8"]);

        Assert.True(up.ExitCode == 0, up.Stdout + up.Stderr);
        Assert.Contains($"→ Flink job ({gateway.EngineUrl}) → sink (group breadboard-sink)", up.Stdout, StringComparison.Ordinal);
        Assert.Contains("flink: job 'breadboard' RUNNING (0f1e2d3c4b5a69788796a5b4c3d2e1f0)", up.Stdout, StringComparison.Ordinal);
        Assert.Equal(5_000, await CountTicksAsync(dir.File("up.duckdb")));
    }

    [Theory]
    [InlineData("up --bus memory:// --no-web", "the Flink engine reads ticks from Kafka")]
    [InlineData("process --bus kafka://127.0.0.1:9", "'process' is the local engine")]
    public async Task FlinkEngine_WhereItCannotRun_OneLineErrorExit2(string command, string expected)
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, [.. command.Split(' '), "--engine", "flink+http://gateway:8083"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: --engine (env BREADBOARD_ENGINE) = 'flink+http://gateway:8083': ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    /// <summary>The local engine's bars and alerts of a synthetic tick file: the output a Flink job of the same pipeline writes.</summary>
    private static async Task<(string[] Bars, string[] Alerts, string Ticks)> ReferenceAsync(TempDir dir, int count)
    {
        var ticks = KafkaPipelineTests.WriteTicks(dir, count, disorder: false);
        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--input", ticks, "--bars-out", dir.File("ref-bars.ndjson"), "--alerts-out", dir.File("ref-alerts.ndjson"));
        var bars = File.ReadAllLines(dir.File("ref-bars.ndjson"));
        var alerts = File.ReadAllLines(dir.File("ref-alerts.ndjson"));
        Assert.NotEmpty(alerts);
        return (bars, alerts, ticks);
    }

    /// <summary>
    /// Writes bars and alerts as the compiled job's Kafka sinks do: key <c>symbol|window|start_ms</c> (or the alert
    /// id), the value's fields in the sink table's column order, doubles in Java's notation. Every
    /// <paramref name="repeatEvery"/>th record is written twice, as a re-read after a crash would see it.
    /// </summary>
    private static async Task ProduceFlinkOutputAsync(string bootstrap, string[] bars, string[] alerts, int repeatEvery, TimeSpan spreadOver = default)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5 }).Build();
        var records = bars.Select(b => ("bars", BarKey(b), FlinkJson(b, BarColumns)))
            .Concat(alerts.Select(a => ("alerts", JsonDocument.Parse(a).RootElement.GetProperty("id").GetString()!, FlinkJson(a, AlertColumns))))
            .ToList();
        var pause = spreadOver == default ? TimeSpan.Zero : spreadOver / Math.Max(1, records.Count / 100);
        for (var i = 0; i < records.Count; i++)
        {
            var (topic, key, value) = records[i];
            producer.Produce(topic, new Message<string, string> { Key = key, Value = value });
            if (repeatEvery > 0 && i % repeatEvery == 0)
            {
                producer.Produce(topic, new Message<string, string> { Key = key, Value = value });
            }

            if (pause > TimeSpan.Zero && i % 100 == 99)
            {
                await Task.Delay(pause, Ct);
            }
        }

        producer.Flush(Ct);
    }

    private static readonly string[] BarColumns = ["symbol", "window", "window_start", "window_end", "open", "high", "low", "close", "volume", "vwap", "trades"];

    private static readonly string[] AlertColumns = ["id", "rule", "symbol", "window", "window_start", "window_end", "value", "threshold", "ts", "pipeline"];

    private static string BarKey(string line)
    {
        var bar = JsonDocument.Parse(line).RootElement;
        var start = DateTimeOffset.Parse(bar.GetProperty("window_start").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        return string.Create(CultureInfo.InvariantCulture, $"{bar.GetProperty("symbol").GetString()}|{bar.GetProperty("window").GetString()}|{start}");
    }

    /// <summary>One of our NDJSON records rewritten in Flink's JSON format: the given column order, doubles as Java writes them.</summary>
    private static string FlinkJson(string line, string[] columns)
    {
        var record = JsonDocument.Parse(line).RootElement;
        var fields = columns.Select(c =>
        {
            var value = record.TryGetProperty(c, out var v) ? v : default;
            var text = value.ValueKind switch
            {
                JsonValueKind.String => JsonSerializer.Serialize(value.GetString()),
                JsonValueKind.Number when c == "trades" => value.GetInt64().ToString(CultureInfo.InvariantCulture),
                JsonValueKind.Number => JavaDouble(value.GetDouble()),
                _ => "null",
            };
            return $"\"{c}\":{text}";
        });
        return "{" + string.Join(',', fields) + "}";
    }

    /// <summary>Java's Double.toString: plain with at least one decimal in [1e-3, 1e7), else d.dddE±n (shortest digits).</summary>
    private static string JavaDouble(double value)
    {
        if (value == 0)
        {
            return "0.0";
        }

        var sign = value < 0 ? "-" : "";
        var abs = Math.Abs(value);
        var roundTrip = abs.ToString("R", CultureInfo.InvariantCulture);
        if (abs is >= 1e-3 and < 1e7)
        {
            return sign + (roundTrip.Contains('.', StringComparison.Ordinal) ? roundTrip : roundTrip + ".0");
        }

        string digits;
        int exponent;
        var e = roundTrip.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            digits = roundTrip[..e].Replace(".", "", StringComparison.Ordinal);
            exponent = int.Parse(roundTrip[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        else
        {
            var point = roundTrip.IndexOf('.', StringComparison.Ordinal) is var p and >= 0 ? p : roundTrip.Length;
            var all = roundTrip.Replace(".", "", StringComparison.Ordinal);
            digits = all.TrimStart('0');
            exponent = point - 1 - (all.Length - digits.Length);
        }

        digits = digits.TrimEnd('0');
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{digits[0]}.{(digits.Length > 1 ? digits[1..] : "0")}E{exponent}");
    }

    private static string[] Sorted(string[] lines) => [.. lines.Order(StringComparer.Ordinal)];

    private static string[] AlertIds(string[] alerts) =>
        [.. alerts.Select(a => JsonDocument.Parse(a).RootElement.GetProperty("id").GetString()!).Order(StringComparer.Ordinal)];

    private static async Task<string[]> NatsAlertIdsAsync(TempDir dir, NatsServerProcess nats)
    {
        var file = dir.File($"nats-{Guid.NewGuid():N}.ndjson");
        await CliProcess.RunSucceedsAsync(dir, "alerts", "replay", "--since", "2000-01-01", "--out", file, "--alerts", nats.Url);
        return [.. File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).Order(StringComparer.Ordinal)];
    }

    private static List<ConsumeResult<string, string>> ReadTopic(string bootstrap, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var read = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (read.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                read.Add(r);
            }
        }

        return read;
    }

    private static string Store(TempDir dir, string name) => $"duckdb://{dir.File(name + ".duckdb")}";

    /// <summary>Ticks in the store at this URL (or DuckDB file), as the API reads them.</summary>
    private static async Task<long> CountTicksAsync(string store)
    {
        await using IMarketStore opened = store.StartsWith("clickhouse://", StringComparison.Ordinal)
            ? ClickHouseStore.Open(store)
            : DuckDbStore.Open(store.StartsWith("duckdb://", StringComparison.Ordinal) ? store["duckdb://".Length..] : store);
        await opened.InitializeAsync(Ct);
        long count = 0;
        await foreach (var _ in opened.QueryTicksAsync(new TickQuery(Limit: int.MaxValue), Ct))
        {
            count++;
        }

        return count;
    }
}

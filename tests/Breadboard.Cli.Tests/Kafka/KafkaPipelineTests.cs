using System.Diagnostics;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;
using Breadboard.TestKit.Kafka;
using Confluent.Kafka;

namespace Breadboard.Cli.Tests.Kafka;

/// <summary>
/// ingest → Kafka (librdkafka's mock cluster, in its own process) → process → DuckDB, with the real CLI in
/// separate processes, as in production but for the broker.
/// </summary>
public class KafkaPipelineTests
{
    private static readonly string[] Topics = ["stock-prices", "crypto-prices", "bars", "alerts", "ticks-dlq", "outputs-dlq"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static async Task<KafkaMockProcess> StartKafkaAsync()
    {
        var kafka = await KafkaMockProcess.StartAsync(cancellationToken: Ct);
        foreach (var topic in Topics)
        {
            await kafka.CreateTopicAsync(topic, topic.EndsWith("-dlq", StringComparison.Ordinal) ? 1 : 6, Ct);
        }

        return kafka;
    }

    [Fact]
    public async Task IngestAndProcess_OrderedFile_GiveExactlyTheBarsAndAlertsOfReplay()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 60_000, disorder: false);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--input", input, "--bars-out", dir.File("replay-bars.ndjson"), "--alerts-out", dir.File("replay-alerts.ndjson"));
        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{input}");
        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store(dir, "p"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");
        await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(dir, "p"), "--bars-out", dir.File("p-bars.ndjson"), "--alerts-out", dir.File("p-alerts.ndjson"));

        Assert.Equal(CliProcess.SortedLines(dir.File("replay-bars.ndjson")), CliProcess.SortedLines(dir.File("p-bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("replay-alerts.ndjson")), CliProcess.SortedLines(dir.File("p-alerts.ndjson")));
        Assert.NotEmpty(CliProcess.SortedLines(dir.File("p-alerts.ndjson")));
    }

    [Fact]
    public async Task Process_KilledThreeTimesAndRestarted_EndsExactlyAsAnUninterruptedRunAndAsTwoConsumers()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 240_000, disorder: true);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        // Ticks keep arriving for ~15 s (2,000 s of event time at 130×) while the processor is killed and
        // restarted, so every kill lands mid-stream whatever the machine's speed.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "130"], timeoutSeconds: 180);

        var random = new Random(2026);
        var partial = 0;
        for (var kill = 0; kill < 3; kill++)
        {
            var info = CliProcess.StartInfo(dir.Path, null, "process", "--bus", bus, "--store", Store(dir, "killed"), "--session-timeout", "3", "--idle-timeout", "60");
            using var process = Process.Start(info)!;
            var consuming = new TaskCompletionSource();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("consumed ", StringComparison.Ordinal) == true && !e.Data.StartsWith("consumed 0 ", StringComparison.Ordinal))
                {
                    consuming.TrySetResult();
                }
            };
            process.BeginOutputReadLine();
            await consuming.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            await Task.Delay(random.Next(0, 700), Ct);
            process.Kill(entireProcessTree: true); // SIGKILL, mid-batch or mid-write
            await process.WaitForExitAsync(Ct);

            var stored = await CountTicks(dir.File("killed.duckdb"));
            if (stored is > 0 and < 240_000)
            {
                partial++;
            }
        }

        var ingested = await ingest;
        Assert.True(ingested.ExitCode == 0, ingested.Stderr);

        // The reference: one uninterrupted processor. Each run uses its own store, and a store without
        // checkpoints reads every partition from the start.
        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store(dir, "whole"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        Assert.True(partial > 0, "no kill landed mid-stream; the input is too small for this machine");
        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store(dir, "killed"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");
        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store(dir, "pair"), "--consumers", "2", "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        foreach (var name in new[] { "whole", "killed", "pair" })
        {
            await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(dir, name), "--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson"));
        }

        var bars = CliProcess.SortedLines(dir.File("whole-bars.ndjson"));
        Assert.NotEmpty(bars);
        Assert.Equal(bars, CliProcess.SortedLines(dir.File("killed-bars.ndjson")));
        Assert.Equal(bars, CliProcess.SortedLines(dir.File("pair-bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("whole-alerts.ndjson")), CliProcess.SortedLines(dir.File("killed-alerts.ndjson")));
        Assert.Equal(CliProcess.SortedLines(dir.File("whole-alerts.ndjson")), CliProcess.SortedLines(dir.File("pair-alerts.ndjson")));

        // Ticks and counts too: nothing lost, nothing stored twice across the kills.
        var whole = await Counts(dir.File("whole.duckdb"));
        Assert.Equal(whole, await Counts(dir.File("killed.duckdb")));
        Assert.True(whole.Late > 0 && whole.Duplicates > 0, $"the input should exercise late and duplicate ticks: {whole}");
        Assert.Equal(await CountTicks(dir.File("whole.duckdb")), await CountTicks(dir.File("killed.duckdb")));
    }

    [Fact]
    public async Task Ingest_KilledTwiceAndRestarted_PublishesEachLineOfTheFileExactlyOnce()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 100_000, disorder: true);
        var text = File.ReadAllLines(input);
        var badLines = new SortedSet<long>();
        for (var i = 7; i < text.Length; i += 997)
        {
            text[i] = $"{{\"symbol\":\"BAD\",\"ts\":\"line {i + 1}\"";
            badLines.Add(i + 1);
        }

        File.WriteAllLines(input, text);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        // ~14 s of publishing at this speed (830 s of event time), so each SIGKILL lands mid-file, with ticks in flight.
        string[] args = ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "60"];
        var random = new Random(23);
        for (var kill = 0; kill < 2; kill++)
        {
            using var process = Process.Start(CliProcess.StartInfo(dir.Path, null, args))!;
            var producing = new TaskCompletionSource();
            var resumed = new TaskCompletionSource<string>();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("resuming ", StringComparison.Ordinal) == true)
                {
                    resumed.TrySetResult(e.Data);
                }

                if (e.Data?.StartsWith("produced ", StringComparison.Ordinal) == true && !e.Data.StartsWith("produced 0 ", StringComparison.Ordinal))
                {
                    producing.TrySetResult();
                }
            };
            process.BeginOutputReadLine();
            await producing.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            Assert.Equal(kill > 0, resumed.Task.IsCompleted);
            await Task.Delay(random.Next(500, 2_000), Ct);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
        }

        var last = await CliProcess.RunAsync(dir.Path, args, timeoutSeconds: 180);
        Assert.True(last.ExitCode == 0, last.Stderr);
        Assert.Contains("resuming ", last.Stdout, StringComparison.Ordinal);

        // Every line of the file on the bus once, the bad ones on the dead-letter topic: none lost to a kill,
        // none published again after one.
        var published = ReadLineHeaders(kafka.BootstrapServers, "stock-prices", "crypto-prices");
        Assert.Equal(Enumerable.Range(1, text.Length).Select(l => (long)l).Where(l => !badLines.Contains(l)), published.Order());
        Assert.Equal(badLines, ReadLineHeaders(kafka.BootstrapServers, "ticks-dlq").Order());
    }

    [Fact]
    public async Task Ingest_FromStart_PublishesTheFileAgain()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 2_000, disorder: false);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{input}");
        var again = await CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}"]);
        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{input}", "--from-start");

        Assert.Contains("produced 0 ", again.Stdout, StringComparison.Ordinal);
        Assert.Equal(4_000, ReadLineHeaders(kafka.BootstrapServers, "stock-prices", "crypto-prices").Count);
    }

    /// <summary>The line header of every message on the topics.</summary>
    private static List<long> ReadLineHeaders(string bootstrap, params string[] topics)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = $"t-{Guid.NewGuid():N}", EnableAutoCommit = false }).Build();
        var lines = new List<long>();
        foreach (var topic in topics)
        {
            for (var partition = 0; partition < (topic.EndsWith("-dlq", StringComparison.Ordinal) ? 1 : 6); partition++)
            {
                var where = new TopicPartition(topic, partition);
                var offsets = consumer.QueryWatermarkOffsets(where, TimeSpan.FromSeconds(10));
                Assert.Equal(0, offsets.Low.Value); // nothing trimmed, so the count is the whole partition
                consumer.Assign(new TopicPartitionOffset(where, Offset.Beginning));
                for (var read = 0L; read < offsets.High.Value; read++)
                {
                    var result = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"{where}: nothing at {read}");
                    Assert.True(result.Message.Headers.TryGetLastBytes(Breadboard.Kafka.SourceProgress.LineHeader, out var line), $"{where}@{result.Offset}: no line header");
                    lines.Add(System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(line));
                }
            }
        }

        return lines;
    }

    [Fact]
    public async Task Up_WithAKafkaBus_RunsIngestAndProcessTogether()
    {
        using var dir = new TempDir();
        var golden = Path.Combine(AppContext.BaseDirectory, "Golden", "ticks.ndjson");
        await using var kafka = await StartKafkaAsync();

        await CliProcess.RunSucceedsAsync(dir, "up", "--bus", $"kafka://{kafka.BootstrapServers}", "--feed", $"replay:{golden}", "--speed", "1000000", "--no-web", "--store", Store(dir, "up"));
        await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(dir, "up"), "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"));

        Assert.Equal(CliProcess.SortedLines(Path.Combine(AppContext.BaseDirectory, "Golden", "expected-bars.ndjson")), CliProcess.SortedLines(dir.File("bars.ndjson")));
        Assert.Equal(CliProcess.SortedLines(Path.Combine(AppContext.BaseDirectory, "Golden", "expected-alerts.ndjson")), CliProcess.SortedLines(dir.File("alerts.ndjson")));
    }

    [Fact]
    public async Task Lag_AfterIngestWithoutProcessing_ReportsEveryMessageBehind()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 5_000, disorder: false);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";
        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{input}");

        var lag = await CliProcess.RunAsync(dir.Path, ["lag", "--bus", bus]);

        Assert.True(lag.ExitCode == 0, lag.Stderr);
        Assert.Contains("max lag: 5,000 messages in all", lag.Stdout, StringComparison.Ordinal);
        Assert.Equal(12, lag.Stdout.Split('\n').Count(l => l.StartsWith("stock-prices", StringComparison.Ordinal) || l.StartsWith("crypto-prices", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Process_MalformedMessages_GoToTheDeadLetterTopicWithTheReason()
    {
        using var dir = new TempDir();
        await using var kafka = await StartKafkaAsync();
        var malformed = new[] { "not json", """{"symbol":"AAPL","ts":1767312000000,"price":1,"volume":1}""", """{"v":2,"symbol":"AAPL","ts":1767312000000,"price":1,"volume":1}""", """{"v":1,"symbol":"AAPL","ts":1767312000000,"price":-1,"volume":1}""" };
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var value in malformed)
            {
                await producer.ProduceAsync("stock-prices", new Message<string, string> { Key = "AAPL", Value = value }, Ct);
            }

            await producer.ProduceAsync("stock-prices", new Message<string, string> { Key = "AAPL", Value = """{"v":1,"symbol":"AAPL","ts":1767312000000,"price":190,"volume":5}""" }, Ct);
        }

        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", $"kafka://{kafka.BootstrapServers}", "--store", Store(dir, "dlq"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
        consumer.Assign(new TopicPartitionOffset("ticks-dlq", 0, Offset.Beginning));
        var dead = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (dead.Count < malformed.Length && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                dead.Add(r);
            }
        }

        Assert.Equal(malformed, dead.Select(d => d.Message.Value));
        Assert.All(dead, d => Assert.False(string.IsNullOrEmpty(Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes("reason")))));
        Assert.Contains("schema version 2", Encoding.UTF8.GetString(dead[2].Message.Headers.GetLastBytes("reason")), StringComparison.Ordinal);
        Assert.Equal("stock-prices", Encoding.UTF8.GetString(dead[0].Message.Headers.GetLastBytes("source-topic")));
        Assert.Equal(malformed.Length, (await Counts(dir.File("dlq.duckdb"))).Rejects);
        Assert.Equal(1, await CountTicks(dir.File("dlq.duckdb")));
    }

    [Fact]
    public async Task Process_TicksFromTheFuture_GoToTheDeadLetterTopicAndTheOthersAreOnTime()
    {
        using var dir = new TempDir();
        await using var kafka = await StartKafkaAsync();
        const long T0 = 1_767_312_000_000; // 2026-01-02
        static string Tick(long ts, int price) => $$"""{"v":1,"symbol":"AAPL","ts":{{ts}},"price":{{price}},"volume":1}""";
        var aheadOfTheClock = Tick(4_084_000_000_000, 1);    // 2099: no trade is from the future
        var jumpAhead = Tick(T0 + (150L * 86_400_000), 2);    // June: in the past, but months ahead of the watermark
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            for (var i = 0; i < 60; i++)
            {
                await producer.ProduceAsync("stock-prices", new Message<string, string> { Key = "AAPL", Value = Tick(T0 + (i * 1_000L), 100 + i) }, Ct);
                if (i is 10 or 20)
                {
                    await producer.ProduceAsync("stock-prices", new Message<string, string> { Key = "AAPL", Value = i == 10 ? aheadOfTheClock : jumpAhead }, Ct);
                }
            }
        }

        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", $"kafka://{kafka.BootstrapServers}", "--store", Store(dir, "future"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
        consumer.Assign(new TopicPartitionOffset("ticks-dlq", 0, Offset.Beginning));
        var dead = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (dead.Count < 2 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                dead.Add(r);
            }
        }

        var reasons = dead.Select(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes("reason"))).ToList();
        Assert.Equal(2, dead.Count);
        Assert.StartsWith("ts 2099-06-01T", reasons[0], StringComparison.Ordinal);
        Assert.Contains("ahead of the wall clock", reasons[0], StringComparison.Ordinal);
        Assert.Contains("jumped more than future.max_jump (1d) ahead of the watermark", reasons[1], StringComparison.Ordinal);
        Assert.Equal(["11", "22"], dead.Select(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes("source-offset"))));
        var counts = await Counts(dir.File("future.duckdb"));
        Assert.Equal((2L, 0L), (counts.Rejects, counts.Late));
        Assert.Equal(60, await CountTicks(dir.File("future.duckdb")));
    }

    [Fact]
    public async Task Ingest_WithABrokerDownAndUp_DeliversEveryTick()
    {
        using var dir = new TempDir();
        var input = WriteTicks(dir, 50_000, disorder: false);
        await using var kafka = await StartKafkaAsync();
        var bus = $"kafka://{kafka.BootstrapServers}";

        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "2000"]);
        await Task.Delay(1_500, Ct);
        await kafka.BrokerDownAsync(1, Ct);
        await Task.Delay(2_000, Ct);
        await kafka.BrokerUpAsync(1, Ct);
        var result = await ingest;
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("delivered 50,000 | failed 0", result.Stdout, StringComparison.Ordinal);

        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store(dir, "after"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");
        Assert.Equal(50_000, await CountTicks(dir.File("after.duckdb")));
    }

    private static string Store(TempDir dir, string name) => $"duckdb://{dir.File(name + ".duckdb")}";

    private static async Task<long> CountTicks(string path)
    {
        await using var store = DuckDbStore.Open(path);
        await store.InitializeAsync(Ct);
        long count = 0;
        await foreach (var _ in store.QueryTicksAsync(new TickQuery(Limit: int.MaxValue), Ct))
        {
            count++;
        }

        return count;
    }

    private static async Task<PipelineCounts> Counts(string path)
    {
        await using var store = DuckDbStore.Open(path);
        await store.InitializeAsync(Ct);
        return await store.ReadCountsAsync(Ct);
    }

    /// <summary>Synthetic ticks; with disorder, some delayed (late or out of order) and some delivered twice.</summary>
    internal static string WriteTicks(TempDir dir, int count, bool disorder)
    {
        var options = SyntheticFeedOptions.ForBenchmark(12) with { RatePerSecond = 120, Seed = 9 };
        var ticks = new SyntheticFeed(options).Generate(count).ToList();
        var output = new List<Tick>(count + (count / 100));
        var random = new Random(17);
        foreach (var tick in ticks)
        {
            var roll = disorder ? random.Next(1000) : 999;
            output.Add(roll < 5 ? tick with { Ts = tick.Ts - random.Next(1_000, 400_000) } : tick);
            if (roll is >= 5 and < 10)
            {
                output.Add(tick);
            }
        }

        var path = dir.File("ticks.ndjson");
        using var file = File.Create(path);
        TickFileWriter.WriteNdjson(file, output);
        return path;
    }
}

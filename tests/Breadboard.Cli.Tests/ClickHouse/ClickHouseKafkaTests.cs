using System.Diagnostics;
using System.Globalization;
using System.Text;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.ClickHouse;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Kafka;
using Breadboard.TestKit.ClickHouse;
using Breadboard.TestKit.Kafka;

namespace Breadboard.Cli.Tests.ClickHouse;

/// <summary>
/// ingest → Kafka (librdkafka's mock cluster) → <c>process</c> → ClickHouse, every part a separate process. Unlike
/// DuckDB, a ClickHouse store takes writes from several processes, so group members can live in different processes
/// and one can be killed while the others keep writing.
/// </summary>
public sealed class ClickHouseKafkaTests
{
    private const int TickCount = 240_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Process_TwoProcessesOnClickHouse_OneKilledRepeatedly_EndsExactlyAsOneUninterruptedRun()
    {
        var started = Stopwatch.StartNew();
        await using var rig = await Rig.StartAsync();
        var (dir, input, bus) = (rig.Dir, rig.Input, rig.Bus);

        // Ticks keep arriving for ~27 s (2,000 s of event time at 75×) while one member is killed and restarted
        // three times and the other keeps running, so every kill lands mid-stream.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "75"], timeoutSeconds: 180);
        var random = new Random(2026);
        var midStream = 0;
        var victim = CliBackground.Start(dir.Path, rig.Processor("killed", "--idle-timeout", "60"));
        try
        {
            await using var survivor = CliBackground.Start(dir.Path, rig.Processor("killed", "--idle-timeout", "60"));
            await survivor.WaitForLineAsync(IsAWrite, TimeSpan.FromSeconds(60));
            for (var kill = 0; kill < 3; kill++)
            {
                await victim.WaitForLineAsync(IsAWrite, TimeSpan.FromSeconds(60));
                await Task.Delay(random.Next(0, 1_000), Ct); // anywhere in a 1 s flush cycle: mid-batch or mid-insert
                await victim.DisposeAsync(); // SIGKILL

                var stored = (await TicksAsync(rig.Http, "killed")).Count;
                Log($"kill {kill + 1} at {started.Elapsed.TotalSeconds:F1} s: {stored:N0} ticks stored, ingest {(ingest.IsCompleted ? "done" : "running")}");
                if (!ingest.IsCompleted && stored is > 0 and < TickCount)
                {
                    midStream++;
                }

                // Restarted at once; after the third kill it stays, as the second member, until the input ends.
                victim = CliBackground.Start(dir.Path, rig.Processor("killed", "--idle-timeout", "60"));
            }

            var ingested = await ingest;
            Assert.True(ingested.ExitCode == 0, ingested.Stderr);
            Assert.True(survivor.IsRunning, "the surviving member stopped: " + survivor.Output);
            Log($"ingest done at {started.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            // Both members die too (SIGKILL); the drain run below finishes from their checkpoints.
            await victim.DisposeAsync();
        }

        Assert.True(midStream > 0, "no kill landed mid-stream; the input is too short for this machine");
        await AssertSameAsOneUninterruptedRunAsync(rig, "killed");
        Log($"{started.Elapsed.TotalSeconds:F1} s in all");
    }

    [Fact]
    public async Task Process_AMemberPausedPastItsSessionRepeatedly_EndsExactlyAsOneUninterruptedRun()
    {
        await using var rig = await Rig.StartAsync();
        var (dir, input, bus) = (rig.Dir, rig.Input, rig.Bus);

        // A member that stops answering (a long GC pause, a frozen VM: SIGSTOP here) is dropped from the group and
        // its partitions move on while it still holds ticks it took and did not write. It wakes up holding them,
        // finds its session over and rejoins; the other member has read the same input again. Unlike a killed
        // member it comes back: nothing it held may be stored or counted on top of what the other wrote.
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", bus, "--feed", $"replay:{input}", "--speed", "50"], timeoutSeconds: 180);
        var random = new Random(2027);
        await using (var paused = CliBackground.Start(dir.Path, rig.Processor("paused", "--idle-timeout", "60")))
        await using (var other = CliBackground.Start(dir.Path, rig.Processor("paused", "--idle-timeout", "60")))
        {
            await paused.WaitForLineAsync(IsAWrite, TimeSpan.FromSeconds(60));
            for (var pause = 0; pause < 3; pause++)
            {
                await Task.Delay(random.Next(500, 2_500), Ct);
                paused.Signal("STOP");
                await Task.Delay(9_000, Ct); // past the 3 s session and the 2 s the group waits for members to rejoin: the other member takes the partitions and goes on
                paused.Signal("CONT");
                Log($"pause {pause + 1} over: ingest {(ingest.IsCompleted ? "done" : "running")}");
            }

            var ingested = await ingest;
            Assert.True(ingested.ExitCode == 0, ingested.Stderr);
            Assert.True(paused.IsRunning && other.IsRunning, "a member stopped: " + paused.Output + other.Output);
        }

        await AssertSameAsOneUninterruptedRunAsync(rig, "paused");
    }

    [Fact]
    public async Task Process_ResumingAfterACrashBetweenTheTicksAndTheCheckpoint_TakesTheStoredTicksAgain()
    {
        using var dir = new TempDir();
        var all = File.ReadAllLines(KafkaPipelineTests.WriteTicks(dir, 20_000, disorder: false));
        File.WriteAllLines(dir.File("first.ndjson"), all[..10_000]);
        File.WriteAllLines(dir.File("second.ndjson"), all[10_000..]);
        await using var server = await ClickHouseServerProcess.StartAsync(Ct);
        await using var kafka = await KafkaPipelineTests.StartKafkaAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var bus = $"kafka://{kafka.BootstrapServers}";
        string Store(string database) => $"clickhouse://127.0.0.1:{server.HttpPort}/{database}";

        // "crashed" checkpoints the first half; then the second half's ticks land in it without a checkpoint: what
        // a processor killed between a batch's ticks insert and its checkpoint insert leaves behind.
        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{dir.File("first.ndjson")}");
        await using (var member = CliBackground.Start(dir.Path, ["process", "--bus", bus, "--store", Store("crashed"), "--session-timeout", "3", "--idle-timeout", "60"]))
        {
            await member.WaitForLineAsync(line => line.StartsWith("consumed 10,000 ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }

        await CliProcess.RunSucceedsAsync(dir, "ingest", "--bus", bus, "--feed", $"replay:{dir.File("second.ndjson")}");
        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store("whole"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");
        await SqlAsync(http, "INSERT INTO crashed.ticks SELECT * FROM whole.ticks");

        await CliProcess.RunSucceedsAsync(dir, "process", "--bus", bus, "--store", Store("crashed"), "--drain", "--idle-timeout", "1", "--session-timeout", "3");

        foreach (var name in new[] { "whole", "crashed" })
        {
            await CliProcess.RunSucceedsAsync(dir, "export", "--store", Store(name), "--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson"));
        }

        Assert.Equal(CliProcess.SortedLines(dir.File("whole-bars.ndjson")), CliProcess.SortedLines(dir.File("crashed-bars.ndjson")));
        Assert.Equal(await CountsAsync(Store("whole")), await CountsAsync(Store("crashed")));
        Assert.Equal(await TicksAsync(http, "whole"), await TicksAsync(http, "crashed"));
    }

    [Fact]
    public async Task Process_AMemberStuckInAWriteWhileTheGroupMovesItsPartitions_WritesThemLate_AndNothingIsCountedTwice()
    {
        await using var rig = await Rig.StartAsync();
        var (dir, input, busUrl) = (rig.Dir, rig.Input, rig.Bus);

        // Members of one group in this process, so that one can be held inside a store write: what a member on a
        // loaded machine (or a slow store) looks like to the group. It cannot rejoin from there, and after 2 s the
        // group goes on without it: some of its partitions move, and their new owners resume from the checkpoints
        // it has not replaced yet. Then its write goes through, late, with ticks the new owners read again.
        await using var store = ClickHouseStore.Open(rig.Store("stuck"));
        await store.InitializeAsync(Ct);
        var gated = new GatedStore(store);
        var bus = new KafkaBusOptions { BootstrapServers = rig.Kafka.BootstrapServers };
        var options = ProcessorOptions.Default with { SessionTimeout = TimeSpan.FromSeconds(3), IdleTimeout = TimeSpan.FromSeconds(60) };
        TickProcessor NewMember(IMarketStore into) => new(bus, PipelineDefinition.Default, into, null, new PipelineStats(), options);

        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", busUrl, "--feed", $"replay:{input}", "--speed", "50"], timeoutSeconds: 180);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var first = NewMember(store);
        using var stuck = NewMember(gated);
        var runs = new List<Task> { first.RunAsync(stop.Token) };
        var joiners = new List<(TickProcessor Member, CancellationTokenSource Stop)>();
        try
        {
            await WaitUntilAsync(() => first.Lag.Count > 0, "the first member has no partitions");
            runs.Add(stuck.RunAsync(stop.Token));
            await WaitUntilAsync(() => stuck.Lag.Count > 0 && gated.Writes > 0, "the second member has not written");

            gated.Close();
            await WaitUntilAsync(() => gated.Holding, "the second member is not writing");
            var held = stuck.Lag.Select(l => (l.Topic, l.Partition)).ToHashSet();
            List<PartitionLag> Moved() => [.. joiners.Select(j => j.Member).Prepend(first).SelectMany(m => m.Lag).Where(l => held.Contains((l.Topic, l.Partition)))];

            // A member joins and the group rebalances without the stuck one. Which partitions move is up to the
            // assignor; when none did, that member leaves again and another joins, for a different split.
            for (var attempt = 1; Moved().Count == 0; attempt++)
            {
                Assert.True(attempt <= 5, "none of the stuck member's partitions moved in 4 rebalances");
                if (joiners.Count > 0)
                {
                    await joiners[^1].Stop.CancelAsync();
                }

                var joiner = NewMember(store);
                var leave = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                joiners.Add((joiner, leave));
                runs.Add(joiner.RunAsync(leave.Token));
                var clock = Stopwatch.StartNew();
                while (Moved().Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
                {
                    await Task.Delay(100, Ct);
                }
            }

            await Task.Delay(2_000, Ct); // the new owners write on from the old checkpoints
            Log($"moved while stuck: {string.Join(", ", Moved().Select(l => $"{l.Topic}:{l.Partition}"))}");
            gated.Open();

            var ingested = await ingest;
            Assert.True(ingested.ExitCode == 0, ingested.Stderr);
            await Task.Delay(3_000, Ct); // the group settles; the drain below reads whatever is left
        }
        finally
        {
            gated.Open();
            await stop.CancelAsync();
            await Task.WhenAll(runs);
            foreach (var (member, leave) in joiners)
            {
                member.Dispose();
                leave.Dispose();
            }
        }

        await AssertSameAsOneUninterruptedRunAsync(rig, "stuck");
    }

    /// <summary>A member's progress line once it has partitions and has written to the store.</summary>
    private static bool IsAWrite(string line) => line.StartsWith("consumed ", StringComparison.Ordinal) && !line.StartsWith("consumed 0 ", StringComparison.Ordinal);

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), failure);
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>
    /// Drains <paramref name="database"/> from its checkpoints and compares it with one uninterrupted processor
    /// into its own database ("whole", no checkpoints: every partition from the start): bars, alerts, ticks and
    /// counts, every difference at once.
    /// </summary>
    private static async Task AssertSameAsOneUninterruptedRunAsync(Rig rig, string database)
    {
        var (dir, http) = (rig.Dir, rig.Http);
        await CliProcess.RunSucceedsAsync(dir, rig.Processor("whole", "--drain", "--idle-timeout", "1"));
        await CliProcess.RunSucceedsAsync(dir, rig.Processor(database, "--drain", "--idle-timeout", "1"));
        foreach (var name in new[] { "whole", database })
        {
            await CliProcess.RunSucceedsAsync(dir, "export", "--store", rig.Store(name), "--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson"));
        }

        var bars = CliProcess.SortedLines(dir.File("whole-bars.ndjson"));
        var alerts = CliProcess.SortedLines(dir.File("whole-alerts.ndjson"));
        var ticks = await TicksAsync(http, "whole");
        var counts = await CountsAsync(rig.Store("whole"));
        Assert.NotEmpty(bars);
        Assert.NotEmpty(alerts);
        Assert.True(counts.Late > 0 && counts.Duplicates > 0, $"the input should exercise late and duplicate ticks: {counts}");

        var otherTicks = await TicksAsync(http, database);
        var otherCounts = await CountsAsync(rig.Store(database));
        Log($"ticks: whole {ticks}, {database} {otherTicks}; counts: whole {counts}, {database} {otherCounts}");
        Assert.Multiple(
            () => Assert.Equal(bars, CliProcess.SortedLines(dir.File($"{database}-bars.ndjson"))),
            () => Assert.Equal(alerts, CliProcess.SortedLines(dir.File($"{database}-alerts.ndjson"))),
            () => Assert.Equal(ticks, otherTicks),
            () => Assert.Equal(counts, otherCounts));
    }

    private static async Task SqlAsync(HttpClient http, string sql)
    {
        using var response = await http.PostAsync(new Uri("/", UriKind.Relative), new StringContent(sql, Encoding.UTF8), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>The stored ticks as a count and an order-free fingerprint of their keys.</summary>
    private static async Task<(long Count, ulong Fingerprint)> TicksAsync(HttpClient http, string database)
    {
        var sql = $"SELECT count(), sum(cityHash64(symbol, ts, trade_id, price, volume)) FROM {database}.ticks FINAL FORMAT TabSeparated";
        using var response = await http.PostAsync(new Uri("/", UriKind.Relative), new StringContent(sql, Encoding.UTF8), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var fields = body.Trim().Split('\t');
        return (long.Parse(fields[0], CultureInfo.InvariantCulture), ulong.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    private static async Task<PipelineCounts> CountsAsync(string store)
    {
        await using var clickHouse = ClickHouseStore.Open(store);
        return await clickHouse.ReadCountsAsync(Ct);
    }

    /// <summary>What the long tests run against: a ClickHouse server, the Kafka mock with the pipeline's topics, and an input file of disordered ticks with duplicates.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private Rig(TempDir dir, ClickHouseServerProcess server, KafkaMockProcess kafka)
        {
            (Dir, Server, Kafka) = (dir, server, kafka);
            Http = new HttpClient { BaseAddress = new Uri(server.Url) };
            Input = KafkaPipelineTests.WriteTicks(dir, TickCount, disorder: true);
        }

        public TempDir Dir { get; }

        public ClickHouseServerProcess Server { get; }

        public KafkaMockProcess Kafka { get; }

        /// <summary>ClickHouse's HTTP interface, for SQL.</summary>
        public HttpClient Http { get; }

        public string Input { get; }

        public string Bus => $"kafka://{Kafka.BootstrapServers}";

        public static async Task<Rig> StartAsync()
        {
            var dir = new TempDir();
            var server = await ClickHouseServerProcess.StartAsync(Ct);
            return new Rig(dir, server, await KafkaPipelineTests.StartKafkaAsync());
        }

        public string Store(string database) => $"clickhouse://127.0.0.1:{Server.HttpPort}/{database}";

        /// <summary>A <c>process</c> command line into <paramref name="database"/>, with a 3 s session.</summary>
        public string[] Processor(string database, params string[] more) => ["process", "--bus", Bus, "--store", Store(database), "--session-timeout", "3", .. more];

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Kafka.DisposeAsync();
            await Server.DisposeAsync();
            Dir.Dispose();
        }
    }

    /// <summary>A real store whose writes can be held at the door, with the batch in hand.</summary>
    private sealed class GatedStore(IMarketStore inner) : IMarketStore
    {
        private TaskCompletionSource? _gate;
        private int _writes, _holding;

        /// <summary>Writes that went through.</summary>
        public int Writes => Volatile.Read(ref _writes);

        /// <summary>A write is waiting at the closed gate.</summary>
        public bool Holding => Volatile.Read(ref _holding) > 0;

        public void Close() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Open() => Volatile.Read(ref _gate)?.TrySetResult();

        public async ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _gate) is { Task.IsCompleted: false } gate)
            {
                Interlocked.Increment(ref _holding);
                await gate.Task.WaitAsync(cancellationToken);
                Interlocked.Decrement(ref _holding);
            }

            await inner.WriteAsync(batch, cancellationToken);
            Interlocked.Increment(ref _writes);
        }

        public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

        public IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default) => inner.QueryBarsAsync(query, cancellationToken);

        public IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default) => inner.QueryAlertsAsync(query, cancellationToken);

        public IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default) => inner.QueryTicksAsync(query, cancellationToken);

        public IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default) => inner.QuerySymbolsAsync(cancellationToken);

        public ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default) => inner.ReadCountsAsync(cancellationToken);

        public ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default) => inner.LoadCheckpointAsync(key, cancellationToken);

        public ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default) => inner.WriteBatchRunAsync(run, cancellationToken);

        public IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default) => inner.QueryBatchRunsAsync(limit, cancellationToken);

        public ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default) => inner.WritePipelineAsync(pipeline, cancellationToken);

        public ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default) => inner.LoadPipelineAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the inner store is the caller's
    }
}

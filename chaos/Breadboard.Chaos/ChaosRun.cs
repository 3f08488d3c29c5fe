using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Breadboard.ClickHouse;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb;
using Breadboard.Kafka;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;
using Breadboard.TestKit.Kafka;
using Breadboard.TestKit.Nats;

namespace Breadboard.Chaos;

/// <summary>The settings of one run.</summary>
/// <param name="Faults">False for a soak: the same run without faults.</param>
/// <param name="Replicated">ClickHouse as three replicas with ZooKeeper (the seed's layout), not one server.</param>
internal sealed record ChaosOptions(TimeSpan Duration, int Seed, double Rate, string Directory, bool Faults = true, bool Replicated = true);

/// <summary>
/// Starts the production face on this machine, feeds it a file at the run's rate while faults land on every part
/// of it, then drains it and checks the end state against a replay of the same file.
/// </summary>
internal sealed class ChaosRun(ChaosOptions options)
{
    private const string Secret = "chaos-webhook-secret";

    /// <summary>
    /// The built-in pipeline plus a 10 s window whose rule fires on every bar, so that alerts flow all through the
    /// run (one per symbol every 10 s) and meet every fault, not only at the end.
    /// </summary>
    private static readonly string Pipeline = PipelineLoader.ToYaml(PipelineDefinition.Default with
    {
        Windows = [.. PipelineDefinition.Default.Windows, WindowDefinition.Tumbling("10s", 10_000)],
        Rules = [.. PipelineDefinition.Default.Rules, RuleDefinition.PriceChange("every_10s_bar", "10s", ComparisonOp.GreaterOrEqual, -100)],
    });

    private const int Partitions = 24;
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(6);
    private readonly Stopwatch _clock = new();
    private readonly List<Check> _checks = [];

    private string Dir => options.Directory;

    private string File(string name) => Path.Combine(Dir, name);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Dir, "logs"));
        var faults = options.Faults ? FaultPlan.Draw(options.Duration, SessionTimeout, options.Seed, options.Replicated) : [];
        Say($"chaos: {options.Duration.TotalMinutes:F1} min at {options.Rate:N0} ticks/s, seed {options.Seed}, {(options.Faults ? $"{faults.Count} faults" : "no faults (soak)")}, in {Dir}");
        Say("schedule:");
        foreach (var fault in faults)
        {
            Say("  " + fault);
        }

        var input = InputFile.Write(File("input.ndjson"), options.Rate, options.Duration, options.Seed);
        await System.IO.File.WriteAllTextAsync(File("pipeline.yaml"), Pipeline, cancellationToken);
        var pipeline = File("pipeline.yaml");
        Say($"input: {input.Lines:N0} lines ({input.Ticks:N0} ticks, {input.Malformed:N0} malformed)");

        await using var kafka = await KafkaMockProcess.StartAsync(3, cancellationToken);
        // librdkafka's mock keeps only the last 5 MiB of each partition (a real broker keeps days): spread over 24
        // partitions a topic holds minutes of ticks at 10K/s, more than the worst lag the faults cause, so that what
        // is checked is the pipeline, not the mock's retention (which processors now report as lost if it bites).
        foreach (var topic in new[] { "stock-prices", "crypto-prices", "bars", "alerts" })
        {
            await kafka.CreateTopicAsync(topic, Partitions, cancellationToken);
        }

        await kafka.CreateTopicAsync("ticks-dlq", 1, cancellationToken);
        await kafka.CreateTopicAsync("outputs-dlq", 1, cancellationToken);
        using var watch = new BusWatch(kafka.BootstrapServers, KafkaBusOptions.TickTopics, Partitions);
        await using var nats = await NatsServerProcess.StartAsync(cancellationToken);
        await using var clickHouse = await ChaosClickHouse.StartAsync(options.Replicated, line => Say("cluster: " + line), cancellationToken);
        await using var webhook = await WebhookSink.StartAsync(Secret);
        var bus = $"kafka://{kafka.BootstrapServers}?partitions={Partitions}";
        const string Database = "chaos";
        var store = clickHouse.StoreUrl(Database);
        var apiPort = ServerProcess.FreePort();
        Say($"servers: kafka {kafka.BootstrapServers} (pid {kafka.ProcessId}), {nats.Url}, {clickHouse.Description}, webhook {webhook.Url}");

        var environment = new Dictionary<string, string>
        {
            ["BREADBOARD_WEBHOOK_URL"] = webhook.Url.ToString(),
            ["BREADBOARD_WEBHOOK_SECRET"] = Secret,
            ["DOTNET_gcServer"] = "0",
        };
        if (await RunOnceAsync("migrate", ["store", "migrate", "--store", store], environment, TimeSpan.FromMinutes(2)) is { } migrateError)
        {
            Say("FAIL setup: " + migrateError);
            return 1;
        }

        // The idle timeout is longer than any outage: a partition quiet because ingest is down must not move its
        // event time on with the clock, which a replay of the file (the reference) never does.
        string[] Processor(int healthPort) => ["process", "--bus", bus, "--store", store, "--alerts", nats.Url, "--pipeline", pipeline, "--session-timeout", SessionTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture), "--idle-timeout", "3600", "--health-urls", $"http://127.0.0.1:{healthPort}"];
        int[] healthPorts = [ServerProcess.FreePort(), ServerProcess.FreePort()];
        var members = new Dictionary<string, Member>
        {
            ["ingest"] = new("ingest", Dir, ["ingest", "--bus", bus, "--feed", $"replay:{File("input.ndjson")}", "--speed", "1"], environment),
            ["process-a"] = new("process-a", Dir, Processor(healthPorts[0]), environment),
            ["process-b"] = new("process-b", Dir, Processor(healthPorts[1]), environment),
            ["notify"] = new("notify", Dir, ["notify", "--channel", "webhook", "--alerts", nats.Url, "--from", "beginning", "--repeat-interval", "0s", "--group-wait", "0s", "--ack-wait", "10s"], environment),
            ["api"] = new("api", Dir, ["api", "--bus", bus, "--store", store, "--alerts", nats.Url, "--urls", $"http://127.0.0.1:{apiPort}"], environment),
        };
        var names = members.Keys.ToList();
        var report = new Report(names);
        try
        {
            _clock.Start();
            foreach (var member in members.Values)
            {
                member.Start();
            }

            // Faults start once `doctor` finds every backend as it should be (the processors create the NATS streams).
            var checkedUp = Stopwatch.StartNew();
            string? doctorError;
            while ((doctorError = await RunOnceAsync("doctor", ["doctor", "--bus", bus, "--store", store, "--alerts", nats.Url], environment, TimeSpan.FromMinutes(1))) is not null && checkedUp.Elapsed < TimeSpan.FromMinutes(1))
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }

            if (doctorError is not null)
            {
                Add(new Check("doctor", false, $"the face was not healthy a minute after its start: {doctorError}"));
                return Finish(new Report(names));
            }

            Say($"doctor: every backend ok after {checkedUp.Elapsed.TotalSeconds:F1} s (logs/doctor.log); faults start now");
            _clock.Restart();
            using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sampler = SampleAsync(members, names, report, apiPort, healthPorts, sampling.Token);
            var faultRuns = new List<Task>();
            var random = new Random(options.Seed);
            foreach (var fault in faults)
            {
                var wait = fault.At - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                report.Event(_clock.Elapsed.TotalSeconds, $"{fault.Kind.Name} for {fault.For.TotalSeconds:F1} s");
                Say($"{_clock.Elapsed.TotalSeconds,6:F1} s  fault: {fault.Kind.Name} for {fault.For.TotalSeconds:F1} s");
                faultRuns.Add(InjectAsync(fault, members, kafka, nats, clickHouse, webhook, random.Next(1, 4), cancellationToken));
            }

            await Task.WhenAll(faultRuns);
            if (_clock.Elapsed < options.Duration)
            {
                await Task.Delay(options.Duration - _clock.Elapsed, cancellationToken);
            }

            webhook.Set(WebhookSink.Mode.Accept);
            report.EndOfLoad(_clock.Elapsed.TotalSeconds);
            Say($"{_clock.Elapsed.TotalSeconds,6:F1} s  faults over; waiting for ingest to publish the rest of the file");
            var ingested = await members["ingest"].WaitForExitAsync(TimeSpan.FromMinutes(5) + options.Duration);
            Add(new Check("ingest", ingested && members["ingest"].Finished, ingested ? $"published the whole file ({members["ingest"].Starts} starts)" : "still running 5 min after the run's end"));

            // The long-running members stop as an operator stops them; one drain closes the last windows, as
            // replay does at the end of its input.
            Say($"{_clock.Elapsed.TotalSeconds,6:F1} s  draining");
            await members["process-a"].StopAsync(TimeSpan.FromSeconds(60));
            await members["process-b"].StopAsync(TimeSpan.FromSeconds(60));
            if (await RunOnceAsync("drain", ["process", "--bus", bus, "--store", store, "--alerts", nats.Url, "--pipeline", pipeline, "--drain", "--idle-timeout", "3", "--session-timeout", SessionTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)], environment, TimeSpan.FromMinutes(10)) is { } drainError)
            {
                Add(new Check("drain", false, drainError));
            }

            Say($"{_clock.Elapsed.TotalSeconds,6:F1} s  replaying the same file, partition by partition, for the reference");
            if (await ReplayReferenceAsync(pipeline, environment) is { } replayError)
            {
                Add(new Check("reference", false, replayError));
                return Finish(report);
            }

            var referenceAlerts = System.IO.File.ReadAllLines(File("reference-alerts.ndjson")).Select(AlertId).ToHashSet();
            Say($"{_clock.Elapsed.TotalSeconds,6:F1} s  waiting for the webhook to receive the {referenceAlerts.Count:N0} reference alerts");
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromMinutes(2) && !referenceAlerts.IsSubsetOf(webhook.Accepted.SelectMany(d => d.AlertIds)))
            {
                await Task.Delay(500, cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken); // a repeat in flight has its chance to show
            await sampling.CancelAsync();
            await sampler;
            report.Write(Dir); // now, so that a check that throws does not take the samples with it
            foreach (var name in new[] { "notify", "api" })
            {
                await members[name].StopAsync(TimeSpan.FromSeconds(30));
            }

            await System.IO.File.WriteAllLinesAsync(File("webhook-deliveries.csv"), ["accepted_at,delivery_id,alert_ids", .. webhook.Accepted.Select(d => $"{d.At:O},{d.Id},{string.Join(' ', d.AlertIds)}")], cancellationToken);
            watch.Finish(TimeSpan.FromMinutes(2));
            await VerifyAsync(store, nats.Url, kafka.BootstrapServers, watch, referenceAlerts, webhook, members, report, cancellationToken);
            if (await clickHouse.ReplicasAgreeAsync(Database, TimeSpan.FromMinutes(3), cancellationToken) is { } replicas)
            {
                Add(replicas);
            }

            return Finish(report);
        }
        finally
        {
            foreach (var member in members.Values)
            {
                await member.DisposeAsync();
            }
        }
    }

    private async Task VerifyAsync(string store, string natsUrl, string bootstrap, BusWatch watch, HashSet<string> referenceAlerts, WebhookSink webhook, Dictionary<string, Member> members, Report report, CancellationToken cancellationToken)
    {
        var exported = await RunOnceAsync("export", ["export", "--store", store, "--bars-out", File("stored-bars.ndjson"), "--alerts-out", File("stored-alerts.ndjson")], new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
        if (exported is not null)
        {
            Add(new Check("export", false, exported));
        }
        else
        {
            Add(Checks.SameLines("bars", File("reference-bars.ndjson"), File("stored-bars.ndjson")));
            Add(Checks.SameLines("alerts", File("reference-alerts.ndjson"), File("stored-alerts.ndjson")));
        }

        long referenceTicks = 0;
        ulong referencePrint = 0;
        var want = default(Core.Seams.PipelineCounts);
        var wantByPartition = new Dictionary<string, Core.Seams.PipelineCounts>(StringComparer.Ordinal);
        foreach (var path in System.IO.Directory.GetFiles(File("reference"), "*.duckdb"))
        {
            await using var reference = DuckDbStore.Open(path);
            await reference.InitializeAsync(cancellationToken);
            var (ticks, print) = await Checks.TicksAsync(reference, cancellationToken);
            var counts = await reference.ReadCountsAsync(cancellationToken);
            (referenceTicks, referencePrint) = (referenceTicks + ticks, referencePrint + print);
            want = new Core.Seams.PipelineCounts(want.Rejects + counts.Rejects, want.Late + counts.Late, want.Duplicates + counts.Duplicates);
            wantByPartition[Path.GetFileNameWithoutExtension(path)] = counts;
        }

        await using var stored = ClickHouseStore.Open(store);
        var (storedTicks, storedPrint) = await Checks.TicksAsync(stored, cancellationToken);
        Add(new Check("ticks", referenceTicks == storedTicks && referencePrint == storedPrint, $"reference {referenceTicks:N0}, stored {storedTicks:N0}, {(referencePrint == storedPrint ? "same" : "different")} contents"));

        var got = await stored.ReadCountsAsync(cancellationToken);
        var deadLetters = Checks.DeadLetteredLines(bootstrap);
        // Lines the mock's bus holds twice are duplicates the processors rightly count and the file does not have (BusWatch).
        var countsHold = want.Late == got.Late && want.Duplicates + watch.TotalRepeats == got.Duplicates && want.Rejects == got.Rejects + deadLetters;
        Add(new Check(
            "counts",
            countsHold,
            $"late {got.Late:N0} (reference {want.Late:N0}), duplicates {got.Duplicates:N0} (reference {want.Duplicates:N0} + {watch.TotalRepeats:N0} lines the mock bus holds twice, of {watch.Messages:N0} read), rejects {got.Rejects:N0} stored + {deadLetters:N0} dead-lettered by ingest (reference {want.Rejects:N0}){(countsHold ? "" : await PartitionsDifferingAsync(stored, wantByPartition, watch, cancellationToken))}"));

        Add(Checks.OncePerAlert("ALERTS stream", referenceAlerts, await Checks.StreamAlertIdsAsync(natsUrl, cancellationToken)));
        Add(Checks.Webhook(referenceAlerts, [.. webhook.Accepted], webhook.BadSignatures, _notifierKills, await Checks.StreamCountAsync(natsUrl, "ALERTS_DEAD", cancellationToken)));

        var lost = System.IO.Directory.GetFiles(Path.Combine(Dir, "logs"), "*.log").SelectMany(System.IO.File.ReadLines).Where(l => l.Contains("are no longer on the broker", StringComparison.Ordinal)).ToList();
        Add(new Check("kafka retention", lost.Count == 0, lost.Count == 0 ? "no partition's position was deleted before it was read" : $"{lost.Count} times a processor found its position deleted by the broker's retention (librdkafka's mock keeps 5 MiB per partition); first: {lost[0]}"));

        var crashes = members.Values.SelectMany(m => m.UnexpectedExits.Select(e => $"{m.Name} {e}")).ToList();
        Add(new Check("processes", crashes.Count == 0, crashes.Count == 0 ? "none exited by itself but ingest at the end of its file" : string.Join("; ", crashes)));

        var growth = new List<string>();
        for (var i = 0; i < report.Members.Count; i++)
        {
            var (early, late) = (report.Median(i, 0.25, 0.5), report.Median(i, 0.75, 1.0));
            growth.Add(string.Create(CultureInfo.InvariantCulture, $"{report.Members[i]} peak {report.Peak(i):F0} MB (median {early:F0} → {late:F0})"));
            // Shorter than the pipeline's dedup horizon (10 minutes), a run ends with its trade ids still filling
            // up: growth is then reported, not judged, since it cannot be told from an unbounded one.
            if (late > (early * 2) + 100 && options.Duration >= TimeSpan.FromMilliseconds(PipelineDefinition.Default.DedupHorizonMs))
            {
                Add(new Check("memory", false, $"{report.Members[i]} grew from {early:F0} to {late:F0} MB (median of the second and last quarter)"));
            }
        }

        Add(new Check("memory", true, string.Join(", ", growth)));
        Add(new Check("lag", true, string.Create(CultureInfo.InvariantCulture, $"worst partition's lag peaked at {report.MaxLag:F1} s")));
    }

    private int _notifierKills;

    private async Task InjectAsync(FaultPlan.Fault fault, Dictionary<string, Member> members, KafkaMockProcess kafka, NatsServerProcess nats, ChaosClickHouse clickHouse, WebhookSink webhook, int broker, CancellationToken cancellationToken)
    {
        var name = fault.Kind.Name;
        try
        {
            if (name.StartsWith("kill ", StringComparison.Ordinal) && members.TryGetValue(name[5..], out var member))
            {
                if (member.Finished)
                {
                    return; // ingest already published the whole file
                }

                if (member.Name == "notify")
                {
                    Interlocked.Increment(ref _notifierKills);
                }

                await member.KillAsync();
                await Task.Delay(fault.For, cancellationToken);
                member.Start();
            }
            else if (name.StartsWith("pause ", StringComparison.Ordinal))
            {
                var paused = members[name[6..]];
                paused.Pause();
                await Task.Delay(fault.For, cancellationToken);
                paused.Resume();
            }
            else if (name == "kill nats-server")
            {
                await nats.KillAsync();
                await Task.Delay(fault.For, cancellationToken);
                await nats.RestartAsync(cancellationToken);
            }
            else if (ChaosClickHouse.FaultKinds(clickHouse.Replicated).Any(k => k.Name == name))
            {
                await clickHouse.InjectAsync(name, broker, fault.For, cancellationToken);
            }
            else if (name == "broker down")
            {
                await kafka.BrokerDownAsync(broker, cancellationToken);
                await Task.Delay(fault.For, cancellationToken);
                await kafka.BrokerUpAsync(broker, cancellationToken);
            }
            else if (name.StartsWith("webhook ", StringComparison.Ordinal))
            {
                webhook.Set(name.EndsWith("500", StringComparison.Ordinal) ? WebhookSink.Mode.Fail : WebhookSink.Mode.Hang);
                await Task.Delay(fault.For, cancellationToken);
                webhook.Set(WebhookSink.Mode.Accept);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Add(new Check($"fault {name}", false, $"could not be injected or undone: {e.Message}"));
        }
    }

    private async Task SampleAsync(Dictionary<string, Member> members, List<string> names, Report report, int apiPort, int[] healthPorts, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var alertDelays = new AlertDelays();
        while (!cancellationToken.IsCancellationRequested)
        {
            double? lag = null;
            try
            {
                using var status = await http.GetFromJsonAsync<JsonDocument>($"http://127.0.0.1:{apiPort}/api/pipeline", cancellationToken);
                if (status!.RootElement.TryGetProperty("bus", out var busStatus) && busStatus.TryGetProperty("lag_seconds", out var l) && l.ValueKind == JsonValueKind.Number)
                {
                    lag = l.GetDouble();
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                // The api is down (killed) or slow: a gap in the plot.
            }

            for (var i = 0; i < healthPorts.Length; i++)
            {
                try
                {
                    alertDelays.Read(i, await http.GetStringAsync(new Uri($"http://127.0.0.1:{healthPorts[i]}/metrics"), cancellationToken));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // A processor down or frozen: its histograms start again with it.
                }
            }

            var (toStore, toNats) = alertDelays.TakeIntervalMeans();
            report.Sample(_clock.Elapsed.TotalSeconds, [.. names.Select(n => members[n].ResidentMegabytes())], lag, toStore, toNats);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Where stored late and duplicate counts differ from the reference, partition by partition: the processors' checkpoints against each partition's replay.</summary>
    private static async Task<string> PartitionsDifferingAsync(ClickHouseStore stored, Dictionary<string, Core.Seams.PipelineCounts> reference, BusWatch watch, CancellationToken cancellationToken)
    {
        var differing = new List<string>();
        foreach (var (name, want) in reference.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                continue; // "unreadable": no partition
            }

            var partition = new Confluent.Kafka.TopicPartition($"{name[..dash]}-prices", int.Parse(name[(dash + 1)..], CultureInfo.InvariantCulture));
            var key = $"kafka:{partition.Topic}:{partition.Partition.Value}";
            var got = (await stored.LoadCheckpointAsync(key, cancellationToken))?.Counts ?? default;
            var repeats = watch.Repeats.GetValueOrDefault(partition);
            if (got.Late != want.Late || got.Duplicates != want.Duplicates + repeats)
            {
                differing.Add($"{key} late {got.Late:N0}/{want.Late:N0} duplicates {got.Duplicates:N0}/{want.Duplicates:N0}+{repeats:N0}");
            }
        }

        return differing.Count == 0 ? "; no partition's checkpoint differs" : $"; stored/reference by partition: {string.Join(", ", differing)}";
    }

    /// <summary>
    /// The reference: <c>replay</c> of the input split the way the bus splits it, one file per partition, each
    /// with its own watermark, as the Kafka face's engines have (docs/ENGINE.md: "per partition on Kafka, per file
    /// in replay"). Replayed whole, one watermark over every symbol closes a window earlier than a partition's
    /// does, and a delayed tick right at a window's end is late in one and on time in the other. Bars and alerts
    /// are gathered into <c>reference-bars.ndjson</c> and <c>reference-alerts.ndjson</c>; ticks and counts stay in
    /// one DuckDB file per partition under <c>reference/</c>. Null when every replay succeeded.
    /// </summary>
    private async Task<string?> ReplayReferenceAsync(string pipeline, IReadOnlyDictionary<string, string> environment)
    {
        var directory = File("reference");
        System.IO.Directory.CreateDirectory(directory);
        var writers = new Dictionary<string, StreamWriter>(StringComparer.Ordinal);
        try
        {
            foreach (var line in System.IO.File.ReadLines(File("input.ndjson")))
            {
                var name = PartitionFileOf(line);
                if (!writers.TryGetValue(name, out var writer))
                {
                    writers[name] = writer = new StreamWriter(Path.Combine(directory, name + ".ndjson"));
                }

                writer.WriteLine(line);
            }
        }
        finally
        {
            foreach (var writer in writers.Values)
            {
                await writer.DisposeAsync();
            }
        }

        using var bars = System.IO.File.CreateText(File("reference-bars.ndjson"));
        using var alerts = System.IO.File.CreateText(File("reference-alerts.ndjson"));
        foreach (var name in writers.Keys.Order(StringComparer.Ordinal))
        {
            var input = Path.Combine(directory, name);
            if (await RunOnceAsync("reference", ["replay", "-q", "--pipeline", pipeline, "--input", input + ".ndjson", "--bars-out", input + ".bars", "--alerts-out", input + ".alerts", "--store", $"duckdb://{input}.duckdb"], environment, TimeSpan.FromMinutes(10)) is { } error)
            {
                return $"{name}: {error}";
            }

            await bars.WriteAsync(await System.IO.File.ReadAllTextAsync(input + ".bars"));
            await alerts.WriteAsync(await System.IO.File.ReadAllTextAsync(input + ".alerts"));
        }

        return null;
    }

    /// <summary>The partition a line's tick goes to on the bus (as <c>ingest</c> sends it), or "unreadable".</summary>
    private static string PartitionFileOf(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var symbol = json.RootElement.GetProperty("symbol").GetString();
            var crypto = json.RootElement.TryGetProperty("asset_class", out var asset) && asset.GetString() == "crypto";
            return string.IsNullOrEmpty(symbol) ? "unreadable" : string.Create(CultureInfo.InvariantCulture, $"{(crypto ? "crypto" : "stock")}-{SourceProgress.PartitionOf(symbol, Partitions):D2}");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "unreadable";
        }
    }

    /// <summary>Runs a command to its end; null when it exited 0, else what went wrong.</summary>
    private async Task<string?> RunOnceAsync(string name, string[] args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        await using var member = new Member(name, Dir, args, environment);
        member.Start();
        if (!await member.WaitForExitAsync(timeout))
        {
            return $"breadboard {args[0]} did not finish within {timeout.TotalMinutes:F0} min (logs/{name}.log)";
        }

        return member.Finished ? null : $"breadboard {args[0]} failed: {string.Join("; ", member.UnexpectedExits)} (logs/{name}.log)";
    }

    private int Finish(Report report)
    {
        report.Write(Dir);
        Say("");
        foreach (var check in _checks)
        {
            Say(check.ToString());
        }

        var failed = _checks.Count(c => !c.Held);
        if (failed == 0)
        {
            // The input and the reference are for inspecting a failure; a passing run keeps its logs and report.
            System.IO.File.Delete(File("input.ndjson"));
            System.IO.Directory.Delete(File("reference"), recursive: true);
        }

        Say(failed == 0 ? $"chaos: every check held; report in {Dir}" : $"chaos: {failed} check(s) failed; the run's directory is kept: {Dir}");
        return failed == 0 ? 0 : 1;
    }

    private void Add(Check check)
    {
        lock (_checks)
        {
            _checks.Add(check);
        }
    }

    private void Say(string line)
    {
        Console.WriteLine(line);
        System.IO.File.AppendAllText(File("chaos.log"), line + Environment.NewLine);
    }

    private static string AlertId(string line)
    {
        using var json = JsonDocument.Parse(line);
        return json.RootElement.GetProperty("id").GetString()!;
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Kafka;
using Breadboard.Notify;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using Breadboard.Runtime.Faces;
using Breadboard.Runtime.Sources;
using Breadboard.Web.Live;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench freshness</c>: runs a face in this process on the synthetic feed at each rate and reports
/// the <see cref="Freshness"/> histograms (tick → dashboard stream; window close → alert on the stream, in the
/// store, acknowledged by NATS, delivered by a notifier), as p50/p99/max, with the goal's verdict at 10K ticks/s.
/// </summary>
/// <remarks>
/// The dashboard's stream is a <see cref="LiveHub"/> flushed every 100 ms as the web server does, with one client
/// that reads every message (it also gives the outside view: a tick summary's trade time to its arrival, as a
/// WebSocket client would time it). Alerts reach the hub through the alert bus's dashboard subscription, and one
/// notifier (no grouping, no repeat interval) delivers them to a channel that accepts at once. The outside view of
/// an alert is the wall clock when the hub gets it minus its window's end plus the out-of-orderness (the earliest
/// moment it could fire, as an outside observer would reckon it), which also counts what comes before this
/// process receives the closing tick (the feed's 10 ms batches; through Kafka the producer's linger and the fetch).
/// </remarks>
internal static class FreshnessBench
{
    /// <summary>A pipeline whose one rule fires on every 1 s bar of every symbol, so each run has alerts to time.</summary>
    private const string FiringPipeline = """
        version: 1
        out_of_orderness: 0s
        dedup_horizon: 1m
        windows:
          - name: "1s"
            type: tumbling
            size: 1s
        aggregates: [open, high, low, close, volume, vwap, trades]
        rules:
          - name: every_bar
            window: "1s"
            type: price_change
            op: ">="
            threshold_percent: -100
        """;

    private static readonly double Goal = 0.250;

    public static Command Create()
    {
        var face = new Option<string>("--face") { Description = "embedded (in-process engine) or kafka (feed → Kafka → in-process processor; needs --bus kafka://… and --alerts nats://…).", DefaultValueFactory = _ => "embedded" };
        var rates = new Option<string>("--rates") { Description = "Comma-separated synthetic ticks/s, one run each.", DefaultValueFactory = _ => "1000,10000,50000" };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds per rate (after a 5 s warm-up).", DefaultValueFactory = _ => 30 };
        var symbols = new Option<int>("--symbols") { Description = "Synthetic symbols (each fires one alert a second with the built-in pipeline).", DefaultValueFactory = _ => 8 };
        var pipeline = CommandRunner.PipelineOption();
        pipeline.Description = "Pipeline definition; default: one rule that fires on every 1 s bar of every symbol.";
        var command = new Command("freshness", "Tick → dashboard stream and window close → alert (stream, store, NATS, notifier) delays: p50/p99/max per rate.")
        {
            face, rates, seconds, symbols, pipeline,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var faceName = parse.GetValue(face);
            if (faceName is not ("embedded" or "kafka"))
            {
                throw new SettingException($"--face '{faceName}': embedded or kafka");
            }

            var rateList = new List<double>();
            foreach (var part in parse.GetValue(rates)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || r <= 0)
                {
                    throw new SettingException($"--rates: '{part}' is not a positive number");
                }

                rateList.Add(r);
            }

            var measured = parse.GetValue(seconds);
            if (measured < 1)
            {
                throw new SettingException("--seconds must be at least 1");
            }

            var path = parse.GetValue(pipeline);
            var definition = string.IsNullOrEmpty(path) ? PipelineLoader.Parse(FiringPipeline, "bench freshness") : CommandRunner.LoadPipeline(path);
            var feed = SyntheticFeedOptions.ForBenchmark(Math.Max(1, parse.GetValue(symbols)));
            return await RunAsync(parse, faceName!, definition, feed, rateList, TimeSpan.FromSeconds(measured), cancellationToken);
        }));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, string face, PipelineDefinition definition, SyntheticFeedOptions feed, List<double> rates, TimeSpan measured, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("breadboard-bench-freshness-");
        try
        {
            await using var store = DuckDbStore.Open(Path.Combine(dir.FullName, "bench.duckdb"));
            await store.InitializeAsync(cancellationToken);
            await using var alerts = await AlertSeam.OpenAsync(parse, cancellationToken);
            var kafka = face == "kafka" ? Backends.KafkaBus(parse) : null;
            if (kafka is not null)
            {
                await KafkaTopics.EnsureAsync(kafka, cancellationToken);
            }

            // One group and one store for every rate: each rate's processor resumes where the last one stopped.
            var group = $"bench-freshness-{Guid.NewGuid():N}";
            var alertsShown = Seams.Alerts.Shown(parse);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"bench freshness: {face} face{(kafka is null ? "" : $" ({kafka.BootstrapServers}, group {group})")}, alerts {alertsShown}, {feed.Symbols.Count} symbols, pipeline {definition.Digest()} ({definition.Rules.Count} rules), {measured.TotalSeconds:F0} s per rate after 5 s warm-up; {Environment.ProcessorCount} cores"));
            using var recorder = new Recorder();
            var verdicts = new List<string>();
            foreach (var rate in rates)
            {
                var result = await RunRateAsync(face, definition, feed with { RatePerSecond = rate, Seed = feed.Seed + (long)rate }, store, alerts, kafka, group, recorder, measured, cancellationToken);
                Print(rate, result);
                if (Math.Abs(rate - 10_000) < 0.5)
                {
                    verdicts.AddRange(Verdict(result, alerts.Bus is Nats.NatsAlertBus));
                }
            }

            if (verdicts.Count == 0)
            {
                Console.WriteLine("goal at 10K ticks/s: not judged (--rates has no 10000)");
            }
            else
            {
                Console.WriteLine("goal at 10K ticks/s (p99 < 250 ms):");
                foreach (var v in verdicts)
                {
                    Console.WriteLine("  " + v);
                }
            }

            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<RateResult> RunRateAsync(
        string face, PipelineDefinition definition, SyntheticFeedOptions feed, DuckDbStore store, AlertSeam alerts, KafkaBusOptions? kafka, string group, Recorder recorder, TimeSpan measured, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopReaders = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var since = DateTimeOffset.UtcNow;
        var hub = new LiveHub(definition);
        using var client = hub.Connect();
        var outside = new OutsideView();
        var reading = outside.ReadAsync(client, stopReaders.Token);
        var flushing = FlushTicksAsync(hub, stopReaders.Token);
        var watching = WatchAsync(alerts.WatchAsync(since, stopReaders.Token), hub, outside, definition.OutOfOrdernessMs);
        var notifier = new AlertNotifier(
            new AcceptingChannel(),
            alerts.Transport(AcceptingChannel.ChannelName, since, NullLogger.Instance),
            null,
            NotifierOptions.Default with { Policy = new NoisePolicyOptions { RepeatInterval = TimeSpan.Zero, GroupWait = TimeSpan.Zero }, Rules = definition.Rules },
            TimeProvider.System,
            NullLogger.Instance);
        var notifying = notifier.RunAsync(stopReaders.Token);

        Task running;
        PipelineStats stats;
        TickProcessor? processor = null;
        if (kafka is null)
        {
            var pipeline = new EmbeddedPipeline(definition, store, alerts.Bus, EmbeddedPipelineOptions.Default, hub);
            stats = pipeline.Stats;
            running = pipeline.RunAsync(new SyntheticFeed(feed).RunLiveAsync(stop.Token), stop.Token);
        }
        else
        {
            stats = new PipelineStats();
            processor = new TickProcessor(kafka, definition, store, alerts.Bus, stats, ProcessorOptions.Default with { GroupId = group, IdleTimeout = TimeSpan.FromSeconds(2), SessionTimeout = TimeSpan.FromSeconds(3) }, hub);
            running = RunThroughKafkaAsync(kafka, processor, stats, feed, stop.Token);
        }

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            if (processor is not null)
            {
                // A new group reads the topics from the start: what earlier runs left on them is caught up first.
                var waited = Stopwatch.StartNew();
                long behind;
                while ((behind = processor.Lag.Sum(l => l.LagMessages)) > feed.RatePerSecond && waited.Elapsed < TimeSpan.FromMinutes(2))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
                }

                if (waited.Elapsed > TimeSpan.FromSeconds(1))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  (caught up a backlog on the topics for {waited.Elapsed.TotalSeconds:F0} s before measuring; {behind:N0} messages behind now)"));
                }
            }

            recorder.Reset();
            outside.Reset();
            var ticksBefore = stats.Ticks;
            var clock = Stopwatch.StartNew();
            await Task.Delay(measured, cancellationToken);
            var result = new RateResult(recorder.Snapshot(), outside.Snapshot(), (stats.Ticks - ticksBefore) / clock.Elapsed.TotalSeconds, clock.Elapsed);
            await stop.CancelAsync();
            await running;
            return result;
        }
        finally
        {
            await stop.CancelAsync();
            await stopReaders.CancelAsync();
            await Quietly(running);
            await Quietly(reading);
            await Quietly(flushing);
            await Quietly(watching);
            await Quietly(notifying);
            processor?.Dispose();
        }
    }

    /// <summary>What <c>up --bus kafka://</c> does: the feed produced to Kafka while the processor consumes in this process.</summary>
    private static async Task RunThroughKafkaAsync(KafkaBusOptions kafka, TickProcessor processor, PipelineStats stats, SyntheticFeedOptions feed, CancellationToken cancellationToken)
    {
        using var source = new FeedTickSource("synthetic feed", new SyntheticFeed(feed).RunLiveAsync(cancellationToken), stop: cancellationToken);
        await PipelineFace.ProduceWhileConsumingAsync(kafka, stats, source, processor.RunAsync, cancellationToken);
    }

    /// <summary>The web server's 100 ms flush of tick summaries (LiveService).</summary>
    private static async Task FlushTicksAsync(LiveHub hub, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            hub.FlushTicks();
        }
    }

    /// <summary>The dashboard's alert subscription, as <c>up</c> has it: each alert to the hub.</summary>
    private static async Task WatchAsync(IAsyncEnumerable<Alert> alerts, LiveHub hub, OutsideView outside, long outOfOrdernessMs)
    {
        await foreach (var alert in alerts)
        {
            hub.OnAlert(alert);
            outside.AlertShown(alert, outOfOrdernessMs);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private static void Print(double rate, RateResult r)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rate:N0} ticks/s: engine took {r.TicksPerSecond:N0} ticks/s over {r.Elapsed.TotalSeconds:F0} s"));
        Console.WriteLine(Row("tick → stream", r.Values.Ticks, "ticks"));
        foreach (var stage in new[] { "stream", "store", "nats", "notifier" })
        {
            Console.WriteLine(Row($"alert → {stage}", r.Values.Alerts.GetValueOrDefault(stage) ?? [], "alerts"));
        }

        Console.WriteLine(Row("outside: earliest close → alert", r.Outside.Alerts, "alerts"));
        Console.WriteLine(Row("outside: trade time → client", r.Outside.Delays, "tick items") + string.Create(CultureInfo.InvariantCulture, $"; {r.Outside.Messages / r.Elapsed.TotalSeconds:F1} ticks messages/s, {r.Outside.Items / r.Elapsed.TotalSeconds:F0} items/s"));
    }

    private static string Row(string name, List<double> values, string unit)
    {
        if (values.Count == 0)
        {
            return $"  {name,-32} none";
        }

        values.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"  {name,-32} p50 {Ms(Percentile(values, 0.50)),8} p99 {Ms(Percentile(values, 0.99)),8} max {Ms(values[^1]),8}  ({values.Count:N0} {unit})");
    }

    private static IEnumerable<string> Verdict(RateResult r, bool nats)
    {
        yield return Check("tick → stream", r.Values.Ticks);
        yield return Check("alert → stream", r.Values.Alerts.GetValueOrDefault("stream") ?? []);
        yield return nats ? Check("alert → NATS", r.Values.Alerts.GetValueOrDefault("nats") ?? []) : "alert → NATS: not measured (the alerts went to memory://; give --alerts nats://…)";
    }

    private static string Check(string name, List<double> values)
    {
        if (values.Count == 0)
        {
            return $"{name}: nothing measured";
        }

        values.Sort();
        var p99 = Percentile(values, 0.99);
        return string.Create(CultureInfo.InvariantCulture, $"{name}: p99 {Ms(p99)} over {values.Count:N0}: {(p99 < Goal ? "met" : "NOT met")}");
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Ms(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:F1} ms");

    private sealed record RateResult(Samples Values, OutsideSamples Outside, double TicksPerSecond, TimeSpan Elapsed);

    private sealed record Samples(List<double> Ticks, Dictionary<string, List<double>> Alerts);

    private sealed record OutsideSamples(List<double> Delays, List<double> Alerts, long Messages, long Items);

    /// <summary>Every value the freshness histograms record, in this process, through a <see cref="MeterListener"/>.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _gate = new();
        private List<double> _ticks = [];
        private Dictionary<string, List<double>> _alerts = [];

        public Recorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == Freshness.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>(OnMeasurement);
            _listener.Start();
        }

        private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            lock (_gate)
            {
                if (instrument.Name == Freshness.TickToStreamName)
                {
                    _ticks.Add(value);
                    return;
                }

                var stage = tags.Length > 0 ? tags[0].Value as string ?? "?" : "?";
                if (!_alerts.TryGetValue(stage, out var list))
                {
                    _alerts[stage] = list = [];
                }

                list.Add(value);
            }
        }

        public void Reset()
        {
            lock (_gate)
            {
                _ticks = [];
                _alerts = [];
            }
        }

        public Samples Snapshot()
        {
            lock (_gate)
            {
                var samples = new Samples(_ticks, _alerts);
                Reset();
                return samples;
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A dashboard client's view: each tick summary's trade time to when the client read it (the wall clock).</summary>
    private sealed class OutsideView
    {
        private readonly Lock _gate = new();
        private List<double> _delays = [];
        private List<double> _alerts = [];
        private long _messages, _items;

        /// <summary>An alert on the stream: the wall clock minus the earliest moment it could fire (window end plus the allowed out-of-orderness).</summary>
        public void AlertShown(Alert alert, long outOfOrdernessMs)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            lock (_gate)
            {
                _alerts.Add(Math.Max(0, now - alert.WindowEnd - outOfOrdernessMs) / 1000.0);
            }
        }

        public async Task ReadAsync(LiveClient client, CancellationToken cancellationToken)
        {
            await foreach (var message in client.Messages.ReadAllAsync(cancellationToken))
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                using var json = JsonDocument.Parse(message);
                if (json.RootElement.GetProperty("type").GetString() != "ticks")
                {
                    continue;
                }

                lock (_gate)
                {
                    _messages++;
                    foreach (var item in json.RootElement.GetProperty("items").EnumerateArray())
                    {
                        var ts = DateTimeOffset.Parse(item.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
                        _delays.Add(Math.Max(0, now - ts) / 1000.0);
                        _items++;
                    }
                }
            }
        }

        public void Reset()
        {
            lock (_gate)
            {
                (_delays, _alerts, _messages, _items) = ([], [], 0, 0);
            }
        }

        public OutsideSamples Snapshot()
        {
            lock (_gate)
            {
                var samples = new OutsideSamples(_delays, _alerts, _messages, _items);
                Reset();
                return samples;
            }
        }
    }

    /// <summary>A notification channel that accepts at once: the notifier's own delay, without a receiver's.</summary>
    private sealed class AcceptingChannel : INotificationChannel
    {
        public const string ChannelName = "bench-freshness";

        public string Name => ChannelName;

        public Task SendAsync(Notification notification, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

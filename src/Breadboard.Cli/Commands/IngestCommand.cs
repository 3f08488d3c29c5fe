using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Streaming;
using Breadboard.Feeds.Synthetic;
using Breadboard.Kafka;
using Breadboard.Runtime.Sources;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard ingest</c>: a feed published to the Kafka bus (the seed's producer).</summary>
internal static class IngestCommand
{
    public static Command Create()
    {
        var feedOption = new Option<string>("--feed") { Description = FeedSettings.Choices + ".", DefaultValueFactory = _ => "synthetic" };
        var speed = new Option<double?>("--speed") { Description = "With replay:FILE, the multiple of event time to publish at; default as fast as possible." };
        var symbols = new Option<string?>("--symbols") { Description = "Comma-separated symbols of the synthetic or live feed." };
        var rate = new Option<double>("--rate") { Description = "Synthetic ticks per second, across symbols.", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic feed.", DefaultValueFactory = _ => 42 };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds." };
        var fromStart = new Option<bool>("--from-start") { Description = "With replay:FILE, publish every line again; by default a restarted ingest of the same file skips the lines the bus already holds." };
        var healthUrls = WorkerHealth.Option();
        var command = new Command("ingest", "Publish a feed to the Kafka bus: topics stock-prices and crypto-prices, keyed by symbol.")
        {
            feedOption, speed, symbols, rate, seed, duration, fromStart, healthUrls,
        };
        var liveOptions = new LiveFeedRun.Options();
        liveOptions.AddTo(command);

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var bus = Backends.KafkaBus(parse);
            var feedSetting = parse.GetValue(feedOption)!;
            var stats = new PipelineStats();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(duration) is { } seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            var replayPath = FeedSettings.ReplayPath(feedSetting);
            var live = LiveFeedRun.IsVenue(feedSetting) ? LiveFeedRun.Create(feedSetting, parse.GetValue(symbols), parse, liveOptions, CommandRunner.Logger("feed")) : null;
            if (replayPath is not null && !File.Exists(replayPath))
            {
                throw new SettingException($"--feed {feedSetting}: no such file");
            }

            await using var health = await WorkerHealth.StartAsync(parse, healthUrls, "ingest", cancellationToken);
            await Backends.EnsureTopicsAsync(parse, bus, cancellationToken);

            // A file's lines carry its id and their number, so that a restart after a crash publishes each line once.
            var sourceId = replayPath is null ? null : SourceIdOf(replayPath);
            var published = sourceId is null || parse.GetValue(fromStart) ? null : await ReadProgressAsync(parse, bus, sourceId, cancellationToken);
            if (published is { HighestLine: > 0 })
            {
                Console.WriteLine($"resuming {replayPath}: the bus holds its lines up to {published} (skipped)");
            }

            using var producer = new TickProducer(bus);
            using var file = replayPath is null ? null : new FileTickSource(replayPath, new FileSourceOpts { Speed = parse.GetValue(speed), Skip = published is null ? null : published.Published }, stop.Token);
            var sourceBytes = sourceId is null ? null : System.Text.Encoding.UTF8.GetBytes(sourceId);

            // A file's bad lines go to the dead-letter topic with their reason, once: a resumed run skips those there.
            void DeadLetterOnce(Reject reject)
            {
                if (published?.RejectPublished(sourceId!, reject.Line) != true)
                {
                    producer.DeadLetter(sourceId!, reject.Line, reject.Raw, reject.Reason);
                }
            }

            var feed = live is not null ? live.Feed.RunAsync(stop.Token)
                : file is not null ? SourceTicks.ReadAllAsync(file, stats, DeadLetterOnce, stop.Token)
                : new SyntheticFeed(FeedSettings.Synthetic(parse.GetValue(rate), parse.GetValue(seed), parse.GetValue(symbols))).RunLiveAsync(stop.Token);

            // Backfilled bars go straight to the store: the bus carries trades, and these minutes had none.
            await using var store = live is not null && live.BackfillProvider != "none" ? await Backends.OpenStoreAsync(parse, cancellationToken) : null;
            var backfilling = live?.BackfillAsync(store, CommandRunner.Logger("backfill"), cancellationToken) ?? Task.CompletedTask;
            Console.WriteLine($"breadboard ingest: {live?.Describe() ?? feedSetting} → {bus.BootstrapServers} ({KafkaBusOptions.StockTopic}, {KafkaBusOptions.CryptoTopic})");
            if (health is not null)
            {
                Console.WriteLine(health.Line);
            }


            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            health?.Ready();
            try
            {
                await foreach (var tick in feed.WithCancellation(stop.Token))
                {
                    // The enumeration is synchronous between ticks, so the file's line is this tick's.
                    producer.Produce(in tick, file is null ? null : SourceProgress.HeadersFor(sourceBytes!, file.Line));
                    if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
                    {
                        lastReport = clock.Elapsed;
                        Console.WriteLine(Progress(producer, stats, clock.Elapsed));
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl-C or --duration: flush what was produced.
            }

            health?.Stopping();
            var inFlight = producer.Flush(TimeSpan.FromSeconds(30));
            await backfilling;
            Console.WriteLine($"done: {Progress(producer, stats, clock.Elapsed)}{(inFlight > 0 ? $"; {inFlight} still undelivered after 30 s" : "")}");
            if (producer.Failed > 0 || inFlight > 0)
            {
                await Console.Error.WriteLineAsync($"error: {producer.Failed} ticks were not delivered ({producer.LastError}); {inFlight} undelivered");
                return 1;
            }

            return 0;
        }));
        return command;
    }

    /// <summary>A file's id on the bus: its name and length, so that the same file under another path resumes, and a changed one does not.</summary>
    private static string SourceIdOf(string path) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}:{new FileInfo(path).Length}");

    private static async Task<SourceProgress> ReadProgressAsync(ParseResult parse, KafkaBusOptions bus, string sourceId, CancellationToken cancellationToken)
    {
        try
        {
            return await SourceProgress.ReadAsync(bus, sourceId, cancellationToken);
        }
        catch (KafkaSetupException e)
        {
            throw new SettingException($"{Seams.Bus.Describe(Seams.Bus.Resolve(parse))}: {e.Message}");
        }
    }

    private static string Progress(TickProducer producer, PipelineStats stats, TimeSpan elapsed) => string.Create(
        CultureInfo.InvariantCulture,
        $"produced {producer.Produced:N0} ({producer.Produced / Math.Max(elapsed.TotalSeconds, 0.001):N0}/s) | delivered {producer.Delivered:N0} | failed {producer.Failed:N0} | rejects {stats.Rejects:N0} ({producer.DeadLettered:N0} to {KafkaBusOptions.DeadLetterTopic})");
}

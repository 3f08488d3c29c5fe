using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
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
        var healthUrls = WorkerHealth.Option();
        var command = new Command("ingest", "Publish a feed to the Kafka bus: topics stock-prices and crypto-prices, keyed by symbol.")
        {
            feedOption, speed, symbols, rate, seed, duration, healthUrls,
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
            using var file = replayPath is null ? null : new FileTickSource(replayPath, new FileSourceOpts { Speed = parse.GetValue(speed) }, stop.Token);
            var feed = live is not null ? live.Feed.RunAsync(stop.Token)
                : replayPath is not null ? SourceTicks.ReadAllAsync(file!, stats, stop.Token)
                : new SyntheticFeed(FeedSettings.Synthetic(parse.GetValue(rate), parse.GetValue(seed), parse.GetValue(symbols))).RunLiveAsync(stop.Token);

            await using var health = await WorkerHealth.StartAsync(parse, healthUrls, "ingest", cancellationToken);
            await Backends.EnsureTopicsAsync(parse, bus, cancellationToken);
            // Backfilled bars go straight to the store: the bus carries trades, and these minutes had none.
            await using var store = live is not null && live.BackfillProvider != "none" ? await Backends.OpenStoreAsync(parse, cancellationToken) : null;
            var backfilling = live?.BackfillAsync(store, CommandRunner.Logger("backfill"), cancellationToken) ?? Task.CompletedTask;
            using var producer = new TickProducer(bus);
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
                    producer.Produce(in tick);
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

    private static string Progress(TickProducer producer, PipelineStats stats, TimeSpan elapsed) => string.Create(
        CultureInfo.InvariantCulture,
        $"produced {producer.Produced:N0} ({producer.Produced / Math.Max(elapsed.TotalSeconds, 0.001):N0}/s) | delivered {producer.Delivered:N0} | failed {producer.Failed:N0} | rejects {stats.Rejects:N0}");
}

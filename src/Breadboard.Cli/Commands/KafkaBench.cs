using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Kafka;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench kafka</c>: sustained ingest → Kafka → process → DuckDB in one process, at a target rate or
/// as fast as it goes; reports ticks/s produced and processed and the worst consumer lag.
/// </summary>
internal static class KafkaBench
{
    public static Command Create()
    {
        var rate = new Option<double>("--rate") { Description = "Target ticks/s; 0 produces as fast as possible.", DefaultValueFactory = _ => 0 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds.", DefaultValueFactory = _ => 60 };
        var symbols = new Option<int>("--symbols") { Description = "Synthetic symbols.", DefaultValueFactory = _ => 50 };
        var command = new Command("kafka", "Sustained ingest → Kafka → process → store: ticks/s and max consumer lag (needs --bus kafka://…).") { rate, seconds, symbols };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(() => RunAsync(Backends.KafkaBus(parse), parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(symbols), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(KafkaBusOptions bus, double rate, int seconds, int symbolCount, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("breadboard-bench-kafka-");
        try
        {
            await KafkaTopics.EnsureAsync(bus, cancellationToken);
            await using var store = DuckDbStore.Open(Path.Combine(dir.FullName, "bench.duckdb"));
            await store.InitializeAsync(cancellationToken);
            var stats = new PipelineStats();
            using var processor = new TickProcessor(bus, PipelineDefinition.Default, store, null, stats, ProcessorOptions.Default with { GroupId = $"bench-{Guid.NewGuid():N}" });
            using var producer = new TickProcessorBenchProducer(bus);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var processing = processor.RunAsync(stop.Token);

            // Event times follow the wall clock, so lag in seconds means what it says.
            var feed = new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(symbolCount) with { StartTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RatePerSecond = rate > 0 ? rate : 100_000 });
            var producing = Task.Factory.StartNew(() => producer.Run(feed, rate, stop.Token), stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            Console.WriteLine($"bench kafka: {(rate > 0 ? $"{rate:N0} ticks/s" : "as fast as possible")}, {symbolCount} symbols, {seconds} s, {bus.BootstrapServers}; {Environment.ProcessorCount} cores");
            var clock = Stopwatch.StartNew();
            double maxLagSeconds = 0;
            long maxLagMessages = 0;
            long lastProduced = 0, lastProcessed = 0;

            // Processed ticks only count once a write has committed them, so the rate is taken between the first
            // write after warm-up and the last write, not over the wall clock (which would count the warm-up and
            // the ticks still waiting for their write at the end as not processed).
            var warmUp = TimeSpan.FromSeconds(Math.Min(5, seconds / 4.0));
            (TimeSpan At, long Ticks)? firstWrite = null, lastWrite = null;
            var seenBatches = stats.StoreBatches;
            for (var s = 1; s <= seconds; s++)
            {
                while (clock.Elapsed < TimeSpan.FromSeconds(s))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
                    if (stats.StoreBatches != seenBatches)
                    {
                        seenBatches = stats.StoreBatches;
                        var write = (clock.Elapsed, stats.Ticks);
                        if (clock.Elapsed >= warmUp)
                        {
                            firstWrite ??= write;
                            lastWrite = write;
                        }
                    }
                }

                var lag = processor.Lag;
                var lagSeconds = lag.Count == 0 ? 0 : lag.Max(l => l.LagSeconds);
                var lagMessages = lag.Sum(l => l.LagMessages);
                if (clock.Elapsed >= warmUp)
                {
                    maxLagSeconds = Math.Max(maxLagSeconds, lagSeconds);
                    maxLagMessages = Math.Max(maxLagMessages, lagMessages);
                }

                var produced = producer.Produced;
                var processed = stats.Ticks;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s,3} s: produced {produced - lastProduced,9:N0}/s, written {processed - lastProcessed,9:N0}/s, lag {lagMessages,9:N0} msgs {lagSeconds,5:F2} s"));
                (lastProduced, lastProcessed) = (produced, processed);
            }

            var elapsed = clock.Elapsed.TotalSeconds;
            var totalProduced = producer.Produced;
            var finalLag = processor.Lag;
            await stop.CancelAsync();
            await producing;
            await processing;
            var processedRate = firstWrite is { } first && lastWrite is { } last && last.At > first.At
                ? (last.Ticks - first.Ticks) / (last.At - first.At).TotalSeconds
                : 0;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"sustained: produced {totalProduced / elapsed:N0} ticks/s over {elapsed:F0} s; processed into the store {processedRate:N0} ticks/s (between writes at {firstWrite?.At.TotalSeconds ?? 0:F1} s and {lastWrite?.At.TotalSeconds ?? 0:F1} s); max consumer lag after warm-up {maxLagSeconds:F2} s ({maxLagMessages:N0} messages), at the end {(finalLag.Count == 0 ? 0 : finalLag.Max(l => l.LagSeconds)):F2} s ({finalLag.Sum(l => l.LagMessages):N0} messages); delivery failures {producer.Failed}"));
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Produces the feed's ticks at a rate (or flat out) until stopped.</summary>
    private sealed class TickProcessorBenchProducer(KafkaBusOptions bus) : IDisposable
    {
        private readonly TickProducer _producer = new(bus);

        public long Produced => _producer.Produced;

        public long Failed => _producer.Failed;

        public void Run(SyntheticFeed feed, double rate, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            long n = 0;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var tick in feed.Generate(long.MaxValue))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                // Stamped with the wall clock, so the consumer's lag in seconds is real; read every 64 ticks (0.3 ms
                // at 200K/s, 6 ms at 10K/s) rather than on every tick, where it cost the producer a few per cent.
                if (n % 64 == 0)
                {
                    now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                }

                _producer.Produce(tick with { Ts = now });
                if (++n % 100 == 0 && rate > 0)
                {
                    // The clock is read once: read twice, it could pass the due time in between and make the wait negative.
                    var wait = TimeSpan.FromSeconds(n / rate) - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        Thread.Sleep(wait);
                    }
                }
            }

            _producer.Flush(TimeSpan.FromSeconds(10));
        }

        public void Dispose() => _producer.Dispose();
    }
}

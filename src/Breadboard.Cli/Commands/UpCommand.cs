using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Embedded;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Streaming;
using Breadboard.Feeds.Synthetic;
using Spectre.Console;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard up</c>: the whole embedded pipeline, synthetic feed to store and alerts, with live progress.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var symbols = new Option<string?>("--symbols") { Description = "Comma-separated symbols for the synthetic feed (default: AAPL,MSFT,NVDA,TSLA,AMZN,BTC-USD,ETH-USD,SOL-USD)." };
        var rate = new Option<double>("--rate") { Description = "Synthetic ticks per second, across symbols.", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic feed.", DefaultValueFactory = _ => 42 };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (default: run until Ctrl-C)." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "Engine checkpoint file; open windows survive a restart through it.", DefaultValueFactory = _ => Path.Combine("data", "engine.checkpoint") };
        var noCheckpoint = new Option<bool>("--no-checkpoint") { Description = "Keep no checkpoint: every start begins with empty windows." };
        var command = new Command("up", "Run the embedded pipeline: synthetic feed → engine → store and alerts, with live progress. Ctrl-C stops cleanly.")
        {
            pipeline, symbols, rate, seed, duration, checkpoint, noCheckpoint,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            Backends.CheckOtherSeams(parse);
            if (parse.GetValue(rate) is <= 0 or > 1_000_000)
            {
                throw new SettingException("--rate must be between 0 and 1000000 ticks per second");
            }

            var feedOptions = SyntheticFeedOptions.Default with { RatePerSecond = parse.GetValue(rate), Seed = parse.GetValue(seed) };
            if (parse.GetValue(symbols) is { } list)
            {
                var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (names.Length == 0)
                {
                    throw new SettingException("--symbols names no symbol");
                }

                feedOptions = feedOptions with { Symbols = names };
            }

            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            await using var alertBus = Backends.OpenAlertBus(parse);
            var embedded = new EmbeddedPipeline(definition, store, alertBus, EmbeddedPipelineOptions.Default with
            {
                CheckpointPath = parse.GetValue(noCheckpoint) ? null : parse.GetValue(checkpoint),
            });

            // Ctrl-C and --duration stop the feed; the pipeline then drains and flushes before returning.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(duration) is { } seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            var recent = new RecentAlerts();
            var watch = (alertBus as MemoryAlertBus)?.SubscribeAsync(cancellationToken: stop.Token);
            var watching = watch is null ? Task.CompletedTask : recent.CollectAsync(watch);

            var feed = new SyntheticFeed(feedOptions);
            var run = embedded.RunAsync(feed.RunLiveAsync(stop.Token), stop.Token);
            Console.WriteLine($"breadboard up: synthetic feed ({feedOptions.Symbols.Count} symbols, {feedOptions.RatePerSecond:N0} ticks/s) → local engine → {Seams.Store.Resolve(parse)}; Ctrl-C to stop");
            if (embedded.Restored)
            {
                Console.WriteLine($"resumed from checkpoint {parse.GetValue(checkpoint)}: open windows continue");
            }

            if (embedded.CheckpointProblem is { } problem)
            {
                Console.WriteLine($"warning: {problem}");
            }

            await ShowProgressAsync(embedded, recent, run);
            await run;
            await watching;

            Console.WriteLine($"stopped: {Line(embedded.Stats, null)}; store flushed{(parse.GetValue(noCheckpoint) ? "" : ", checkpoint saved")}");
            return 0;
        }));
        return command;
    }

    private static async Task ShowProgressAsync(EmbeddedPipeline embedded, RecentAlerts recent, Task run)
    {
        var rate = new RateMeter();
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Live(Render(embedded.Stats, 0, recent)).StartAsync(async ctx =>
            {
                while (!run.IsCompleted)
                {
                    await Task.WhenAny(run, Task.Delay(500));
                    ctx.UpdateTarget(Render(embedded.Stats, rate.Next(embedded.Stats.Ticks), recent));
                }
            });
            return;
        }

        // Not a terminal (a log, a test): one line a second at first, then every five.
        var clock = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(clock.Elapsed < TimeSpan.FromSeconds(10) ? 1000 : 5000));
            if (!run.IsCompleted)
            {
                Console.WriteLine(Line(embedded.Stats, rate.Next(embedded.Stats.Ticks)));
            }
        }
    }

    private static string Line(PipelineStats s, double? ticksPerSecond) => string.Create(
        CultureInfo.InvariantCulture,
        $"ticks {s.Ticks:N0}{(ticksPerSecond is { } rate ? $" ({rate:N0}/s)" : "")} | bars {s.Bars:N0} | alerts {s.Alerts:N0} | late {s.Late:N0} | duplicates {s.Duplicates:N0} | watermark {Watermark(s.Watermark)}");

    private static string Watermark(long ms) => ms == long.MinValue ? "-" : EventTime.ToIso(ms);

    private static Rows Render(PipelineStats s, double ticksPerSecond, RecentAlerts recent)
    {
        var stats = new Table().Border(TableBorder.Rounded).AddColumn("ticks/s").AddColumn("ticks").AddColumn("bars").AddColumn("alerts").AddColumn("late").AddColumn("duplicates").AddColumn("watermark");
        stats.AddRow(
            ticksPerSecond.ToString("N0", CultureInfo.InvariantCulture),
            s.Ticks.ToString("N0", CultureInfo.InvariantCulture),
            s.Bars.ToString("N0", CultureInfo.InvariantCulture),
            s.Alerts.ToString("N0", CultureInfo.InvariantCulture),
            s.Late.ToString("N0", CultureInfo.InvariantCulture),
            s.Duplicates.ToString("N0", CultureInfo.InvariantCulture),
            Watermark(s.Watermark));
        var alerts = new Table().Border(TableBorder.Simple).AddColumn("latest alerts").AddColumn("value");
        foreach (var a in recent.Snapshot())
        {
            alerts.AddRow(Markup.Escape($"{a.Rule} {a.Symbol} {a.Window} @ {EventTime.ToIso(a.WindowStart)}"), a.Value.ToString("F2", CultureInfo.InvariantCulture));
        }

        return new Rows(new Markup("[bold]breadboard[/] embedded pipeline — Ctrl-C to stop"), stats, alerts);
    }

    /// <summary>Ticks per second between two looks.</summary>
    private sealed class RateMeter
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastTicks;
        private TimeSpan _lastTime;

        public double Next(long ticks)
        {
            var now = _clock.Elapsed;
            var seconds = (now - _lastTime).TotalSeconds;
            var rate = seconds > 0 ? (ticks - _lastTicks) / seconds : 0;
            (_lastTicks, _lastTime) = (ticks, now);
            return rate;
        }
    }

    /// <summary>The last few alerts, for the terminal.</summary>
    private sealed class RecentAlerts
    {
        private readonly Lock _gate = new();
        private readonly Queue<Alert> _alerts = new();

        public async Task CollectAsync(IAsyncEnumerable<Alert> alerts)
        {
            try
            {
                await foreach (var alert in alerts)
                {
                    lock (_gate)
                    {
                        _alerts.Enqueue(alert);
                        if (_alerts.Count > 8)
                        {
                            _alerts.Dequeue();
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The run stopped.
            }
        }

        public Alert[] Snapshot()
        {
            lock (_gate)
            {
                return [.. _alerts.Reverse()];
            }
        }
    }
}

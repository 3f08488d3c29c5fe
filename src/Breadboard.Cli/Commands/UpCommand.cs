using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Feeds.Synthetic;
using Breadboard.Flink;
using Breadboard.Flink.Gateway;
using Breadboard.Runtime.Sources;
using Breadboard.Web.Live;
using Spectre.Console;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard up</c>: the whole embedded pipeline, synthetic feed to store and alerts, with live progress.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var symbols = new Option<string?>("--symbols") { Description = "Comma-separated symbols of the synthetic or live feed (synthetic default: AAPL,MSFT,NVDA,TSLA,AMZN,BTC-USD,ETH-USD,SOL-USD; crypto venues: BTC-USD,ETH-USD; alpaca: AAPL,MSFT,NVDA,TSLA,AMZN)." };
        var rate = new Option<double>("--rate") { Description = "Synthetic ticks per second, across symbols.", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic feed.", DefaultValueFactory = _ => 42 };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (default: run until Ctrl-C)." };
        var feedOption = new Option<string>("--feed") { Description = FeedSettings.Choices + "; replay is played at --speed.", DefaultValueFactory = _ => "synthetic" };
        var speed = new Option<double>("--speed") { Description = "With --feed replay:FILE, the multiple of event time to play at.", DefaultValueFactory = _ => 1 };
        var urls = WebOptions();
        var noWeb = new Option<bool>("--no-web") { Description = "Run without the web server (dashboard, API, live stream)." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "Engine checkpoint file; open windows survive a restart through it.", DefaultValueFactory = _ => Path.Combine("data", "engine.checkpoint") };
        var noCheckpoint = new Option<bool>("--no-checkpoint") { Description = "Keep no checkpoint: every start begins with empty windows." };
        var command = new Command("up", "Run the embedded pipeline: synthetic feed → engine → store and alerts, with live progress. Ctrl-C stops cleanly.")
        {
            pipeline, feedOption, symbols, rate, seed, speed, duration, checkpoint, noCheckpoint, urls, noWeb,
        };
        var boundary = new WebBoundary();
        boundary.AddTo(command);
        var batchSchedule = new BatchSchedule();
        batchSchedule.AddTo(command);
        var liveOptions = new LiveFeedRun.Options();
        liveOptions.AddTo(command);

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            var feedOptions = FeedSettings.Synthetic(parse.GetValue(rate), parse.GetValue(seed), parse.GetValue(symbols));
            var feedSetting = parse.GetValue(feedOption)!;
            var replayPath = FeedSettings.ReplayPath(feedSetting);
            var live = LiveFeedRun.IsVenue(feedSetting) ? LiveFeedRun.Create(feedSetting, parse.GetValue(symbols), parse, liveOptions, CommandRunner.Logger("feed")) : null;

            if (parse.GetValue(speed) <= 0)
            {
                throw new SettingException("--speed must be greater than 0");
            }

            var webUrls = ResolveUrls(parse, urls);
            var webOptions = boundary.Apply(parse, new Web.WebOptions { Urls = webUrls, Pipeline = definition, StoreUrl = Seams.Store.Shown(parse) });
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            using var reloader = new PipelineReloader(CommandRunner.PipelinePath(parse.GetValue(pipeline)), definition, store, "up");
            await reloader.RecordAsync(cancellationToken);
            webOptions = webOptions with { RunningPipeline = () => reloader.Running, PipelineLoadedAt = () => reloader.LoadedAt, Reload = reloader.ReloadAsync };
            // New consumers of the alert stream (dashboard, channels) start here: nothing this run fires is missed.
            var started = DateTimeOffset.UtcNow;
            await using var alerts = await AlertSeam.OpenAsync(parse, cancellationToken);
            var silences = alerts.Silences(parse);
            var notifiers = Notifications.ForUp(alerts, silences, started, new RunningRules(() => reloader.Running));
            var hub = parse.GetValue(noWeb) ? null : new LiveHub();
            // A replayed file is input with an end: its windows close when it ends, and it keeps no checkpoint
            // (started again, it plays from the top). Through Kafka, the processor checkpoints in the store.
            var checkpointPath = replayPath is null && !parse.GetValue(noCheckpoint) ? parse.GetValue(checkpoint) : null;
            using var face = await PipelineFace.CreateAsync(parse, definition, store, alerts.Bus, hub, new FaceSettings(checkpointPath, InputEnds: replayPath is not null), cancellationToken);
            var stats = face.Stats;
            reloader.Attach(face.ReloadAsync, next =>
            {
                // The dashboard computes its indicator lines itself: it starts on the new ones, warmed up from the store.
                _ = hub?.ReloadAsync(next, store, webOptions.MaxLimit, CancellationToken.None);
            });
            reloader.ListenForHangup();
            await using var web = hub is null ? null : Web.WebServer.Build(
                webOptions with
                {
                    BusUrl = Seams.Bus.Shown(parse),
                    ApiKey = ApiKey(),
                    BusLag = face.Lag,
                    Feeds = live is null ? null : live.Status,
                    Silences = silences,
                    AlertsUrl = Seams.Alerts.Shown(parse),
                    AlertsCheck = alerts.Check,
                },
                store,
                hub,
                stats,
                CommandRunner.WebLogging);
            if (web is not null)
            {
                // After a restart the engine resumes its indicators from the checkpoint; the dashboard's resume from the store.
                await hub!.WarmUpAsync(store, webOptions.MaxLimit, cancellationToken);
                await StartWebAsync(web, webUrls, cancellationToken);
            }

            // Ctrl-C and --duration stop the feed; the pipeline then drains and flushes before returning.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(duration) is { } seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            // Notifiers outlive the feed: they stop after the pipeline's last alerts are out.
            using var stopNotifiers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var notifying = notifiers.Select(n => n.Notifier.RunAsync(stopNotifiers.Token)).ToList();
            if (notifiers.Count > 0)
            {
                Console.WriteLine($"notifications: {string.Join(", ", notifiers.Select(n => n.Notifier.Channel))}");
            }

            // The historical job on its cron, beside the live pipeline; it stops with the notifiers.
            var scheduler = batchSchedule.Create(parse, store, alerts.Bus);
            var scheduling = scheduler is null ? Task.CompletedTask : scheduler.RunAsync(stopNotifiers.Token);
            if (scheduler?.NextOccurrence() is { } firstRun)
            {
                Console.WriteLine($"batch: historical job scheduled, first run {firstRun:yyyy-MM-dd HH:mm}Z");
            }

            // The dashboard and the terminal read alerts from the bus.
            var recent = new RecentAlerts(hub);
            var watching = recent.CollectAsync(alerts.WatchAsync(started, stop.Token));

            using ITickSource source = live is not null ? new FeedTickSource(live.Describe(), live.Feed.RunAsync(stop.Token), stop: stop.Token)
                : replayPath is null ? new FeedTickSource("synthetic feed", new SyntheticFeed(feedOptions).RunLiveAsync(stop.Token), stop: stop.Token)
                : new FileTickSource(replayPath, new FileSourceOpts { Speed = parse.GetValue(speed) }, stop.Token);
            var backfilling = live?.BackfillAsync(store, CommandRunner.Logger("backfill"), stopNotifiers.Token) ?? Task.CompletedTask;
            var run = face.RunAsync(source, stop.Token);
            var described = live?.Describe() ?? (replayPath is null ? $"synthetic feed ({feedOptions.Symbols.Count} symbols, {feedOptions.RatePerSecond:N0} ticks/s)" : $"replay of {replayPath} at {parse.GetValue(speed)}×");
            Console.WriteLine($"breadboard up: {described} → {face.Path} → {Seams.Store.Shown(parse)}; Ctrl-C to stop");
            if (web is not null)
            {
                Console.WriteLine($"dashboard: {DashboardUrl(webUrls)}");
            }

            if (Backends.IsFlinkEngine(parse))
            {
                await ReportFlinkJobAsync(parse, cancellationToken);
            }

            foreach (var note in face.Notes)
            {
                Console.WriteLine(note);
            }

            await ShowProgressAsync(stats, recent, run);
            await run;
            if (replayPath is not null && web is not null && !stop.IsCancellationRequested)
            {
                Console.WriteLine($"replay finished: {Line(stats, null)}; the dashboard stays up until Ctrl-C");
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C or --duration.
                }
            }

            await stop.CancelAsync();
            await watching;
            // The pipeline has published its last alert: notifiers that can, send what they hold, then end.
            alerts.PublishingEnded();
            if (alerts.DeliverPendingOnStop)
            {
                await Task.WhenAny(Task.WhenAll(notifying), Task.Delay(NotifierDrain, CancellationToken.None));
            }

            await stopNotifiers.CancelAsync();
            await Task.WhenAll(notifying);
            await backfilling;
            try
            {
                await scheduling;
            }
            catch (OperationCanceledException)
            {
                // Stopped mid-run: the run id resumes from its last finished step next time.
            }

            foreach (var (_, channel) in notifiers)
            {
                await channel.DisposeAsync();
            }

            if (web is not null)
            {
                await web.StopAsync(CancellationToken.None);
            }

            Console.WriteLine($"stopped: {Line(stats, null)}; store flushed{(checkpointPath is not null && face.KeepsCheckpoint ? ", checkpoint saved" : "")}");
            return 0;
        }));
        return command;
    }

    /// <summary>How long an embedded stop waits for the notifiers to send the last alerts before cutting them off.</summary>
    private static readonly TimeSpan NotifierDrain = TimeSpan.FromSeconds(15);

    public const string UrlsVariable = "BREADBOARD_URLS";

    /// <summary>--urls / <see cref="UrlsVariable"/>, loopback by default.</summary>
    public static Option<string?> WebOptions() => new("--urls")
    {
        Description = $"Where the web server listens (default {Web.WebOptions.DefaultUrls}, env {UrlsVariable}); other interfaces only when named, e.g. http://0.0.0.0:8000.",
    };

    public static string ResolveUrls(ParseResult parse, Option<string?> option)
    {
        var value = parse.GetValue(option);
        if (string.IsNullOrEmpty(value))
        {
            value = Environment.GetEnvironmentVariable(UrlsVariable);
        }

        value = string.IsNullOrEmpty(value) ? Web.WebOptions.DefaultUrls : value;
        foreach (var url in value.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new SettingException($"--urls (env {UrlsVariable}) = '{SecretText.Redact(value)}': '{SecretText.Redact(url)}' is not an http:// or https:// URL");
            }

            // Kestrel would listen on such an address and ignore the user; a password there is a mistake to point out.
            if (uri.UserInfo.Length > 0)
            {
                throw new SettingException($"--urls (env {UrlsVariable}) = '{SecretText.Redact(value)}': '{SecretText.Redact(url)}' has a user; a listen address is scheme, host and port");
            }
        }

        return value;
    }

    /// <summary>The API key for mutating endpoints, from the environment only (never a flag: flags reach shell history and ps).</summary>
    public static string? ApiKey() => Environment.GetEnvironmentVariable(Web.WebOptions.ApiKeyVariable) is { Length: > 0 } key ? key : null;

    /// <summary>Starts the web server; a port in use becomes a one-line error.</summary>
    public static async Task StartWebAsync(Microsoft.AspNetCore.Builder.WebApplication web, string urls, CancellationToken cancellationToken)
    {
        try
        {
            await web.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw new SettingException($"--urls (env {UrlsVariable}) = '{SecretText.Redact(urls)}': cannot listen: {e.Message.Split('\n')[0]}");
        }
    }

    private static string DashboardUrl(string urls) => urls.Split(';')[0].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/";

    /// <summary>
    /// Says whether the Flink job runs: without it ticks reach Kafka and the dashboard, but no bars or alerts come
    /// back. A warning, not an error: the job may be deployed after this process starts, or the gateway be down
    /// while the job itself runs.
    /// </summary>
    private static async Task ReportFlinkJobAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var engine = Seams.Engine.Resolve(parse);
        Uri gateway;
        try
        {
            gateway = FlinkEngineUrl.Parse(engine);
        }
        catch (ArgumentException e)
        {
            throw new SettingException($"{Seams.Engine.Describe(engine)}: {CommandRunner.OneLine(e)}");
        }

        try
        {
            using var client = new SqlGatewayClient(gateway, SqlGatewayOpts.Default with { RequestTimeout = TimeSpan.FromSeconds(5), OperationTimeout = TimeSpan.FromSeconds(15), GetAttempts = 1 });
            var job = (await new FlinkDeployer(client).StatusAsync(FlinkOptions.DefaultJobName, cancellationToken)).FirstOrDefault(j => j.IsActive);
            Console.WriteLine(job is null
                ? $"warning: no active Flink job named '{FlinkOptions.DefaultJobName}' behind {gateway}: bars and alerts arrive once 'breadboard flink deploy' has submitted it"
                : $"flink: job '{OutsideText.ForDisplay(job.Name)}' {OutsideText.ForDisplay(job.Status)} ({OutsideText.ForDisplay(job.Id)})");
        }
        catch (FlinkGatewayException e)
        {
            Console.WriteLine($"warning: cannot check the Flink job: {e.Message}");
        }
    }

    private static async Task ShowProgressAsync(PipelineStats stats, RecentAlerts recent, Task run)
    {
        var rate = new RateMeter();
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Live(Render(stats, 0, recent)).StartAsync(async ctx =>
            {
                while (!run.IsCompleted)
                {
                    await Task.WhenAny(run, Task.Delay(500));
                    ctx.UpdateTarget(Render(stats, rate.Next(stats.Ticks), recent));
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
                Console.WriteLine(Line(stats, rate.Next(stats.Ticks)));
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

    /// <summary>The last few alerts, for the terminal, each also passed to the live stream.</summary>
    private sealed class RecentAlerts(LiveHub? hub)
    {
        private readonly Lock _gate = new();
        private readonly Queue<Alert> _alerts = new();

        public async Task CollectAsync(IAsyncEnumerable<Alert> alerts)
        {
            try
            {
                await foreach (var alert in alerts)
                {
                    // Behind Kafka the alert bus is the dashboard's alert channel; an embedded engine has handed its
                    // alerts to the hub already as they fired (the hub sends each once), and the bus also brings the
                    // batch job's.
                    hub?.OnAlert(alert);
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

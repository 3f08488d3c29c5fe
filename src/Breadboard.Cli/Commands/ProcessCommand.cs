using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Streaming;
using Breadboard.Kafka;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard process</c>: the consumer-group processor, Kafka ticks → engine → store and alerts, exactly once.</summary>
internal static class ProcessCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var consumers = new Option<int>("--consumers") { Description = "Group members to run in this process (each takes its share of the partitions).", DefaultValueFactory = _ => 1 };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds." };
        var idle = new Option<double>("--idle-timeout") { Description = "Seconds after which a caught-up, quiet partition moves its event time on with the clock.", DefaultValueFactory = _ => 10 };
        var session = new Option<double>("--session-timeout") { Description = "Seconds the group waits for a silent member before moving its partitions.", DefaultValueFactory = _ => 10 };
        var drain = new Option<bool>("--drain") { Description = "Bounded input: once every partition is caught up and quiet for the idle timeout, close every window and exit (backfills, comparing with replay)." };
        var reloadEvery = new Option<double>("--reload-every") { Description = "Seconds between looks at the pipeline file: a changed file is reloaded (also on SIGHUP and POST /api/pipeline/reload on the health server); 0 looks only then.", DefaultValueFactory = _ => 5 };
        var healthUrls = WorkerHealth.Option();
        var command = new Command("process", "Consume ticks from Kafka as group stream-processor; write bars, alerts and ticks to the store exactly once.")
        {
            pipeline, consumers, duration, idle, drain, session, reloadEvery, healthUrls,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            var bus = Backends.KafkaBus(parse);
            if (Backends.IsFlinkEngine(parse))
            {
                throw new SettingException($"{Seams.Engine.Describe(Seams.Engine.Resolve(parse))}: 'process' is the local engine; with Flink the job processes the ticks ('flink deploy') and 'sink' stores its output");
            }

            Seams.Scheduler.Resolve(parse);
            if (parse.GetValue(consumers) is < 1 or > 64)
            {
                throw new SettingException("--consumers must be from 1 to 64");
            }

            await using var health = await WorkerHealth.StartAsync(parse, healthUrls, "process", cancellationToken);
            await Backends.EnsureTopicsAsync(parse, bus, cancellationToken);
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            await using var alertBus = await Backends.OpenAlertBusAsync(parse, cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(duration) is { } seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            var options = ProcessorOptions.Default with { IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(idle)), DrainWhenIdle = parse.GetValue(drain), SessionTimeout = TimeSpan.FromSeconds(parse.GetValue(session)), Logger = CommandRunner.Logger("kafka") };
            var stats = Enumerable.Range(0, parse.GetValue(consumers)).Select(_ => new PipelineStats()).ToList();
            var processors = stats.Select(s => new TickProcessor(bus, definition, store, alertBus, s, options)).ToList();
            using var reloader = new PipelineReloader(CommandRunner.PipelinePath(parse.GetValue(pipeline)), definition, store, $"process {Environment.MachineName}:{Environment.ProcessId}");
            await reloader.RecordAsync(cancellationToken);
            reloader.Attach(next =>
            {
                var switches = processors.Select(p => p.Reload(next)).ToList();
                return Task.FromResult(switches[0]);
            });
            reloader.ListenForHangup();
            health?.Serve(reloader);
            var watching = parse.GetValue(reloadEvery) is > 0 and var every ? reloader.WatchAsync(TimeSpan.FromSeconds(every), stop.Token) : Task.CompletedTask;
            try
            {
                Console.WriteLine($"breadboard process: {bus.BootstrapServers} group {options.GroupId} ×{processors.Count} → {Seams.Store.Shown(parse)}; Ctrl-C to stop");
                if (health is not null)
                {
                    Console.WriteLine(health.Line);
                }

                var all = Task.WhenAll(processors.Select(p => p.RunAsync(stop.Token)));
                await CommandRunner.WatchWorkerAsync(all, () => Progress(stats, processors), health);
                await stop.CancelAsync();
                await watching;
                Console.WriteLine($"stopped: {Progress(stats, processors)}; outputs written and checkpointed");
            }
            finally
            {
                foreach (var p in processors)
                {
                    p.Dispose();
                }
            }

            return 0;
        }));
        return command;
    }

    private static string Progress(List<PipelineStats> stats, List<TickProcessor> processors)
    {
        var lag = processors.SelectMany(p => p.Lag).ToList();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"consumed {stats.Sum(s => s.Ticks):N0} | bars {stats.Sum(s => s.Bars):N0} | alerts {stats.Sum(s => s.Alerts):N0} | late {stats.Sum(s => s.Late):N0} | duplicates {stats.Sum(s => s.Duplicates):N0} | dead letters {processors.Sum(p => p.DeadLetters):N0} | lost to retention {processors.Sum(p => p.LostToRetention):N0} | partitions {lag.Count} | max lag {(lag.Count == 0 ? 0 : lag.Max(l => l.LagMessages)):N0} msgs, {(lag.Count == 0 ? 0 : lag.Max(l => l.LagSeconds)):F1} s");
    }
}

using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Streaming;
using Breadboard.Kafka;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard sink</c>: the bars, alerts and ticks topics into the store and the alert bus, exactly once.</summary>
internal static class SinkCommand
{
    public static Command Create()
    {
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds." };
        var idle = new Option<double>("--idle-timeout") { Description = "With --drain: seconds every partition must be caught up and quiet before the sink stops.", DefaultValueFactory = _ => 10 };
        var session = new Option<double>("--session-timeout") { Description = "Seconds the group waits for a silent member before moving its partitions.", DefaultValueFactory = _ => 10 };
        var drain = new Option<bool>("--drain") { Description = "Bounded input: once every partition is caught up and quiet for the idle timeout, write and exit." };
        var noTicks = new Option<bool>("--no-ticks") { Description = "Leave the tick topics alone (another role stores ticks)." };
        var healthUrls = WorkerHealth.Option();
        var command = new Command("sink", "Consume the bars and alerts topics (Flink's output, or the processor's) and the tick topics as group breadboard-sink; write them to the store and publish alerts, exactly once.")
        {
            duration, idle, drain, session, noTicks, healthUrls,
        };

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var bus = Backends.KafkaBus(parse);
            Seams.Engine.Resolve(parse);
            Seams.Scheduler.Resolve(parse);
            await using var health = await WorkerHealth.StartAsync(parse, healthUrls, "sink", cancellationToken);
            await Backends.EnsureTopicsAsync(parse, bus, cancellationToken);
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            await using var alertBus = await Backends.OpenAlertBusAsync(parse, cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(duration) is { } seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            var options = SinkOptions.Default with
            {
                IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(idle)),
                DrainWhenIdle = parse.GetValue(drain),
                SessionTimeout = TimeSpan.FromSeconds(parse.GetValue(session)),
                IncludeTicks = !parse.GetValue(noTicks),
                Logger = CommandRunner.Logger("kafka"),
            };
            var stats = new PipelineStats();
            using var sink = new OutputSink(bus, store, alertBus, stats, options);
            Console.WriteLine($"breadboard sink: {bus.BootstrapServers} {string.Join(", ", OutputSink.TopicsOf(options))} (group {options.GroupId}) → {Seams.Store.Shown(parse)}, alerts → {Seams.Alerts.Shown(parse)}; Ctrl-C to stop");
            if (health is not null)
            {
                Console.WriteLine(health.Line);
            }

            await CommandRunner.WatchWorkerAsync(sink.RunAsync(stop.Token), () => Progress(stats, sink), health);
            Console.WriteLine($"stopped: {Progress(stats, sink)}; written and checkpointed");
            return 0;
        }));
        return command;
    }

    private static string Progress(PipelineStats stats, OutputSink sink)
    {
        var lag = sink.Lag;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"stored ticks {stats.Ticks:N0} | bars {stats.Bars:N0} | alerts {stats.Alerts:N0} | dead letters {sink.DeadLetters:N0} | lost to retention {sink.LostToRetention:N0} | partitions {lag.Count} | max lag {(lag.Count == 0 ? 0 : lag.Max(l => l.LagMessages)):N0} msgs, {(lag.Count == 0 ? 0 : lag.Max(l => l.LagSeconds)):F1} s");
    }
}

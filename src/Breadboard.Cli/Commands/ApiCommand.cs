using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Kafka;
using Breadboard.Web;
using Breadboard.Web.Api;
using Breadboard.Web.Live;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard api</c>: the web server alone, over the configured store (no pipeline in this process).</summary>
internal static class ApiCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var urls = UpCommand.WebOptions();
        var command = new Command("api", "Serve the dashboard, the HTTP API and the live stream over the configured store, without running a pipeline.") { pipeline, urls };
        var boundary = new WebBoundary();
        boundary.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            var webUrls = UpCommand.ResolveUrls(parse, urls);
            var webOptions = boundary.Apply(parse, new WebOptions { Urls = webUrls, Pipeline = definition, StoreUrl = Seams.Store.Shown(parse) });
            var kafka = Seam.SchemeOf(Seams.Bus.Resolve(parse)) == "kafka" ? Backends.KafkaBus(parse) : null;
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var lag = kafka is null ? null : new GroupLagWatcher(kafka);
            var watching = lag?.RunAsync(stop.Token) ?? Task.CompletedTask;

            // With NATS, the API server is the 'dashboard' channel: it pushes the stream's alerts to browsers.
            var nats = Seam.SchemeOf(Seams.Alerts.Resolve(parse)) == "nats" ? await Notifications.ConnectAsync(parse, "api", cancellationToken) : default;
            await using var natsConnection = nats.Connection;
            var hub = new LiveHub();
            var dashboard = nats.Js is null ? Task.CompletedTask : FeedDashboardAsync(nats.Js, hub, DateTimeOffset.UtcNow, stop.Token);
            await using var web = WebServer.Build(
                webOptions with
                {
                    BusUrl = Seams.Bus.Shown(parse),
                    ApiKey = UpCommand.ApiKey(),
                    BusLag = lag is null ? null : () => lag.Latest,
                    Silences = Notifications.Silences(parse, nats.Js),
                    AlertsUrl = Seams.Alerts.Shown(parse),
                    AlertsCheck = nats.Js is { } js ? ct => Nats.AlertStreams.CheckAsync(js, ct) : null,
                },
                store,
                hub,
                logging: CommandRunner.WebLogging);
            await UpCommand.StartWebAsync(web, webUrls, cancellationToken);
            Console.WriteLine($"breadboard api: serving {Seams.Store.Shown(parse)} at {webUrls}; Ctrl-C to stop");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C.
            }

            await stop.CancelAsync();
            await watching;
            await dashboard;
            await web.StopAsync(CancellationToken.None);
            return 0;
        }));
        return command;
    }

    private static async Task FeedDashboardAsync(NATS.Client.JetStream.INatsJSContext js, LiveHub hub, DateTimeOffset since, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var alert in Nats.AlertConsumers.DashboardAsync(js, since, cancellationToken))
            {
                hub.OnAlert(alert);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// The processor group's lag read from outside the group every few seconds, for an API process that does not
    /// run the processors itself (the production layout).
    /// </summary>
    private sealed class GroupLagWatcher(KafkaBusOptions bus)
    {
        public IReadOnlyList<BusPartitionLag> Latest { get; private set; } = [];

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    try
                    {
                        var lag = await Task.Run(() => GroupLag.Read(bus, KafkaBusOptions.ProcessorGroup, TimeSpan.FromSeconds(5)), cancellationToken);
                        Latest = Backends.ToBusLag(lag);
                    }
                    catch (Confluent.Kafka.KafkaException)
                    {
                        // Kafka unreachable for now: keep the last reading.
                    }

                    await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutting down.
            }
        }
    }
}

using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Web;
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
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            Backends.CheckOtherSeams(parse, busIsInProcess: false);
            var webUrls = UpCommand.ResolveUrls(parse, urls);
            await using var store = await Backends.OpenStoreAsync(parse, cancellationToken);
            await using var web = WebServer.Build(
                new WebOptions { Urls = webUrls, Pipeline = definition, StoreUrl = Seams.Store.Resolve(parse), BusUrl = Seams.Bus.Resolve(parse), ApiKey = UpCommand.ApiKey() },
                store,
                new LiveHub());
            await UpCommand.StartWebAsync(web, webUrls, cancellationToken);
            Console.WriteLine($"breadboard api: serving {Seams.Store.Resolve(parse)} at {webUrls}; Ctrl-C to stop");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C.
            }

            await web.StopAsync(CancellationToken.None);
            return 0;
        }));
        return command;
    }
}

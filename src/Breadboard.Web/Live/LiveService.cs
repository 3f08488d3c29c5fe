using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Breadboard.Web.Live;

/// <summary>The stream's clock: coalesced ticks every 100 ms, pipeline status every second, backend checks every 5 s.</summary>
/// <remarks>
/// A failing round (a status source that throws, a message that cannot be written) is logged and the clock goes
/// on: an exception escaping a hosted service stops the whole host.
/// </remarks>
internal sealed class LiveService(LiveHub hub, PipelineMonitor monitor, ILogger<LiveService> logger) : BackgroundService
{
    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var tick = 0;
        try
        {
            await RoundAsync(() => monitor.CheckBackendsAsync(stoppingToken));
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var round = ++tick;
                await RoundAsync(async () =>
                {
                    hub.FlushTicks();
                    if (round % 10 == 0)
                    {
                        monitor.Sample();
                        var status = monitor.Status();
                        if (hub.Write("pipeline", () => Messages.Pipeline(status)) is { } message)
                        {
                            hub.Broadcast(message);
                        }
                    }

                    if (round % 50 == 0)
                    {
                        await monitor.CheckBackendsAsync(stoppingToken);
                    }
                });
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Runs one round; a failure is logged when it starts, and the recovery when it ends.</summary>
    private async Task RoundAsync(Func<Task> round)
    {
        try
        {
            await round();
            if (_failing)
            {
                _failing = false;
                logger.LiveClockRecovered();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (!_failing)
            {
                _failing = true;
                logger.LiveClockFailed(e);
            }
        }
    }
}

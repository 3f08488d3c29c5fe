using Microsoft.Extensions.Hosting;

namespace Breadboard.Web.Live;

/// <summary>The stream's clock: coalesced ticks every 100 ms, pipeline status every second, backend checks every 5 s.</summary>
internal sealed class LiveService(LiveHub hub, PipelineMonitor monitor) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var tick = 0;
        await monitor.CheckBackendsAsync(stoppingToken);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                hub.FlushTicks();
                if (++tick % 10 == 0)
                {
                    monitor.Sample();
                    hub.Broadcast(Messages.Pipeline(monitor.Status()));
                }

                if (tick % 50 == 0)
                {
                    await monitor.CheckBackendsAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

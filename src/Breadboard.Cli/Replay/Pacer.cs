using System.Diagnostics;

namespace Breadboard.Cli.Replay;

/// <summary>Sleeps so that event time passes at <c>speed</c> times wall-clock time.</summary>
internal sealed class Pacer(double speed)
{
    private readonly Stopwatch _clock = new();
    private long _firstTs;

    public async ValueTask WaitAsync(long ts, CancellationToken cancellationToken)
    {
        if (!_clock.IsRunning)
        {
            _firstTs = ts;
            _clock.Start();
            return;
        }

        var due = TimeSpan.FromMilliseconds((ts - _firstTs) / speed);
        var wait = due - _clock.Elapsed;
        if (wait > TimeSpan.FromMilliseconds(5))
        {
            await Task.Delay(wait, cancellationToken);
        }
    }
}

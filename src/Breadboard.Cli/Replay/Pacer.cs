using System.Diagnostics;

namespace Breadboard.Cli.Replay;

/// <summary>Sleeps so that event time passes at <c>speed</c> times wall-clock time.</summary>
/// <remarks>
/// A gap of more than <see cref="MaxGapMs"/> between consecutive ticks, forward or back, is not waited for: pacing
/// starts again from the tick after it. One tick with a bad clock (dated 2099) would otherwise stall the feed for
/// years, and a weekend without trades replayed at 60× would leave the dashboard still for an hour.
/// </remarks>
internal sealed class Pacer(double speed)
{
    public const long MaxGapMs = 86_400_000;

    private static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(MaxGapMs);

    private readonly Stopwatch _clock = new();
    private long _originTs;
    private TimeSpan _originElapsed;
    private long _lastTs;

    public async ValueTask WaitAsync(long ts, CancellationToken cancellationToken)
    {
        var gap = ts - _lastTs;
        if (!_clock.IsRunning || gap > MaxGapMs || gap < -MaxGapMs)
        {
            _clock.Start();
            (_originTs, _originElapsed, _lastTs) = (ts, _clock.Elapsed, ts);
            return;
        }

        _lastTs = ts;
        var due = _originElapsed + TimeSpan.FromMilliseconds((ts - _originTs) / speed);
        var wait = due - _clock.Elapsed;
        if (wait > TimeSpan.FromMilliseconds(5))
        {
            // At a speed below 1 a day of event time is more than a day of waiting; Task.Delay takes at most 49 days.
            await Task.Delay(wait < LongestWait ? wait : LongestWait, cancellationToken);
        }
    }
}

using System.Diagnostics;

namespace Breadboard.Runtime.Sources;

/// <summary>Says when a tick is due so that event time passes at <c>speed</c> times wall-clock time.</summary>
/// <remarks>
/// A gap of more than <see cref="MaxGapMs"/> between consecutive ticks, forward or back, is not waited for: pacing
/// starts again from the tick after it. One tick with a bad clock (dated 2099) would otherwise stall the feed for
/// years, and a weekend without trades replayed at 60× would leave the dashboard still for an hour.
/// </remarks>
internal sealed class Pacer(double speed)
{
    public const long MaxGapMs = 86_400_000;

    /// <summary>Waits shorter than this are not worth a sleep.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(5);

    private readonly Stopwatch _clock = new();
    private long _originTs;
    private TimeSpan _originElapsed;
    private long _lastTs;
    private TimeSpan _due;

    /// <summary>Takes the next tick's time; <see cref="Remaining"/> then says how long until it is due.</summary>
    public void Schedule(long ts)
    {
        var gap = ts - _lastTs;
        if (!_clock.IsRunning || gap > MaxGapMs || gap < -MaxGapMs)
        {
            _clock.Start();
            (_originTs, _originElapsed, _lastTs) = (ts, _clock.Elapsed, ts);
            _due = _originElapsed;
            return;
        }

        _lastTs = ts;
        _due = _originElapsed + TimeSpan.FromMilliseconds((ts - _originTs) / speed);
    }

    /// <summary>How long until the scheduled tick is due; zero or less when it is.</summary>
    public TimeSpan Remaining => _due - _clock.Elapsed;
}

using System.Runtime.CompilerServices;
using Breadboard.Core.Model;

namespace Breadboard.Feeds.Synthetic;

/// <summary>
/// A deterministic trade generator: prices follow geometric Brownian motion per symbol with occasional shocks,
/// trades arrive as a Poisson process, and one seed gives the same ticks on every machine.
/// </summary>
/// <remarks>
/// Prices and timestamps go through <see cref="Math.Log(double)"/>, <see cref="Math.Exp"/> and
/// <see cref="Math.Sqrt"/>; the first two are the platform's, which may differ in the last bit between
/// operating systems. Rounding to cents and whole milliseconds absorbs that almost always, but a bit-for-bit
/// promise across platforms is only as good as their math libraries.
/// </remarks>
public sealed class SyntheticFeed
{
    // Live mode wakes at most this often and emits everything due, rather than sleeping once per tick.
    private const long BatchIntervalMs = 10;

    private readonly SyntheticFeedOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <param name="timeProvider">The wall clock of live mode; <see cref="TimeProvider.System"/> when null.</param>
    public SyntheticFeed(SyntheticFeedOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    public SyntheticFeedOptions Options => _options;

    /// <summary>
    /// The first <paramref name="count"/> ticks from <see cref="SyntheticFeedOptions.StartTime"/>, as fast as they
    /// can be made; every enumeration starts again from the seed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options have no StartTime.</exception>
    public IEnumerable<Tick> Generate(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var startMs = _options.StartTime
            ?? throw new InvalidOperationException("Generate needs SyntheticFeedOptions.StartTime; a feed without one is live (RunLiveAsync)");
        return GenerateCore(startMs, count);
    }

    private IEnumerable<Tick> GenerateCore(long startMs, long count)
    {
        var market = new SyntheticMarket(_options, startMs);
        for (long i = 0; i < count; i++)
        {
            yield return market.Next();
        }
    }

    /// <summary>
    /// Ticks paced to the wall clock at <see cref="SyntheticFeedOptions.RatePerSecond"/>, until cancelled: the
    /// same ticks <see cref="Generate"/> makes with StartTime = the wall clock at the start (trade ids offset by
    /// that start in ms × 1000), each released once the clock reaches its timestamp.
    /// </summary>
    /// <remarks>
    /// <see cref="SyntheticFeedOptions.StartTime"/> is ignored. The pace follows a monotonic clock, so wall-clock
    /// adjustments neither reorder nor bunch ticks. A slow consumer does not lose ticks: they are stamped with the
    /// time they were due and delivered as fast as it takes them, as a real venue's backlog would be.
    /// Cancellation ends the stream with <see cref="OperationCanceledException"/>.
    /// </remarks>
    public async IAsyncEnumerable<Tick> RunLiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var startMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var startStamp = _timeProvider.GetTimestamp();

        // Ids start from the start time (× 1000), so a restarted feed never reuses the ids of an earlier run that
        // a restored engine still remembers; offline runs count from 1 so files stay reproducible.
        var market = new SyntheticMarket(_options, startMs, tradeIdBase: startMs * 1000);
        var next = market.Next();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nowMs = startMs + (long)_timeProvider.GetElapsedTime(startStamp).TotalMilliseconds;
            while (next.Ts <= nowMs)
            {
                yield return next;
                cancellationToken.ThrowIfCancellationRequested();
                next = market.Next();
            }

            var waitMs = Math.Max(next.Ts - nowMs, BatchIntervalMs);
            await Task.Delay(TimeSpan.FromMilliseconds(waitMs), _timeProvider, cancellationToken);
        }
    }
}

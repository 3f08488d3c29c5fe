using System.Diagnostics;
using System.Threading.Channels;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Runtime.Sources;

/// <summary>
/// A live feed (synthetic, a venue's WebSocket) as a source: the feed runs on its own task into a bounded channel,
/// so that it waits when the engine is behind (backpressure) instead of filling memory.
/// </summary>
/// <remarks>
/// On stop the feed ends, and the ticks it already handed over are still read: nothing taken is dropped. A feed
/// that fails ends the source with its error. A feed has no position to resume from; <see cref="Position"/> counts
/// the ticks read. Each tick is stamped (<see cref="ReceivedAt"/>) when the feed hands it over: for a venue, once its
/// frame is decoded.
/// </remarks>
public sealed class FeedTickSource : ITickSource
{
    private readonly Pump<Received> _ticks;

    /// <param name="name">Names the feed in messages.</param>
    /// <param name="capacity">Ticks the feed may run ahead of the engine before it waits.</param>
    /// <param name="stop">Ends the feed; what it handed over is still read.</param>
    public FeedTickSource(string name, IAsyncEnumerable<Tick> feed, int capacity = 65_536, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(feed);
        Name = name;
        _ticks = new Pump<Received>(capacity, (writer, ct) => CopyAsync(feed, writer, ct), stop);
    }

    public string Name { get; }

    public long Position { get; private set; }

    public long Line => 0;

    public bool Exhausted => _ticks.Exhausted;

    public Reject? LastReject => null;

    public long ReceivedAt { get; private set; }

    public SourceStatus Read(out Tick tick, out long position)
    {
        if (_ticks.TryRead(out var received))
        {
            tick = received.Tick;
            ReceivedAt = received.At;
            position = ++Position;
            return SourceStatus.Tick;
        }

        tick = default;
        position = 0;
        if (!_ticks.Completed)
        {
            return SourceStatus.Empty;
        }

        _ticks.ThrowIfFailed(); // the feed's own error, not the channel closing behind it
        return SourceStatus.End;
    }

    public ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _ticks.WaitAsync(timeout, cancellationToken);

    /// <summary>Stops the feed (when the run ends early, on a failure) and waits for it.</summary>
    public void Dispose() => _ticks.Dispose();

    private static async Task CopyAsync(IAsyncEnumerable<Tick> feed, ChannelWriter<Received> writer, CancellationToken cancellationToken)
    {
        await foreach (var tick in feed.WithCancellation(cancellationToken))
        {
            var received = new Received(tick, Stopwatch.GetTimestamp());
            if (!writer.TryWrite(received))
            {
                await writer.WriteAsync(received, cancellationToken);
            }
        }
    }

    /// <summary>A tick and the stamp of when the feed handed it over.</summary>
    private readonly record struct Received(Tick Tick, long At);
}

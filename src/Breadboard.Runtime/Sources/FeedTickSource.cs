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
/// the ticks read.
/// </remarks>
public sealed class FeedTickSource : ITickSource
{
    private readonly Channel<Tick> _ticks;
    private readonly CancellationTokenSource _cancel;
    private readonly Task _pump;
    private Task<bool>? _waiting;

    /// <param name="name">Names the feed in messages.</param>
    /// <param name="capacity">Ticks the feed may run ahead of the engine before it waits.</param>
    /// <param name="stop">Ends the feed; what it handed over is still read.</param>
    public FeedTickSource(string name, IAsyncEnumerable<Tick> feed, int capacity = 65_536, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(feed);
        Name = name;
        _ticks = Channel.CreateBounded<Tick>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _pump = PumpAsync(feed, _cancel.Token);
    }

    public string Name { get; }

    public long Position { get; private set; }

    public long Line => 0;

    public bool Exhausted { get; private set; }

    public Reject? LastReject => null;

    public SourceStatus Read(out Tick tick, out long position)
    {
        if (_ticks.Reader.TryRead(out tick))
        {
            position = ++Position;
            return SourceStatus.Tick;
        }

        position = 0;
        if (!_ticks.Reader.Completion.IsCompleted)
        {
            return SourceStatus.Empty;
        }

        // The feed's own error, not the channel closing behind it.
        _ticks.Reader.Completion.GetAwaiter().GetResult();
        return SourceStatus.End;
    }

    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // One wait at a time: the channel has a single reader.
        _waiting ??= _ticks.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
        if (await Task.WhenAny(_waiting, Task.Delay(timeout, cancellationToken)) == _waiting)
        {
            _waiting = null;
        }
    }

    private async Task PumpAsync(IAsyncEnumerable<Tick> feed, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the feed runs beside the engine, not on the caller's stack
        try
        {
            await foreach (var tick in feed.WithCancellation(cancellationToken))
            {
                if (!_ticks.Writer.TryWrite(tick))
                {
                    await _ticks.Writer.WriteAsync(tick, cancellationToken);
                }
            }

            Exhausted = true;
            _ticks.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the normal way out of a live feed.
            _ticks.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _ticks.Writer.TryComplete(e);
        }
    }

    /// <summary>Stops the feed (when the run ends early, on a failure) and waits for it.</summary>
    public void Dispose()
    {
        _cancel.Cancel();
        try
        {
            _pump.GetAwaiter().GetResult();
        }
        finally
        {
            _cancel.Dispose();
        }
    }
}

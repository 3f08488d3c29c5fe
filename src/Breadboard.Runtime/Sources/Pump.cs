using System.Threading.Channels;

namespace Breadboard.Runtime.Sources;

/// <summary>
/// Something read on its own task into a bounded channel (a feed's ticks, blocks of stored ticks), so that it waits
/// when the engine is behind (backpressure) instead of filling memory, and the engine's thread never waits on it.
/// </summary>
/// <remarks>
/// The producer's own error ends the channel with it, for <see cref="ThrowIfFailed"/>; cancellation (the run
/// stopping) ends it cleanly. <see cref="Dispose"/> stops the producer and waits for it.
/// </remarks>
internal sealed class Pump<T> : IDisposable
{
    private readonly Channel<T> _channel;
    private readonly CancellationTokenSource _cancel;
    private readonly Task _task;
    private Task<bool>? _waiting;

    /// <param name="produce">Writes into the channel until its input ends; returns normally at the end.</param>
    public Pump(int capacity, Func<ChannelWriter<T>, CancellationToken, Task> produce, CancellationToken stop)
    {
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _task = RunAsync(produce, _cancel.Token);
    }

    /// <summary>Set once the producer's input ended by itself, not by a stop.</summary>
    public bool Exhausted { get; private set; }

    public bool TryRead(out T item) => _channel.Reader.TryRead(out item!);

    /// <summary>Whether nothing more will come (after the items still in the channel).</summary>
    public bool Completed => _channel.Reader.Completion.IsCompleted;

    /// <summary>Throws the producer's own error, once the channel has ended.</summary>
    public void ThrowIfFailed() => _channel.Reader.Completion.GetAwaiter().GetResult();

    /// <summary>Waits until an item may be read, or for at most <paramref name="timeout"/>.</summary>
    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // One wait at a time: the channel has a single reader.
        _waiting ??= _channel.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
        if (await Task.WhenAny(_waiting, Task.Delay(timeout, cancellationToken)) == _waiting)
        {
            _waiting = null;
        }
    }

    private async Task RunAsync(Func<ChannelWriter<T>, CancellationToken, Task> produce, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the producer runs beside the engine, not on the caller's stack
        try
        {
            await produce(_channel.Writer, cancellationToken);
            Exhausted = true;
            _channel.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the normal way out of a live feed.
            _channel.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
        }
    }

    public void Dispose()
    {
        _cancel.Cancel();
        try
        {
            _task.GetAwaiter().GetResult();
        }
        finally
        {
            _cancel.Dispose();
        }
    }
}

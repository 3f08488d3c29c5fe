using System.Threading.Channels;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Runtime.Sources;

/// <summary>
/// Stored ticks as a source, in the store's order (event time, ties as stored): the store is read on its own task
/// into blocks of ticks, so that reading and the engine run side by side, a few blocks apart.
/// </summary>
/// <remarks>
/// Blocks rather than single ticks: handing a million ticks a second over one by one would cost the engine's
/// thread more than the engine. <see cref="Position"/> counts the ticks read.
/// </remarks>
public sealed class StoreTickSource : ITickSource
{
    private const int BlockSize = 4096;

    private readonly Channel<Tick[]> _blocks;
    private readonly CancellationTokenSource _cancel;
    private readonly Task _pump;
    private Tick[] _block = [];
    private int _next;
    private int _count;
    private Task<bool>? _waiting;

    /// <param name="name">Names the input in messages.</param>
    /// <param name="blocksAhead">Blocks the reader may run ahead of the engine.</param>
    public StoreTickSource(string name, IMarketStore store, TickQuery query, int blocksAhead = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(query);
        Name = name;
        _blocks = Channel.CreateBounded<Tick[]>(new BoundedChannelOptions(blocksAhead) { SingleReader = true, SingleWriter = true });
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _pump = PumpAsync(store.QueryTicksAsync(query, _cancel.Token), _cancel.Token);
    }

    public string Name { get; }

    public long Position { get; private set; }

    public long Line => 0;

    public bool Exhausted { get; private set; }

    public Reject? LastReject => null;

    public SourceStatus Read(out Tick tick, out long position)
    {
        if (_next == _count && !NextBlock())
        {
            tick = default;
            position = 0;
            if (!_blocks.Reader.Completion.IsCompleted)
            {
                return SourceStatus.Empty;
            }

            _blocks.Reader.Completion.GetAwaiter().GetResult(); // the store's error, if it failed
            return SourceStatus.End;
        }

        tick = _block[_next++];
        position = ++Position;
        return SourceStatus.Tick;
    }

    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _waiting ??= _blocks.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
        if (await Task.WhenAny(_waiting, Task.Delay(timeout, cancellationToken)) == _waiting)
        {
            _waiting = null;
        }
    }

    private bool NextBlock()
    {
        if (!_blocks.Reader.TryRead(out var block))
        {
            return false;
        }

        (_block, _next, _count) = (block, 0, block.Length);
        return true;
    }

    private async Task PumpAsync(IAsyncEnumerable<Tick> ticks, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the store is read beside the engine, not on the caller's stack
        try
        {
            var block = new Tick[BlockSize];
            var n = 0;
            await foreach (var tick in ticks)
            {
                block[n++] = tick;
                if (n == BlockSize)
                {
                    await _blocks.Writer.WriteAsync(block, cancellationToken);
                    (block, n) = (new Tick[BlockSize], 0);
                }
            }

            if (n > 0)
            {
                await _blocks.Writer.WriteAsync(block[..n], cancellationToken);
            }

            Exhausted = true;
            _blocks.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _blocks.Writer.TryComplete(e);
        }
    }

    /// <summary>Stops reading (a run that ends early) and waits for the reader.</summary>
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

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

    private readonly Pump<Tick[]> _blocks;
    private Tick[] _block = [];
    private int _next;

    /// <param name="name">Names the input in messages.</param>
    /// <param name="blocksAhead">Blocks the reader may run ahead of the engine.</param>
    public StoreTickSource(string name, IMarketStore store, TickQuery query, int blocksAhead = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(query);
        Name = name;
        _blocks = new Pump<Tick[]>(blocksAhead, (writer, ct) => ReadAsync(store.QueryTicksAsync(query, ct), writer, ct), cancellationToken);
    }

    public string Name { get; }

    public long Position { get; private set; }

    public long Line => 0;

    public bool Exhausted => _blocks.Exhausted;

    public Reject? LastReject => null;

    public SourceStatus Read(out Tick tick, out long position)
    {
        if (_next == _block.Length)
        {
            if (!_blocks.TryRead(out var block))
            {
                (tick, position) = (default, 0);
                if (!_blocks.Completed)
                {
                    return SourceStatus.Empty;
                }

                _blocks.ThrowIfFailed(); // the store's error, if it failed
                return SourceStatus.End;
            }

            (_block, _next) = (block, 0);
        }

        tick = _block[_next++];
        position = ++Position;
        return SourceStatus.Tick;
    }

    public ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _blocks.WaitAsync(timeout, cancellationToken);

    /// <summary>Stops reading (a run that ends early) and waits for the reader.</summary>
    public void Dispose() => _blocks.Dispose();

    private static async Task ReadAsync(IAsyncEnumerable<Tick> ticks, ChannelWriter<Tick[]> writer, CancellationToken cancellationToken)
    {
        var block = new Tick[BlockSize];
        var n = 0;
        await foreach (var tick in ticks)
        {
            block[n++] = tick;
            if (n == BlockSize)
            {
                await writer.WriteAsync(block, cancellationToken);
                (block, n) = (new Tick[BlockSize], 0);
            }
        }

        if (n > 0)
        {
            await writer.WriteAsync(block[..n], cancellationToken);
        }
    }
}

using System.Collections.Concurrent;
using System.Threading.Channels;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Runtime.Sources;

/// <summary>
/// A tick reader run on its own task, a few blocks ahead of the engine: parsing is about half the work of a
/// replay, so on two cores the file is parsed while the engine computes the blocks before.
/// </summary>
/// <remarks>
/// Each entry keeps the reader's position and line after it, so the engine's side sees exactly what reading
/// line by line would have shown: a checkpoint taken between two ticks records the same position. Blocks are
/// handed back once read and used again, so a long file allocates a handful of blocks, not one per 4096 lines.
/// </remarks>
internal sealed class ParseAhead : IDisposable
{
    private const int BlockSize = 4096;
    private const int BlocksAhead = 8;

    private readonly TickStreamReader _reader;
    private readonly Func<long> _bytesRead;
    private readonly string _name;
    private readonly ConcurrentQueue<Block> _free = new();
    private readonly Pump<Block> _blocks;
    private Block? _block;
    private int _next;

    /// <param name="bytesRead">The input's raw position, for progress (the compressed one for a .gz file).</param>
    /// <param name="name">Names the input in the error of a file that cannot be read at all.</param>
    public ParseAhead(TickStreamReader reader, Func<long> bytesRead, string name, CancellationToken stop)
    {
        (_reader, _bytesRead, _name) = (reader, bytesRead, name);
        (Position, Line) = (reader.Position, reader.Line);
        _blocks = new Pump<Block>(BlocksAhead, ParseAsync, stop);
    }

    /// <summary>Past the last entry read.</summary>
    public long Position { get; private set; }

    public long Line { get; private set; }

    /// <summary>Raw bytes read when the current block was parsed.</summary>
    public long BytesRead { get; private set; }

    public bool Exhausted { get; private set; }

    public Reject? LastReject { get; private set; }

    /// <summary>The next entry; <see cref="ReadStatus.End"/> with <paramref name="waiting"/> set when nothing is parsed yet.</summary>
    public ReadStatus Read(out Tick tick, out bool waiting)
    {
        waiting = false;
        var block = _block;
        if (block is null || _next == block.Count)
        {
            if (block is not null)
            {
                if (block.Ended)
                {
                    (Position, Line, Exhausted) = (block.EndPosition, block.EndLine, true);
                    tick = default;
                    return ReadStatus.End;
                }

                _free.Enqueue(block);
                _block = null;
            }

            if (!_blocks.TryRead(out block))
            {
                tick = default;
                if (_blocks.Completed)
                {
                    _blocks.ThrowIfFailed();
                }
                else
                {
                    waiting = true;
                }

                return ReadStatus.End;
            }

            (_block, _next, BytesRead) = (block, 0, block.BytesRead);
            if (block.Count == 0)
            {
                return Read(out tick, out waiting); // only the end
            }
        }

        var i = _next++;
        (Position, Line) = (block.Positions[i], block.Lines[i]);
        if (block.Rejects[i] is { } reject)
        {
            LastReject = reject;
            block.Rejects[i] = null;
            tick = default;
            return ReadStatus.Rejected;
        }

        tick = block.Ticks[i];
        return ReadStatus.Tick;
    }

    public ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _blocks.WaitAsync(timeout, cancellationToken);

    private async Task ParseAsync(ChannelWriter<Block> writer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var block = _free.TryDequeue(out var used) ? used : new Block();
            (block.Count, block.Ended) = (0, false);
            Fill(block);
            await writer.WriteAsync(block, cancellationToken);
            if (block.Ended)
            {
                return;
            }
        }
    }

    private void Fill(Block block)
    {
        while (block.Count < BlockSize)
        {
            ReadStatus status;
            try
            {
                status = _reader.Read(out var tick);
                block.Ticks[block.Count] = tick;
            }
            catch (InvalidDataException e)
            {
                // A CSV without a usable header: the one error that stops a file, since no line can be read.
                throw new InvalidDataException($"{_name}: {e.Message}", e);
            }

            if (status == ReadStatus.End)
            {
                (block.Ended, block.EndPosition, block.EndLine) = (true, _reader.Position, _reader.Line);
                break;
            }

            if (status == ReadStatus.Rejected)
            {
                block.Rejects[block.Count] = _reader.LastReject;
            }

            block.Positions[block.Count] = _reader.Position;
            block.Lines[block.Count] = _reader.Line;
            block.Count++;
        }

        block.BytesRead = _bytesRead();
    }

    /// <summary>Stops the parser and waits for it.</summary>
    public void Dispose() => _blocks.Dispose();

    private sealed class Block
    {
        public readonly Tick[] Ticks = new Tick[BlockSize];
        public readonly long[] Positions = new long[BlockSize];
        public readonly long[] Lines = new long[BlockSize];
        public readonly Reject?[] Rejects = new Reject?[BlockSize];
        public int Count;
        public bool Ended;
        public long EndPosition;
        public long EndLine;
        public long BytesRead;
    }
}

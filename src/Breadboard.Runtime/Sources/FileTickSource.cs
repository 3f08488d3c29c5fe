using System.IO.Compression;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Runtime.Sources;

/// <summary>How a <see cref="FileTickSource"/> reads.</summary>
public sealed record FileSourceOpts
{
    public static FileSourceOpts Default { get; } = new();

    /// <summary>NDJSON or CSV; null decides by the file name.</summary>
    public TickFormat? Format { get; init; }

    /// <summary>Play at this multiple of event time; null reads as fast as the engine takes ticks.</summary>
    public double? Speed { get; init; }

    /// <summary>Where to continue, from a checkpoint: the byte position and the number of the line before it.</summary>
    public long StartPosition { get; init; }

    public long StartLine { get; init; }

    /// <summary>On stop, throw <see cref="OperationCanceledException"/> (an offline run, resumed from its checkpoint) rather than end the input.</summary>
    public bool ThrowOnStop { get; init; }

    /// <summary>Called now and then with (bytes read, bytes total), for a progress bar.</summary>
    public Action<long, long>? Progress { get; init; }

    /// <summary>
    /// Ticks (with their line) that are read past, neither returned nor paced: what a resumed <c>ingest</c> finds
    /// already published.
    /// </summary>
    public Func<Tick, long, bool>? Skip { get; init; }
}

/// <summary>A tick file (NDJSON or CSV, .gz read compressed), read line by line, optionally paced in event time.</summary>
/// <remarks>Unpaced, the file is parsed on its own task ahead of the engine (<see cref="ParseAhead"/>).</remarks>
public sealed class FileTickSource : ITickSource
{
    private const int CheckEvery = 65_536;

    private readonly FileStream _file;
    private readonly Stream _input;
    private readonly TickStreamReader _reader;
    private readonly Pacer? _pacer;
    private readonly ParseAhead? _ahead;
    private readonly FileSourceOpts _opts;
    private readonly CancellationToken _stop;
    private int _sinceCheck;
    private bool _holding;
    private Tick _held;
    private long _heldLine;
    private long _positionBefore;
    private long _lineBefore;

    /// <exception cref="InvalidDataException">The file cannot be read as ticks (a CSV without a usable header), or cannot be resumed at the position; the message names the file.</exception>
    public FileTickSource(string path, FileSourceOpts? opts = null, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        _opts = opts ?? FileSourceOpts.Default;
        _stop = stop;
        Name = path;
        var gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (gzip && _opts.StartPosition > 0)
        {
            throw new InvalidDataException($"{path}: cannot resume inside a gzip input; delete the checkpoint to start over");
        }

        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        try
        {
            if (_opts.StartPosition > _file.Length)
            {
                throw new InvalidDataException($"{path}: the input is shorter than the checkpoint's position; delete the checkpoint to start over");
            }

            _input = gzip ? new GZipStream(_file, CompressionMode.Decompress) : _file;
            _reader = NamedIn(() => new TickStreamReader(_input, _opts.Format ?? TickStreamReader.FormatOf(path), _opts.StartPosition, _opts.StartLine));
        }
        catch
        {
            _file.Dispose();
            throw;
        }

        _pacer = _opts.Speed is { } speed ? new Pacer(speed) : null;
        _ahead = _pacer is null ? new ParseAhead(_reader, () => _file.Position, path, stop) : null;
        (_positionBefore, _lineBefore) = (_opts.StartPosition, _opts.StartLine);
    }

    public string Name { get; }

    /// <summary>Past the last line read, or before a tick still waiting for its time.</summary>
    public long Position => _ahead?.Position ?? (_holding ? _positionBefore : _reader.Position);

    public long Line => _ahead?.Line ?? (_holding ? _lineBefore : _reader.Line);

    public bool Exhausted { get; private set; }

    public Reject? LastReject => _ahead is null ? _reader.LastReject : _ahead.LastReject;

    public SourceStatus Read(out Tick tick, out long position)
    {
        if (_ahead is not null)
        {
            return ReadAhead(_ahead, out tick, out position);
        }

        if (_holding)
        {
            if (_stop.IsCancellationRequested)
            {
                return Stopped(out tick, out position);
            }

            if (_pacer!.Remaining > Pacer.Slack)
            {
                (tick, position) = (default, 0);
                return SourceStatus.Empty;
            }

            _holding = false;
            (tick, position) = (_held, _heldLine);
            return SourceStatus.Tick;
        }

        if (++_sinceCheck == CheckEvery)
        {
            _sinceCheck = 0;
            _opts.Progress?.Invoke(_file.Position, _file.Length);
            if (_stop.IsCancellationRequested)
            {
                return Stopped(out tick, out position);
            }
        }

        ReadStatus status;
        do
        {
            if (_pacer is not null)
            {
                (_positionBefore, _lineBefore) = (_reader.Position, _reader.Line);
            }

            try
            {
                status = _reader.Read(out tick);
            }
            catch (InvalidDataException e)
            {
                // A CSV without a usable header: the one error that stops a file, since no line can be read.
                throw new InvalidDataException($"{Name}: {e.Message}", e);
            }

            position = _reader.Line;
        }
        while (status == ReadStatus.Tick && _opts.Skip is { } skip && skip(tick, position));

        switch (status)
        {
            case ReadStatus.Rejected:
                return SourceStatus.Rejected;
            case ReadStatus.End:
                Exhausted = true;
                _opts.Progress?.Invoke(_file.Length, _file.Length);
                return SourceStatus.End;
        }

        if (_pacer is not null)
        {
            _pacer.Schedule(tick.Ts);
            if (_pacer.Remaining > Pacer.Slack)
            {
                (_holding, _held, _heldLine) = (true, tick, position);
                (tick, position) = (default, 0);
                return SourceStatus.Empty;
            }
        }

        return SourceStatus.Tick;
    }

    private SourceStatus ReadAhead(ParseAhead ahead, out Tick tick, out long position)
    {
        if (++_sinceCheck == CheckEvery)
        {
            _sinceCheck = 0;
            _opts.Progress?.Invoke(ahead.BytesRead, _file.Length);
            if (_stop.IsCancellationRequested)
            {
                return Stopped(out tick, out position);
            }
        }

        ReadStatus status;
        bool waiting;
        do
        {
            status = ahead.Read(out tick, out waiting);
            position = ahead.Line;
        }
        while (status == ReadStatus.Tick && _opts.Skip is { } skip && skip(tick, position));

        switch (status)
        {
            case ReadStatus.Rejected:
                return SourceStatus.Rejected;
            case ReadStatus.End when waiting:
                return SourceStatus.Empty;
            case ReadStatus.End when !ahead.Exhausted:
                return Stopped(out tick, out position); // the parser was stopped
            case ReadStatus.End:
                Exhausted = true;
                _opts.Progress?.Invoke(_file.Length, _file.Length);
                return SourceStatus.End;
        }

        return SourceStatus.Tick;
    }

    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_ahead is not null)
        {
            await _ahead.WaitAsync(timeout, cancellationToken);
            return;
        }

        if (!_holding)
        {
            return;
        }

        // Time has passed since the read that held the tick (a store write, say): it may be due already.
        var wait = _pacer!.Remaining;
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop);
            await Task.Delay(wait < timeout ? wait : timeout, either.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting for the next tick's time: the next read says so.
        }
    }

    private SourceStatus Stopped(out Tick tick, out long position)
    {
        if (_opts.ThrowOnStop)
        {
            _stop.ThrowIfCancellationRequested();
        }

        (tick, position) = (default, 0);
        return SourceStatus.End;
    }

    private T NamedIn<T>(Func<T> open)
    {
        try
        {
            return open();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{Name}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _ahead?.Dispose(); // first: it reads from the reader
        _reader.Dispose();
        _input.Dispose();
        _file.Dispose();
    }
}

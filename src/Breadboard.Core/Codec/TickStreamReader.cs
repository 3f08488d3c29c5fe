using System.Buffers;
using Breadboard.Core.Model;

namespace Breadboard.Core.Codec;

public enum TickFormat
{
    Ndjson,
    Csv,
}

public enum ReadStatus
{
    /// <summary>A tick was read.</summary>
    Tick,

    /// <summary>A line was refused; see <see cref="TickStreamReader.LastReject"/>.</summary>
    Rejected,

    /// <summary>The input is exhausted.</summary>
    End,
}

/// <summary>A line that could not be read as a tick.</summary>
/// <param name="Line">1-based line number in the input.</param>
/// <param name="Reason">One line saying what is wrong.</param>
/// <param name="Raw">The line as it was (cut at 1 KiB).</param>
public sealed record Reject(long Line, string Reason, string Raw);

/// <summary>Reads ticks line by line from NDJSON or CSV, tracking the byte position so a run can resume mid-file.</summary>
/// <remarks>
/// Blank lines are skipped. A bad line becomes a <see cref="Reject"/> and reading goes on. <see cref="Position"/>
/// is the byte offset just past the last line returned, and <see cref="Line"/> its number: a checkpoint stores both
/// and a new reader given them continues with the next line.
/// </remarks>
public sealed class TickStreamReader : IDisposable
{
    private const int MaxRawLength = 1024;

    /// <summary>The longest line read: a tick line is a few hundred bytes, and a line without end must not fill memory.</summary>
    public const int MaxLineLength = 1 << 20;

    private readonly Stream _stream;
    private readonly TickFormat _format;
    private readonly TickJson _json;
    private readonly SymbolTable _symbols;
    private readonly SymbolTable _exchanges;
    private TickCsv? _csv;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(MaxLineLength);
    private int _start;
    private int _end;
    private bool _eof;
    private long _bufferOffset;

    // Set while the rest of a line longer than MaxLineLength is skipped; holds its first bytes for the reject.
    private byte[]? _overlong;

    /// <param name="stream">The input; it must be seekable when <paramref name="startPosition"/> is not 0.</param>
    /// <param name="startPosition">Byte offset to resume at, from an earlier reader's <see cref="Position"/>.</param>
    /// <param name="startLine">The line number of the line before <paramref name="startPosition"/>.</param>
    public TickStreamReader(Stream stream, TickFormat format, long startPosition = 0, long startLine = 0, SymbolTable? symbols = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _format = format;
        _symbols = symbols ?? new SymbolTable();
        _exchanges = new SymbolTable();
        _json = new TickJson(_symbols, _exchanges);
        if (startPosition > 0)
        {
            if (format == TickFormat.Csv)
            {
                // The header is needed again to know the columns.
                _stream.Seek(0, SeekOrigin.Begin);
                ReadHeader();
            }

            _stream.Seek(startPosition, SeekOrigin.Begin);
            _bufferOffset = startPosition;
            _start = _end = 0;
            _eof = false;
            Position = startPosition;
            Line = startLine;
        }
    }

    /// <summary>Byte offset just past the last line read.</summary>
    public long Position { get; private set; }

    /// <summary>Number of the last line read (1-based; 0 before the first).</summary>
    public long Line { get; private set; }

    /// <summary>Symbols seen so far, interned.</summary>
    public SymbolTable Symbols => _symbols;

    /// <summary>The reason for the last <see cref="ReadStatus.Rejected"/>.</summary>
    public Reject? LastReject { get; private set; }

    /// <summary>Picks the format from a file name: .csv (optionally .gz) is CSV, anything else NDJSON.</summary>
    public static TickFormat FormatOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? TickFormat.Csv : TickFormat.Ndjson;
    }

    public ReadStatus Read(out Tick tick)
    {
        while (true)
        {
            if (!NextLine(out var line))
            {
                tick = default;
                return ReadStatus.End;
            }

            if (_overlong is not null)
            {
                LastReject = new Reject(Line, $"the line is longer than {MaxLineLength:N0} bytes", System.Text.Encoding.UTF8.GetString(_overlong));
                _overlong = null;
                tick = default;
                return ReadStatus.Rejected;
            }

            if (IsBlank(line))
            {
                continue;
            }

            if (_format == TickFormat.Csv && _csv is null)
            {
                if (!TickCsv.TryCreate(line, out _csv, out var headerError, _symbols, _exchanges))
                {
                    throw new InvalidDataException($"line {Line}: {headerError}");
                }

                continue;
            }

            string? error;
            var ok = _format == TickFormat.Csv
                ? _csv!.TryParse(line, out tick, out error)
                : _json.TryParse(line, out tick, out error);
            if (ok)
            {
                return ReadStatus.Tick;
            }

            var raw = line.Length > MaxRawLength ? line[..MaxRawLength] : line;
            LastReject = new Reject(Line, error!, System.Text.Encoding.UTF8.GetString(raw));
            return ReadStatus.Rejected;
        }
    }

    private void ReadHeader()
    {
        while (NextLine(out var line))
        {
            if (IsBlank(line))
            {
                continue;
            }

            if (!TickCsv.TryCreate(line, out _csv, out var error, _symbols, _exchanges))
            {
                throw new InvalidDataException($"line {Line}: {error}");
            }

            return;
        }

        throw new InvalidDataException("the CSV input has no header row");
    }

    private bool NextLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var newline = available.IndexOf((byte)'\n');
            if (newline >= 0 || (_eof && available.Length > 0))
            {
                var length = newline >= 0 ? newline : available.Length;
                line = available[..length];
                if (Line == 0 && Position == 0 && line.StartsWith("\uFEFF"u8))
                {
                    line = line[3..]; // a UTF-8 byte-order mark
                }

                if (!line.IsEmpty && line[^1] == (byte)'\r')
                {
                    line = line[..^1];
                }

                var consumed = newline >= 0 ? newline + 1 : available.Length;
                _start += consumed;
                Position = _bufferOffset + _start;
                Line++;
                return true;
            }

            if (_eof)
            {
                line = default;
                if (_overlong is null)
                {
                    return false;
                }

                Line++; // the overlong line ran to the end of the input
                Position = _bufferOffset + _start;
                return true;
            }

            if (_start == 0 && _end == _buffer.Length)
            {
                // No end in sight within the longest line allowed: keep its start for the reject, skip the rest.
                _overlong ??= _buffer.AsSpan(0, MaxRawLength).ToArray();
                _start = _end;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t"u8).IsEmpty;

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}

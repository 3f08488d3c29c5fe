using System.Buffers.Binary;

namespace Breadboard.ClickHouse;

/// <summary>Reads the columns of <c>RowBinary</c> rows in order: strings as a LEB128 length and their bytes,
/// numbers little-endian (the layout <see cref="TickRows"/> writes).</summary>
public ref struct RowBinaryReader(ReadOnlySpan<byte> rows)
{
    /// <summary>Reads one row's columns and makes the row of them.</summary>
    public delegate T Row<out T>(ref RowBinaryReader reader);

    private readonly ReadOnlySpan<byte> _rows = rows;
    private int _at;

    public readonly bool End => _at == _rows.Length;

    /// <summary>A String column's bytes (UTF-8), valid as long as the answer is.</summary>
    public ReadOnlySpan<byte> Text()
    {
        ulong length = 0;
        for (var shift = 0; ; shift += 7)
        {
            // At most 9 bytes encode a 64-bit length; a longer run, or one past the end, is a broken answer.
            if (shift > 56 || _at == _rows.Length)
            {
                throw new InvalidDataException($"RowBinary answer broken at byte {_at}: a string's length runs on");
            }

            var b = _rows[_at++];
            length |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        return length > (ulong)(_rows.Length - _at)
            ? throw new InvalidDataException($"RowBinary answer broken at byte {_at}: a string of {length} bytes, {_rows.Length - _at} left")
            : Take((int)length);
    }

    /// <summary>An Int64 column.</summary>
    public long Number() => BinaryPrimitives.ReadInt64LittleEndian(Fixed(sizeof(long)));

    private ReadOnlySpan<byte> Fixed(int length) =>
        length > _rows.Length - _at
            ? throw new InvalidDataException($"RowBinary answer broken at byte {_at}: {length} bytes wanted, {_rows.Length - _at} left")
            : Take(length);

    private ReadOnlySpan<byte> Take(int length)
    {
        var span = _rows.Slice(_at, length);
        _at += length;
        return span;
    }
}

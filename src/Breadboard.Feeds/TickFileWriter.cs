using System.Buffers;
using System.Globalization;
using System.Text;
using Breadboard.Core.Model;

namespace Breadboard.Feeds;

/// <summary>Writes ticks as NDJSON or CSV tick files, formatting straight into pooled UTF-8 buffers.</summary>
/// <remarks>
/// One line per tick, LF-terminated: ts as ISO-8601 UTC with milliseconds, doubles in their shortest round-trip
/// form (invariant culture, so 1E-05 may appear), trade_id and exchange left out (NDJSON) or empty (CSV) when
/// absent. Prices and volumes must be finite: JSON has no NaN and no reader here accepts one.
/// </remarks>
public static class TickFileWriter
{
    /// <summary>The CSV header line, without its line feed.</summary>
    public const string CsvHeader = "symbol,ts,price,volume,trade_id,exchange,asset_class";

    private const int BufferSize = 1 << 16;

    // Room for a line's fixed parts: the literals, a 24-byte timestamp, two doubles of at most 24 bytes each.
    private const int FixedLineBytes = 256;

    // A UTF-16 char takes at most 6 bytes: "\u001f" escaped in JSON; 3 in UTF-8 and 2 for a doubled CSV quote.
    private const int MaxBytesPerChar = 6;

    private static readonly SearchValues<char> JsonPlain = SearchValues.Create(PrintableAsciiExcept("\"\\"));
    private static readonly SearchValues<char> CsvPlain = SearchValues.Create(PrintableAsciiExcept(",\""));
    private static readonly SearchValues<char> CsvNeedsQuotes = SearchValues.Create(",\"\r\n");

    /// <summary>Writes one JSON object per line; returns the number of ticks written.</summary>
    public static long WriteNdjson(Stream stream, IEnumerable<Tick> ticks) => Write(stream, ticks, csv: false);

    /// <summary>Writes <see cref="CsvHeader"/> and one row per tick; returns the number of ticks written.</summary>
    public static long WriteCsv(Stream stream, IEnumerable<Tick> ticks) => Write(stream, ticks, csv: true);

    private static long Write(Stream stream, IEnumerable<Tick> ticks, bool csv)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(ticks);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var position = 0;
            if (csv)
            {
                position = Encoding.ASCII.GetBytes(CsvHeader, buffer);
                buffer[position++] = (byte)'\n';
            }

            long count = 0;
            foreach (var tick in ticks)
            {
                if (!double.IsFinite(tick.Price) || !double.IsFinite(tick.Volume))
                {
                    throw new ArgumentException(
                        $"tick {count} ({tick.Symbol} at {EventTime.ToIso(tick.Ts)}) has a non-finite price or volume", nameof(ticks));
                }

                // A numeric trade id still costs its ToString: TradeId has no allocation-free formatter.
                var tradeId = tick.TradeId.ToString();
                var bound = FixedLineBytes + (MaxBytesPerChar * (tick.Symbol.Length + (tick.Exchange?.Length ?? 0) + (tradeId?.Length ?? 0)));
                if (buffer.Length - position < bound)
                {
                    stream.Write(buffer, 0, position);
                    position = 0;
                    if (buffer.Length < bound)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(bound);
                    }
                }

                var line = buffer.AsSpan(position);
                position += csv ? FormatCsv(tick, tradeId, line) : FormatJson(tick, tradeId, line);
                count++;
            }

            stream.Write(buffer, 0, position);
            stream.Flush();
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int FormatJson(in Tick tick, string? tradeId, Span<byte> d)
    {
        var p = Literal("{\"symbol\":"u8, d);
        p += JsonString(tick.Symbol, d[p..]);
        p += Literal(",\"ts\":\""u8, d[p..]);
        p += EventTime.FormatIso(tick.Ts, d[p..]);
        p += Literal("\",\"price\":"u8, d[p..]);
        p += Number(tick.Price, d[p..]);
        p += Literal(",\"volume\":"u8, d[p..]);
        p += Number(tick.Volume, d[p..]);
        if (tradeId is not null)
        {
            p += Literal(",\"trade_id\":"u8, d[p..]);
            p += JsonString(tradeId, d[p..]);
        }

        if (tick.Exchange is not null)
        {
            p += Literal(",\"exchange\":"u8, d[p..]);
            p += JsonString(tick.Exchange, d[p..]);
        }

        p += Literal(",\"asset_class\":\""u8, d[p..]);
        p += AsciiText(AssetClasses.Name(tick.AssetClass), d[p..]);
        p += Literal("\"}\n"u8, d[p..]);
        return p;
    }

    private static int FormatCsv(in Tick tick, string? tradeId, Span<byte> d)
    {
        var p = CsvField(tick.Symbol, d);
        d[p++] = (byte)',';
        p += EventTime.FormatIso(tick.Ts, d[p..]);
        d[p++] = (byte)',';
        p += Number(tick.Price, d[p..]);
        d[p++] = (byte)',';
        p += Number(tick.Volume, d[p..]);
        d[p++] = (byte)',';
        p += tradeId is null ? 0 : CsvField(tradeId, d[p..]);
        d[p++] = (byte)',';
        p += tick.Exchange is null ? 0 : CsvField(tick.Exchange, d[p..]);
        d[p++] = (byte)',';
        p += AsciiText(AssetClasses.Name(tick.AssetClass), d[p..]);
        d[p++] = (byte)'\n';
        return p;
    }

    private static int Literal(ReadOnlySpan<byte> literal, Span<byte> d)
    {
        literal.CopyTo(d);
        return literal.Length;
    }

    private static int Number(double value, Span<byte> d)
    {
        // The default format of double is the shortest text that parses back to the same double.
        value.TryFormat(d, out var written, default, CultureInfo.InvariantCulture);
        return written;
    }

    private static int AsciiText(ReadOnlySpan<char> text, Span<byte> d)
    {
        System.Text.Ascii.FromUtf16(text, d, out var written);
        return written;
    }

    private static int JsonString(string text, Span<byte> d)
    {
        d[0] = (byte)'"';
        var p = 1;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var special = rest.IndexOfAnyExcept(JsonPlain);
            if (special < 0)
            {
                p += AsciiText(rest, d[p..]);
                break;
            }

            p += AsciiText(rest[..special], d[p..]);
            rest = rest[special..];
            var c = rest[0];
            if (c >= 0x80)
            {
                // Keep a non-ASCII run whole so surrogate pairs reach the encoder together.
                var end = rest.IndexOfAnyInRange('\0', '\x7f');
                var run = end < 0 ? rest : rest[..end];
                p += Encoding.UTF8.GetBytes(run, d[p..]);
                rest = rest[run.Length..];
                continue;
            }

            d[p++] = (byte)'\\';
            switch (c)
            {
                case '"' or '\\':
                    d[p++] = (byte)c;
                    break;
                case '\n':
                    d[p++] = (byte)'n';
                    break;
                case '\r':
                    d[p++] = (byte)'r';
                    break;
                case '\t':
                    d[p++] = (byte)'t';
                    break;
                default:
                    d[p++] = (byte)'u';
                    d[p++] = (byte)'0';
                    d[p++] = (byte)'0';
                    d[p++] = (byte)"0123456789abcdef"[c >> 4];
                    d[p++] = (byte)"0123456789abcdef"[c & 0xf];
                    break;
            }

            rest = rest[1..];
        }

        d[p++] = (byte)'"';
        return p;
    }

    private static int CsvField(string text, Span<byte> d)
    {
        var span = text.AsSpan();
        if (!span.ContainsAnyExcept(CsvPlain))
        {
            return AsciiText(span, d);
        }

        if (!span.ContainsAny(CsvNeedsQuotes))
        {
            return Encoding.UTF8.GetBytes(span, d);
        }

        // RFC 4180: quote the field and double the quotes inside it.
        d[0] = (byte)'"';
        var p = 1;
        while (true)
        {
            var quote = span.IndexOf('"');
            var part = quote < 0 ? span : span[..(quote + 1)];
            p += Encoding.UTF8.GetBytes(part, d[p..]);
            if (quote < 0)
            {
                break;
            }

            d[p++] = (byte)'"';
            span = span[(quote + 1)..];
        }

        d[p++] = (byte)'"';
        return p;
    }

    private static string PrintableAsciiExcept(string excluded)
    {
        var chars = new StringBuilder();
        for (var c = ' '; c <= '\x7f'; c++)
        {
            if (!excluded.Contains(c, StringComparison.Ordinal))
            {
                chars.Append(c);
            }
        }

        return chars.ToString();
    }
}

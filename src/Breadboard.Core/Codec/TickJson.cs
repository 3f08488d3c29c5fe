using System.Buffers.Text;
using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Core.Codec;

/// <summary>A tick as a JSON object, the form ticks take in NDJSON files and on the Kafka bus: parsing, and the shared field writer.</summary>
/// <remarks>
/// Accepted: <c>{"symbol":"BTC-USD","ts":"2026-01-02T14:30:00.123Z","price":43125.5,"volume":0.25,
/// "trade_id":"9","exchange":"coinbase","asset_class":"crypto"}</c>. ts may be ISO-8601 with a zone or integer
/// epoch ms; numbers may also come as strings (as several venues send them); unknown fields are ignored; when
/// asset_class is absent it is inferred from the symbol. A valid line allocates nothing once its symbol and
/// exchange have been seen (non-numeric trade ids excepted).
/// </remarks>
public sealed class TickJson
{
    private readonly SymbolTable _symbols;
    private readonly SymbolTable _exchanges;

    public TickJson(SymbolTable? symbols = null, SymbolTable? exchanges = null)
    {
        _symbols = symbols ?? new SymbolTable();
        _exchanges = exchanges ?? new SymbolTable();
    }

    /// <summary>Parses <paramref name="utf8"/>; on failure returns false with a one-line reason.</summary>
    public bool TryParse(ReadOnlySpan<byte> utf8, out Tick tick, out string? error)
    {
        error = null;
        return TryParseCanonical(utf8, out tick) || TryParseAny(utf8, out tick, out error);
    }

    /// <summary>
    /// The tick line as our writers write it (<see cref="WriteFields"/>: these fields in this order, no spaces, no
    /// escapes, ASCII), read without a JSON reader: most lines of a replay or the bus take this way, in a third of
    /// the time. Anything else (another order, spaces, escapes, an extra field, a value out of bounds) returns
    /// false and goes the general way, which accepts or refuses it with its reason; so this path decides nothing
    /// the general one would decide otherwise: the values come from the same parsers (a JSON number's grammar is
    /// checked first, since <see cref="Utf8Parser"/> takes more than JSON does).
    /// </summary>
    internal bool TryParseCanonical(ReadOnlySpan<byte> s, out Tick tick)
    {
        tick = default;
        if (!s.StartsWith("{\"symbol\":\""u8))
        {
            return false;
        }

        var rest = s[11..];
        if (!TakePlainString(ref rest, out var symbolText) || !rest.StartsWith(",\"ts\":\""u8))
        {
            return false;
        }

        rest = rest[7..];
        if (!TakePlainString(ref rest, out var tsText) || !TryParseTs(tsText, out var ts)
            || !rest.StartsWith(",\"price\":"u8))
        {
            return false;
        }

        rest = rest[9..];
        if (!TakeNumber(ref rest, out var price) || !rest.StartsWith(",\"volume\":"u8))
        {
            return false;
        }

        rest = rest[10..];
        if (!TakeNumber(ref rest, out var volume))
        {
            return false;
        }

        var tradeId = TradeId.None;
        if (rest.StartsWith(",\"trade_id\":\""u8))
        {
            rest = rest[13..];
            if (!TakePlainString(ref rest, out var idText) || idText.IsEmpty)
            {
                return false;
            }

            tradeId = TradeId.FromUtf8(idText);
        }

        string? exchange = null;
        if (rest.StartsWith(",\"exchange\":\""u8))
        {
            rest = rest[13..];
            if (!TakePlainString(ref rest, out var exchangeText) || (exchange = _exchanges.Intern(exchangeText)) is null)
            {
                return false;
            }
        }

        if (!rest.StartsWith(",\"asset_class\":\""u8))
        {
            return false;
        }

        rest = rest[16..];
        if (!TakePlainString(ref rest, out var classText) || rest is not [(byte)'}'] || !TryParseAssetClass(classText, out var assetClass)
            || TickLimits.Check(price, volume) is not null || _symbols.Intern(symbolText) is not { } symbol)
        {
            return false;
        }

        tick = new Tick(symbol, ts, price, volume, tradeId, exchange, assetClass);
        return true;
    }

    /// <summary>A string's text up to its closing quote, when it is printable ASCII without escapes; <paramref name="rest"/> continues after the quote.</summary>
    private static bool TakePlainString(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> text)
    {
        var quote = rest.IndexOf((byte)'"');
        text = quote < 0 ? default : rest[..quote];
        if (quote < 0 || text.ContainsAny(NotPlain))
        {
            return false;
        }

        rest = rest[(quote + 1)..];
        return true;
    }

    // Control characters, the escape character and anything not ASCII.
    private static readonly System.Buffers.SearchValues<byte> NotPlain = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'\\', .. Enumerable.Range(0x7F, 0x81).Select(b => (byte)b)]);

    /// <summary>A JSON number (its grammar checked), parsed as <see cref="Utf8JsonReader.TryGetDouble"/> parses it; finite only.</summary>
    private static bool TakeNumber(ref ReadOnlySpan<byte> rest, out double value)
    {
        value = 0;
        var i = 0;
        var negative = i < rest.Length && rest[i] == '-';
        if (negative)
        {
            i++;
        }

        // Digits as one integer, for the exact way below: at most 15 of them, so it stays below 2^53.
        ulong mantissa = 0;
        var digits = 0;
        var fraction = 0;
        if (i < rest.Length && rest[i] == '0')
        {
            (i, digits) = (i + 1, 1);
        }
        else if (!Digits(rest, ref i, ref mantissa, ref digits))
        {
            return false;
        }

        if (i < rest.Length && rest[i] == '.')
        {
            i++;
            var before = digits;
            if (!Digits(rest, ref i, ref mantissa, ref digits))
            {
                return false;
            }

            fraction = digits - before;
        }

        var exponent = i < rest.Length && (rest[i] | 0x20) == 'e';
        if (exponent)
        {
            i++;
            if (i < rest.Length && rest[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            if (!Digits(rest, ref i, ref mantissa, ref digits))
            {
                return false;
            }
        }

        if (!exponent && digits <= 15 && mantissa != 0)
        {
            // Both the integer and the power of ten are exact doubles, and IEEE division rounds correctly: the
            // nearest double to the decimal, which is what any correct parser gives (Clinger's fast path).
            value = mantissa / PowersOfTen[fraction];
            value = negative ? -value : value;
        }
        else if (!Utf8Parser.TryParse(rest[..i], out value, out var consumed, exponent ? 'e' : default) || consumed != i || !double.IsFinite(value))
        {
            return false;
        }

        rest = rest[i..];
        return true;
    }

    private static readonly double[] PowersOfTen = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>Digits from <paramref name="i"/> on, counted and (while they fit) added to <paramref name="mantissa"/>; false when there are none.</summary>
    private static bool Digits(ReadOnlySpan<byte> s, ref int i, ref ulong mantissa, ref int digits)
    {
        var start = i;
        while (i < s.Length && (uint)(s[i] - '0') <= 9)
        {
            if (++digits <= 15)
            {
                mantissa = (mantissa * 10) + (uint)(s[i] - '0');
            }

            i++;
        }

        return i > start;
    }

    /// <summary>Any JSON object with the tick's fields, in any order, with escapes, numbers as strings and so on.</summary>
    internal bool TryParseAny(ReadOnlySpan<byte> utf8, out Tick tick, out string? error)
    {
        tick = default;
        string? symbol = null;
        string? exchange = null;
        long ts = 0;
        double price = 0, volume = 0;
        var tradeId = TradeId.None;
        AssetClass? assetClass = null;
        bool hasTs = false, hasPrice = false, hasVolume = false;

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("symbol"u8))
                {
                    reader.Read();
                    symbol = reader.TokenType == JsonTokenType.String ? InternString(ref reader, _symbols) : null;
                    if (symbol is null)
                    {
                        error = "field 'symbol' must be a non-empty string of at most 64 characters without spaces";
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("ts"u8))
                {
                    reader.Read();
                    if (!TryReadTs(ref reader, out ts))
                    {
                        error = "field 'ts' must be an ISO-8601 time with a zone (2026-01-02T14:30:00.123Z) or epoch milliseconds";
                        return false;
                    }

                    hasTs = true;
                }
                else if (reader.ValueTextEquals("price"u8))
                {
                    reader.Read();
                    if (!TryReadNumber(ref reader, out price))
                    {
                        error = $"field 'price' must be {TickLimits.PriceRule}";
                        return false;
                    }

                    hasPrice = true;
                }
                else if (reader.ValueTextEquals("volume"u8))
                {
                    reader.Read();
                    if (!TryReadNumber(ref reader, out volume))
                    {
                        error = $"field 'volume' must be {TickLimits.VolumeRule}";
                        return false;
                    }

                    hasVolume = true;
                }
                else if (reader.ValueTextEquals("trade_id"u8))
                {
                    reader.Read();
                    if (!TryReadTradeId(ref reader, out tradeId))
                    {
                        error = "field 'trade_id' must be a string or a non-negative integer";
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("exchange"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        exchange = null;
                    }
                    else if (reader.TokenType != JsonTokenType.String || (exchange = InternString(ref reader, _exchanges)) is null)
                    {
                        error = "field 'exchange' must be a short string";
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("asset_class"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        assetClass = null;
                    }
                    else if (reader.TokenType == JsonTokenType.String && TryReadAssetClass(ref reader, out var parsed))
                    {
                        assetClass = parsed;
                    }
                    else
                    {
                        error = "field 'asset_class' must be \"stock\" or \"crypto\"";
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "malformed JSON: expected one object";
                return false;
            }
        }
        catch (JsonException e)
        {
            error = "malformed JSON: " + FirstSentence(e.Message);
            return false;
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader does not validate strings as it reads them: unescaping or comparing one (a field name
            // too) throws this for a lone surrogate escape (\ud800) or bytes that are not UTF-8. Found by fuzzing.
            error = "malformed JSON: a string is not valid UTF-8 or has an invalid \\u escape";
            return false;
        }

        error = symbol is null ? "missing field 'symbol'"
            : !hasTs ? "missing field 'ts'"
            : !hasPrice ? "missing field 'price'"
            : !hasVolume ? "missing field 'volume'"
            : TickLimits.Check(price, volume);
        if (error is not null)
        {
            return false;
        }

        tick = new Tick(symbol!, ts, price, volume, tradeId, exchange, assetClass ?? AssetClasses.Infer(symbol!));
        return true;
    }

    private static string? InternString(ref Utf8JsonReader reader, SymbolTable table)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return table.Intern(reader.ValueSpan);
        }

        Span<byte> buffer = stackalloc byte[MaxEscapedLength];
        var length = Unescape(ref reader, buffer);
        return length < 0 ? null : table.Intern(buffer[..length]);
    }

    // \uXXXX takes six bytes for what may be one; anything longer is too long for a symbol or a number.
    private const int MaxEscapedLength = SymbolTable.MaxLength * 4 * 6;

    /// <summary>Unescapes the string token into <paramref name="buffer"/>; returns its length, or −1 when it does not fit.</summary>
    private static int Unescape(ref Utf8JsonReader reader, scoped Span<byte> buffer)
    {
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        return length > buffer.Length ? -1 : reader.CopyString(buffer);
    }

    /// <summary>Writes a tick's fields (not the braces) in the tick line's form; trade_id as a string, as in files.</summary>
    public static void WriteFields(Utf8JsonWriter writer, in Tick tick)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("symbol"u8, tick.Symbol);
        WriteTime(writer, "ts"u8, tick.Ts);
        writer.WriteNumber("price"u8, tick.Price);
        writer.WriteNumber("volume"u8, tick.Volume);
        if (tick.TradeId.HasValue)
        {
            writer.WriteString("trade_id"u8, tick.TradeId.ToString());
        }

        if (tick.Exchange is not null)
        {
            writer.WriteString("exchange"u8, tick.Exchange);
        }

        writer.WriteString("asset_class"u8, AssetClasses.Name(tick.AssetClass));
    }

    /// <summary>
    /// A tick as its NDJSON line (without the newline), for a reject or a dead letter: the values the tick was
    /// refused for are written too, a time no date can show as epoch ms and a number JSON cannot hold as a string.
    /// </summary>
    public static string ToJson(in Tick tick)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("symbol"u8, tick.Symbol);
            if (tick.Ts is >= EventTime.MinMs and <= EventTime.MaxMs)
            {
                WriteTime(writer, "ts"u8, tick.Ts);
            }
            else
            {
                writer.WriteNumber("ts"u8, tick.Ts);
            }

            WriteAnyNumber(writer, "price"u8, tick.Price);
            WriteAnyNumber(writer, "volume"u8, tick.Volume);
            if (tick.TradeId.HasValue)
            {
                writer.WriteString("trade_id"u8, tick.TradeId.ToString());
            }

            if (tick.Exchange is not null)
            {
                writer.WriteString("exchange"u8, tick.Exchange);
            }

            writer.WriteString("asset_class"u8, AssetClasses.Name(tick.AssetClass));
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteAnyNumber(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteString(name, TickLimits.Format(value));
        }
    }

    /// <summary>Writes an event time as an ISO-8601 string property without allocating.</summary>
    public static void WriteTime(Utf8JsonWriter writer, ReadOnlySpan<byte> name, long ms)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> text = stackalloc byte[24];
        EventTime.FormatIso(ms, text);
        writer.WriteString(name, text);
    }

    /// <summary>Parses a ts given as text: ISO-8601 with a zone, or integer epoch milliseconds.</summary>
    public static bool TryParseTs(ReadOnlySpan<byte> text, out long ms)
    {
        if (Utf8Parser.TryParse(text, out ms, out var consumed) && consumed == text.Length)
        {
            return ms is >= EventTime.MinMs and <= EventTime.MaxMs;
        }

        return EventTime.TryParseIso(text, out ms);
    }

    /// <summary>Parses a decimal number given as text; "NaN" and "Infinity" parse, and callers refuse them as not finite.</summary>
    public static bool TryParseNumber(ReadOnlySpan<byte> text, out double value) =>
        Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;

    private static bool TryReadTs(ref Utf8JsonReader reader, out long ms)
    {
        ms = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.TryGetInt64(out ms) && ms is >= EventTime.MinMs and <= EventTime.MaxMs;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            return TryParseTs(reader.ValueSpan, out ms);
        }

        Span<byte> buffer = stackalloc byte[MaxEscapedLength];
        var length = Unescape(ref reader, buffer);
        return length >= 0 && TryParseTs(buffer[..length], out ms);
    }

    private static bool TryReadNumber(ref Utf8JsonReader reader, out double value)
    {
        value = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.TryGetDouble(out value);
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            return TryParseNumber(reader.ValueSpan, out value);
        }

        Span<byte> buffer = stackalloc byte[MaxEscapedLength];
        var length = Unescape(ref reader, buffer);
        return length >= 0 && TryParseNumber(buffer[..length], out value);
    }

    private static bool TryReadTradeId(ref Utf8JsonReader reader, out TradeId id)
    {
        id = TradeId.None;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return true;
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var number) && number >= 0)
                {
                    id = TradeId.FromNumber(number);
                    return true;
                }

                return false;
            case JsonTokenType.String:
                if (reader.ValueIsEscaped)
                {
                    id = TradeId.FromText(reader.GetString()!);
                }
                else
                {
                    id = TradeId.FromUtf8(reader.ValueSpan);
                }

                return id.IsNumber || id.ToString()!.Length > 0;
            default:
                return false;
        }
    }

    private static bool TryReadAssetClass(ref Utf8JsonReader reader, out AssetClass assetClass)
    {
        Span<byte> buffer = stackalloc byte[64];
        assetClass = AssetClass.Stock;
        var length = Unescape(ref reader, buffer);
        return length >= 0 && TryParseAssetClass(buffer[..length], out assetClass);
    }

    /// <summary>"stock" or "crypto", in any case.</summary>
    public static bool TryParseAssetClass(ReadOnlySpan<byte> text, out AssetClass assetClass)
    {
        assetClass = AssetClass.Stock;
        if (System.Text.Ascii.EqualsIgnoreCase(text, "crypto"u8))
        {
            assetClass = AssetClass.Crypto;
            return true;
        }

        return System.Text.Ascii.EqualsIgnoreCase(text, "stock"u8);
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}

using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using static Breadboard.Feeds.Live.VenueJson;

namespace Breadboard.Feeds.Live.Binance;

/// <summary>
/// Binance spot's public market streams: one <c>&lt;symbol&gt;@aggTrade</c> stream per symbol on a combined-stream
/// connection, each event one taker order's fills at one price, numbered by a consecutive aggregate trade id.
/// </summary>
/// <remarks>
/// <para>No key is needed. A connection may carry at most 1024 streams and receive at most 5 messages a second
/// (pings, pongs and subscribe requests alike), hence one SUBSCRIBE for all symbols. Binance ends every connection
/// after 24 hours; <c>LiveFeed</c> reconnects. <c>wss://data-stream.binance.vision/stream</c> serves the same
/// market data and can be given as <c>--feed-url</c>.</para>
/// <para>Times are epoch milliseconds unless the URL asks for <c>timeUnit=MICROSECOND</c>; such a trade time is
/// beyond year 9999 in milliseconds and is refused as malformed rather than misread.</para>
/// <para>Aggregate trade ids are consecutive per symbol, so a jump is reported as a sequence gap of that symbol.
/// The last id is forgotten on reconnect: the trades missed while disconnected are <c>LiveFeed</c>'s disconnect gap.</para>
/// <para>Payloads of raw streams (<c>/ws/...</c>, without the <c>{"stream","data"}</c> wrapper) are read too.</para>
/// </remarks>
public sealed class BinanceProtocol : IVenueProtocol
{
    public const string VenueName = "binance";

    /// <summary>Binance's limit of streams per connection.</summary>
    public const int MaxStreams = 1024;

    private const int MaxEscapedValueBytes = 128;

    private readonly string[] _symbols;
    private readonly SymbolMap _map;

    /// <summary>Where escaped JSON strings are unescaped (rare; one protocol instance decodes one message at a time).</summary>
    private readonly byte[] _scratch = new byte[MaxEscapedValueBytes];

    /// <summary>The last aggregate trade id per user symbol on this connection.</summary>
    private readonly Dictionary<string, long> _lastIds = new(StringComparer.Ordinal);

    /// <param name="symbols">The user's symbols (BTC-USD, ETH-BTC, or Binance's own BTCUSDT).</param>
    public BinanceProtocol(IReadOnlyList<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (symbols.Count == 0)
        {
            throw new ArgumentException("at least one symbol is needed", nameof(symbols));
        }

        _symbols = [.. symbols];
        _map = new SymbolMap(_symbols, BinanceSymbols.ToPair);
        if (_map.VenueSymbols.Count() > MaxStreams)
        {
            throw new ArgumentException($"Binance allows at most {MaxStreams} streams per connection", nameof(symbols));
        }
    }

    public string Name => VenueName;

    public AssetClass AssetClass => AssetClass.Crypto;

    public Uri DefaultUrl { get; } = new("wss://stream.binance.com:9443/stream");

    /// <summary>
    /// Binance sends no heartbeat messages and an illiquid pair can be quiet for minutes, so silence only catches a
    /// connection that has been dead for long; the WebSocket ping/pong keep-alive is what finds a dead socket early.
    /// </summary>
    public TimeSpan SilenceTimeout => TimeSpan.FromMinutes(5);

    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>One SUBSCRIBE for every symbol's aggTrade stream (stream names are lower case).</summary>
    public IReadOnlyList<string> OpeningFrames()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("method"u8, "SUBSCRIBE"u8);
            json.WriteStartArray("params"u8);
            foreach (var venueSymbol in _map.VenueSymbols)
            {
                json.WriteStringValue(venueSymbol.ToLowerInvariant() + "@aggTrade");
            }

            json.WriteEndArray();
            json.WriteNumber("id"u8, 1);
            json.WriteEndObject();
        }

        return [Encoding.UTF8.GetString(buffer.WrittenSpan)];
    }

    public void OnConnected() => _lastIds.Clear();

    public DecodeOutcome Decode(ReadOnlySpan<byte> message, IFeedSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            return DecodeMessage(message, sink);
        }
        catch (JsonException e)
        {
            // Only the first pass reads unvalidated JSON, so nothing was emitted before this.
            return DecodeOutcome.Malformed("invalid JSON: " + e.Message.ReplaceLineEndings(" "));
        }
        catch (InvalidOperationException e)
        {
            // A string with a lone surrogate escape or bytes that are not UTF-8, noticed only when it is unescaped or
            // compared (found by fuzzing); the one trade of a message is handed on last, so nothing was emitted.
            return DecodeOutcome.Malformed("invalid JSON: " + OneLine(e.Message));
        }
    }

    private DecodeOutcome DecodeMessage(ReadOnlySpan<byte> message, IFeedSink sink)
    {
        // First pass: the envelope, skipping (and so validating) the payload, whose reader state is kept.
        var reader = new Utf8JsonReader(message);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return DecodeOutcome.Malformed("not a JSON object");
        }

        var start = reader;
        var hasData = false;
        var data = default(Utf8JsonReader);
        var hasEvent = false;
        var hasResult = false;
        var hasId = false;
        string? error = null;
        long? code = null;
        string? msg = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                data = reader;
                hasData = true;
            }
            else if (reader.ValueTextEquals("e"u8))
            {
                hasEvent = true;
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                hasResult = true;
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                hasId = true;
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = ReadError(ref reader);
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                code = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;
            }
            else if (reader.ValueTextEquals("msg"u8))
            {
                reader.Read();
                msg = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Skip();
        }

        if (reader.Read())
        {
            return DecodeOutcome.Malformed("data after the JSON object");
        }

        if (error is not null)
        {
            return DecodeOutcome.VenueError(error);
        }

        // The error table of Binance's stream docs shows errors without the "error" wrapper.
        if (code is not null && msg is not null && !hasData && !hasEvent)
        {
            return DecodeOutcome.VenueError(Truncate(OneLine(string.Create(CultureInfo.InvariantCulture, $"code {code}: {msg}"))));
        }

        if (hasData)
        {
            return DecodePayload(ref data, sink);
        }

        if (hasEvent)
        {
            return DecodePayload(ref start, sink);
        }

        if (hasResult && hasId)
        {
            return DecodeOutcome.Control; // {"result":null,"id":1}: the subscription was accepted
        }

        return DecodeOutcome.Unknown("neither stream data, event, result nor error");
    }

    /// <summary><c>{"code":2,"msg":"Invalid request: ..."}</c> as one line; the reader is left on the value.</summary>
    private static string ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return "error: " + Text(ref reader);
        }

        var inner = reader;
        long? code = null;
        string? msg = null;
        while (inner.Read() && inner.TokenType == JsonTokenType.PropertyName)
        {
            if (inner.ValueTextEquals("code"u8))
            {
                inner.Read();
                code = inner.TokenType == JsonTokenType.Number && inner.TryGetInt64(out var value) ? value : null;
            }
            else if (inner.ValueTextEquals("msg"u8))
            {
                inner.Read();
                msg = inner.TokenType == JsonTokenType.String ? inner.GetString() : null;
            }

            inner.Skip();
        }

        return Truncate(OneLine(string.Create(CultureInfo.InvariantCulture, $"code {(code is null ? "?" : code)}: {msg ?? "no msg"}")));
    }

    private DecodeOutcome DecodePayload(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return DecodeOutcome.Malformed("data is not an object");
        }

        var scratch = _scratch.AsSpan();
        var eventReader = default(Utf8JsonReader);
        var hasEvent = false;
        var isAggTrade = false;
        var hasSymbol = false;
        string? symbol = null;
        long id = -1;
        var price = double.NaN;
        var quantity = double.NaN;
        long ts = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Binance's one-letter keys are case-sensitive: "e" is the event type, "E" the event time.
            if (reader.ValueTextEquals("e"u8))
            {
                reader.Read();
                eventReader = reader;
                hasEvent = true;
                isAggTrade = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("aggTrade"u8);
            }
            else if (reader.ValueTextEquals("s"u8))
            {
                reader.Read();
                hasSymbol = reader.TokenType == JsonTokenType.String;
                if (hasSymbol && _map.TryGet(Unescaped(ref reader, scratch), out var found))
                {
                    symbol = found;
                }
            }
            else if (reader.ValueTextEquals("a"u8))
            {
                reader.Read();
                id = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0 ? value : -1;
            }
            else if (reader.ValueTextEquals("p"u8))
            {
                reader.Read();
                price = ReadDecimal(ref reader, scratch);
            }
            else if (reader.ValueTextEquals("q"u8))
            {
                reader.Read();
                quantity = ReadDecimal(ref reader, scratch);
            }
            else if (reader.ValueTextEquals("T"u8))
            {
                reader.Read();
                ts = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value is >= EventTime.MinMs and <= EventTime.MaxMs ? value : -1;
            }

            reader.Skip();
        }

        if (!isAggTrade)
        {
            if (!hasEvent)
            {
                return DecodeOutcome.Malformed("data without an event type");
            }

            // serverShutdown: this server closes the connection soon; LiveFeed reconnects when it does.
            return eventReader.TokenType == JsonTokenType.String && eventReader.ValueTextEquals("serverShutdown"u8)
                ? new DecodeOutcome(DecodeKind.Control, "serverShutdown")
                : DecodeOutcome.Unknown("event " + Text(ref eventReader));
        }

        if (!hasSymbol)
        {
            return DecodeOutcome.Malformed("aggTrade without a symbol (s)");
        }

        if (symbol is null)
        {
            return DecodeOutcome.Trades; // a symbol not subscribed: ignored
        }

        if (id < 0)
        {
            return DecodeOutcome.Malformed("aggTrade without a valid aggregate trade id (a)");
        }

        if (!(price > 0) || double.IsPositiveInfinity(price))
        {
            return DecodeOutcome.Malformed("aggTrade without a valid price (p)");
        }

        if (!(quantity >= 0) || double.IsPositiveInfinity(quantity))
        {
            return DecodeOutcome.Malformed("aggTrade without a valid quantity (q)");
        }

        if (TickLimits.Check(price, quantity) is { } outOfRange)
        {
            return DecodeOutcome.Malformed("aggTrade beyond Breadboard's limits: " + outOfRange);
        }

        if (ts < 0)
        {
            return DecodeOutcome.Malformed("aggTrade without a valid trade time in ms (T)");
        }

        CheckSequence(symbol, id, sink);
        sink.Trade(new Tick(symbol, ts, price, quantity, TradeId.FromNumber(id), VenueName, AssetClass.Crypto));
        return DecodeOutcome.Trades;
    }

    /// <summary>Reports a jump in the symbol's aggregate trade ids; older or repeated ids are emitted but not tracked.</summary>
    private void CheckSequence(string symbol, long id, IFeedSink sink)
    {
        ref var last = ref CollectionsMarshal.GetValueRefOrAddDefault(_lastIds, symbol, out var seen);
        if (!seen)
        {
            last = id;
            return;
        }

        if (id > last + 1)
        {
            sink.SequenceGap(symbol, string.Create(CultureInfo.InvariantCulture, $"aggregate trade ids {last + 1}–{id - 1} missed"));
        }

        if (id > last)
        {
            last = id;
        }
    }

}

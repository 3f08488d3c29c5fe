using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using static Breadboard.Feeds.Live.VenueJson;

namespace Breadboard.Feeds.Live.Kraken;

/// <summary>
/// Kraken's public Spot WebSocket API v2 trade channel (<c>wss://ws.kraken.com/v2</c>): BTC-USD is Kraken's BTC/USD,
/// and every trade carries a per-pair sequential trade id, so missed trades show as a jump in the ids.
/// </summary>
/// <remarks>
/// <para>The subscription asks for the snapshot: the pair's 50 most recent trades, which are real trades. After a
/// reconnect they cover a short outage (repeats are dropped downstream by trade id); on the first connect they
/// may be minutes old for a quiet pair and arrive as late events.</para>
/// <para>A trade with a missing or invalid field is skipped; the message's other trades are still handed on and the
/// message counts as malformed. Trades of pairs not subscribed are ignored.</para>
/// <para>Kraken's application-level ping is not used: <c>LiveFeed</c>'s WebSocket pings and the once-a-second
/// heartbeat channel already prove the connection alive.</para>
/// </remarks>
public sealed class KrakenProtocol : IVenueProtocol
{

    private readonly string[] _symbols;
    private readonly SymbolMap _map;

    /// <summary>The last trade id seen per user symbol on this connection.</summary>
    private readonly Dictionary<string, long> _lastTradeIds = new(StringComparer.Ordinal);

    /// <param name="symbols">Pairs as the user names them: BTC-USD (or BTC/USD).</param>
    public KrakenProtocol(IReadOnlyList<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (symbols.Count == 0)
        {
            throw new ArgumentException("at least one symbol is needed", nameof(symbols));
        }

        _symbols = [.. symbols];
        foreach (var symbol in _symbols)
        {
            if (string.IsNullOrWhiteSpace(symbol))
            {
                throw new ArgumentException("symbols must not be empty", nameof(symbols));
            }
        }

        _map = new SymbolMap(_symbols, ToVenue);
    }

    public string Name => "kraken";

    public AssetClass AssetClass => AssetClass.Crypto;

    public Uri DefaultUrl { get; } = new("wss://ws.kraken.com/v2");

    /// <summary>Kraken sends a heartbeat about once a second when nothing else is sent: ten missed mean a dead link.</summary>
    public TimeSpan SilenceTimeout => TimeSpan.FromSeconds(10);

    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>Kraken v2 spells pairs with a slash and in upper case: BTC-USD is BTC/USD (v1's XBT is BTC in v2).</summary>
    public static string ToVenue(string symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        return symbol.Replace('-', '/').ToUpperInvariant();
    }

    public IReadOnlyList<string> OpeningFrames()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("method"u8, "subscribe"u8);
            writer.WritePropertyName("params"u8);
            writer.WriteStartObject();
            writer.WriteString("channel"u8, "trade"u8);
            writer.WritePropertyName("symbol"u8);
            writer.WriteStartArray();
            foreach (var symbol in _map.VenueSymbols)
            {
                writer.WriteStringValue(symbol);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("snapshot"u8, true);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return [Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length)];
    }

    public void OnConnected() => _lastTradeIds.Clear();

    public DecodeOutcome Decode(ReadOnlySpan<byte> message, IFeedSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            var reader = new Utf8JsonReader(message, new JsonReaderOptions { MaxDepth = 16 });
            return DecodeMessage(ref reader, sink);
        }
        catch (JsonException e)
        {
            return DecodeOutcome.Malformed("invalid JSON: " + OneLine(e.Message));
        }
        catch (InvalidOperationException e)
        {
            // A string that is not valid UTF-8.
            return DecodeOutcome.Malformed("invalid JSON: " + OneLine(e.Message));
        }
    }

    private enum Channel
    {
        None,
        Trade,
        Heartbeat,
        Status,
        Other,
    }

    private enum TradeField
    {
        Other,
        Symbol,
        Price,
        Qty,
        TradeId,
        Timestamp,
    }

    private enum Method
    {
        None,
        Subscribe,
        Unsubscribe,
        Pong,
        Other,
    }

    private DecodeOutcome DecodeMessage(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return DecodeOutcome.Malformed("not a JSON object");
        }

        var channel = Channel.None;
        var method = Method.None;
        string? otherName = null;
        bool? success = null;
        string? error = null;
        DecodeOutcome? trades = null;
        var data = default(Utf8JsonReader);
        var hasData = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("channel"u8))
            {
                reader.Read();
                channel = reader.TokenType != JsonTokenType.String ? Channel.Other
                    : reader.ValueTextEquals("trade"u8) ? Channel.Trade
                    : reader.ValueTextEquals("heartbeat"u8) ? Channel.Heartbeat
                    : reader.ValueTextEquals("status"u8) ? Channel.Status
                    : Channel.Other;
                if (channel == Channel.Other)
                {
                    otherName = "channel " + ShortText(ref reader);
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                method = reader.TokenType != JsonTokenType.String ? Method.Other
                    : reader.ValueTextEquals("subscribe"u8) ? Method.Subscribe
                    : reader.ValueTextEquals("unsubscribe"u8) ? Method.Unsubscribe
                    : reader.ValueTextEquals("pong"u8) ? Method.Pong
                    : Method.Other;
                if (method == Method.Other)
                {
                    otherName = "method " + ShortText(ref reader);
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("success"u8))
            {
                reader.Read();
                success = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => null,
                };
                reader.Skip();
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("data"u8) && channel == Channel.Trade && trades is null)
            {
                reader.Read();
                trades = DecodeTrades(ref reader, sink);
            }
            else
            {
                if (reader.ValueTextEquals("data"u8))
                {
                    // "channel" may come after "data": keep a copy of the reader here to decode the trades later.
                    data = reader;
                    hasData = true;
                }

                reader.Read();
                reader.Skip();
            }
        }

        // Reading on past the object throws on anything but whitespace after it.
        reader.Read();

        if (channel == Channel.Trade)
        {
            if (trades is null && hasData)
            {
                data.Read();
                trades = DecodeTrades(ref data, sink);
            }

            return trades ?? DecodeOutcome.Malformed("trade message without data");
        }

        return channel switch
        {
            Channel.Heartbeat => DecodeOutcome.Heartbeat,
            Channel.Status => DecodeOutcome.Control,
            Channel.Other => DecodeOutcome.Unknown(otherName!),
            _ when success == false || (method == Method.None && error is not null) =>
                DecodeOutcome.VenueError(Truncate(MethodName(method, otherName) + " failed: " + OneLine(error ?? "no error given"))),
            _ => method switch
            {
                Method.Pong => DecodeOutcome.Heartbeat, // IVenueProtocol: a pong is proof of life
                Method.Subscribe or Method.Unsubscribe => DecodeOutcome.Control,
                Method.Other => DecodeOutcome.Unknown(otherName!),
                _ => DecodeOutcome.Unknown("no channel or method"),
            },
        };
    }

    /// <summary>Reads the trade array, handing each trade of a subscribed pair to the sink.</summary>
    private DecodeOutcome DecodeTrades(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return DecodeOutcome.Malformed("trade data is not an array");
        }

        int total = 0, skipped = 0;
        string? firstProblem = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            total++;
            var problem = DecodeTrade(ref reader, sink);
            if (problem is not null)
            {
                skipped++;
                firstProblem ??= problem;
            }
        }

        return skipped == 0
            ? DecodeOutcome.Trades
            : DecodeOutcome.Malformed(string.Create(CultureInfo.InvariantCulture, $"skipped {skipped} of {total} trades: {firstProblem}"));
    }

    /// <summary>Decodes one trade object; returns why it was skipped, or null.</summary>
    private string? DecodeTrade(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "a trade that is not an object";
        }

        string? symbol = null;
        bool hasSymbol = false, hasPrice = false, hasQty = false, hasId = false, hasTs = false;
        double price = 0, qty = 0;
        long id = 0, ts = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("symbol"u8) ? TradeField.Symbol
                : reader.ValueTextEquals("price"u8) ? TradeField.Price
                : reader.ValueTextEquals("qty"u8) ? TradeField.Qty
                : reader.ValueTextEquals("trade_id"u8) ? TradeField.TradeId
                : reader.ValueTextEquals("timestamp"u8) ? TradeField.Timestamp
                : TradeField.Other;
            reader.Read();
            var isNumber = reader.TokenType == JsonTokenType.Number;
            switch (field)
            {
                case TradeField.Symbol:
                    hasSymbol = reader.TokenType == JsonTokenType.String;
                    symbol = hasSymbol && TryGetSymbol(ref reader, _map, out var known) ? known : null;
                    break;
                case TradeField.Price:
                    hasPrice = isNumber && reader.TryGetDouble(out price) && price > 0 && double.IsFinite(price);
                    break;
                case TradeField.Qty:
                    hasQty = isNumber && reader.TryGetDouble(out qty) && qty >= 0 && double.IsFinite(qty);
                    break;
                case TradeField.TradeId:
                    hasId = isNumber && reader.TryGetInt64(out id) && id >= 0;
                    break;
                case TradeField.Timestamp:
                    hasTs = reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && EventTime.TryParseIso(reader.ValueSpan, out ts);
                    break;
            }

            reader.Skip(); // past an object or array: a field not read, or one of the wrong shape
        }

        if (!hasSymbol)
        {
            return "a trade without a symbol";
        }

        if (symbol is null)
        {
            return null; // a pair this connection did not subscribe to
        }

        var problem = !hasPrice ? "a trade without a positive price"
            : !hasQty ? "a trade without a valid qty"
            : !hasId ? "a trade without a valid trade_id"
            : !hasTs ? "a trade without a valid RFC 3339 timestamp"
            : TickLimits.Check(price, qty) is { } outOfRange ? "a trade beyond Breadboard's limits: " + outOfRange
            : null;
        if (problem is not null)
        {
            return problem;
        }

        ref var last = ref CollectionsMarshal.GetValueRefOrAddDefault(_lastTradeIds, symbol, out var seen);
        if (seen && id > last + 1)
        {
            sink.SequenceGap(symbol, id == last + 2
                ? string.Create(CultureInfo.InvariantCulture, $"trade id {last + 1} missed")
                : string.Create(CultureInfo.InvariantCulture, $"trade ids {last + 1}–{id - 1} missed"));
        }

        if (!seen || id > last)
        {
            last = id;
        }

        sink.Trade(new Tick(symbol, ts, price, qty, TradeId.FromNumber(id), Name, AssetClass.Crypto));
        return null;
    }

    private static string MethodName(Method method, string? otherName) => method switch
    {
        Method.Subscribe => "subscribe",
        Method.Unsubscribe => "unsubscribe",
        Method.Pong => "ping",
        Method.Other => otherName!,
        _ => "request",
    };

    /// <summary>A string value for a detail, quoted and cut short; allocates, so only for messages off the hot path.</summary>
    private static string ShortText(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? "'" + Truncate(OneLine(reader.GetString()!), 40) + "'" : "(not a string)";

}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using static Breadboard.Feeds.Live.VenueJson;

namespace Breadboard.Feeds.Live.Alpaca;

/// <summary>
/// Alpaca's real-time US stock stream, Market Data API v2 (<c>wss://stream.data.alpaca.markets/v2/iex</c>; SIP and the
/// sandbox by <c>--feed-url</c>; <c>wss://stream.data.alpaca.markets/v2/test</c> streams the fake symbol FAKEPACA at
/// any hour): authenticates with an API key, subscribes to trades, and reads the arrays of messages Alpaca sends.
/// </summary>
/// <remarks>
/// <para>An error Alpaca reports (<c>[{"T":"error","code":402,"msg":"auth failed"}]</c>) is a venue error. After a
/// failed authentication the session is useless: Alpaca closes connections that do not authenticate within seconds
/// (error 404, auth timeout), and <c>LiveFeed</c> reconnects with backoff, so bad keys show as repeated errors in the
/// log rather than as a stopped feed.</para>
/// <para>Trade ids are Alpaca's <c>i</c>, unique per exchange and day but not consecutive per symbol, so this
/// protocol cannot see missed trades: only disconnects are reported as gaps. On the SIP feed two exchanges may give
/// one symbol the same id, which de-duplication by trade id would take for a repeat; the IEX feed is one exchange.</para>
/// <para>Trade corrections (<c>"T":"c"</c>) and cancels (<c>"T":"x"</c>), which Alpaca sends to every trade
/// subscriber, are not applied: the corrected trade has already gone downstream. They are reported as unknown
/// messages so that they show in the counters and the log.</para>
/// <para>The secret key goes into the handshake header only: never into a frame, a detail, an exception or
/// <see cref="object.ToString"/>.</para>
/// </remarks>
public sealed class AlpacaProtocol : IVenueProtocol
{
    public const string KeyIdVariable = "BREADBOARD_ALPACA_KEY_ID";
    public const string SecretKeyVariable = "BREADBOARD_ALPACA_SECRET_KEY";


    private readonly string[] _symbols;
    private readonly SymbolMap _map;
    private readonly string _keyId;
    private readonly string _secretKey;

    /// <param name="symbols">Tickers as the user names them (AAPL, any case).</param>
    /// <param name="keyId">The Alpaca API key id.</param>
    /// <param name="secretKey">The Alpaca API secret key: sent in the authentication frame and nowhere else.</param>
    public AlpacaProtocol(IReadOnlyList<string> symbols, string keyId, string secretKey)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        ArgumentException.ThrowIfNullOrWhiteSpace(secretKey);
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

        _map = new SymbolMap(_symbols, symbol => symbol.ToUpperInvariant());
        _keyId = keyId;
        _secretKey = secretKey;
    }

    /// <summary>
    /// Takes the key from <c>BREADBOARD_ALPACA_KEY_ID</c> and <c>BREADBOARD_ALPACA_SECRET_KEY</c>; throws
    /// <see cref="ArgumentException"/> naming the variable that is missing.
    /// </summary>
    public static AlpacaProtocol FromEnvironment(IReadOnlyList<string> symbols) =>
        FromEnvironment(symbols, Environment.GetEnvironmentVariable);

    internal static AlpacaProtocol FromEnvironment(IReadOnlyList<string> symbols, Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        return new AlpacaProtocol(symbols, Required(variable, KeyIdVariable), Required(variable, SecretKeyVariable));
    }

    private static string Required(Func<string, string?> variable, string name)
    {
        var value = variable(name);
        return string.IsNullOrWhiteSpace(value)
            ? throw new ArgumentException($"{name} is not set: the Alpaca feed needs an API key id and secret key")
            : value;
    }

    public string Name => "alpaca";

    public AssetClass AssetClass => AssetClass.Stock;

    public Uri DefaultUrl { get; } = new("wss://stream.data.alpaca.markets/v2/iex");

    /// <summary>
    /// Alpaca sends no heartbeats, and the market is closed for most of the day, so silence proves little: a dead
    /// connection is found by <c>LiveFeed</c>'s WebSocket pings, and this only catches a link that answers pings yet
    /// sends nothing.
    /// </summary>
    public TimeSpan SilenceTimeout => TimeSpan.FromMinutes(10);

    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>
    /// The key in the handshake's headers, as Alpaca's stream documentation offers ("Authenticate with HTTP headers",
    /// the same headers as the REST APIs): the connection is authenticated before any frame, so the subscription
    /// can follow at once. An <c>auth</c> message would have to wait for its reply before subscribing.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> HandshakeHeaders =>
        [new("APCA-API-KEY-ID", _keyId), new("APCA-API-SECRET-KEY", _secretKey)];

    /// <summary>The trade subscription (authentication went in <see cref="HandshakeHeaders"/>).</summary>
    public IReadOnlyList<string> OpeningFrames() =>
    [
        Json(writer =>
        {
            writer.WriteString("action"u8, "subscribe"u8);
            writer.WritePropertyName("trades"u8);
            writer.WriteStartArray();
            foreach (var symbol in _map.VenueSymbols)
            {
                writer.WriteStringValue(symbol);
            }

            writer.WriteEndArray();
        }),
    ];

    public void OnConnected()
    {
        // Nothing per connection: trade ids carry no sequence to follow.
    }

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

    private enum ItemType
    {
        Missing,
        Trade,
        Success,
        Subscription,
        Error,
        Correction,
        Cancel,
        Other,
    }

    private enum Field
    {
        Other,
        Type,
        Symbol,
        Id,
        Price,
        Size,
        Time,
        Message,
        Code,
    }

    /// <summary>What one array item was; the message's outcome is the most serious of its items'.</summary>
    private struct Summary
    {
        public string? Error;
        public string? FirstMalformed;
        public int Malformed;
        public int Items;
        public string? Unknown;
        public bool Trades;
        public bool Control;
    }

    private DecodeOutcome DecodeMessage(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return DecodeOutcome.Malformed("not a JSON array");
        }

        var summary = default(Summary);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            summary.Items++;
            DecodeItem(ref reader, sink, ref summary);
        }

        // Reading on past the array throws on anything but whitespace after it.
        reader.Read();

        return summary.Error is not null ? DecodeOutcome.VenueError(summary.Error)
            : summary.Malformed > 0 ? DecodeOutcome.Malformed(
                string.Create(CultureInfo.InvariantCulture, $"skipped {summary.Malformed} of {summary.Items} items: {summary.FirstMalformed}"))
            : summary.Unknown is not null ? DecodeOutcome.Unknown(summary.Unknown)
            : summary.Trades ? DecodeOutcome.Trades
            : summary.Control ? DecodeOutcome.Control
            : DecodeOutcome.Unknown("an empty array");
    }

    private void DecodeItem(ref Utf8JsonReader reader, IFeedSink sink, ref Summary summary)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            Malformed(ref summary, "an item that is not an object");
            return;
        }

        var type = ItemType.Missing;
        string? otherType = null;
        string? symbol = null;
        bool hasSymbol = false, hasId = false, hasPrice = false, hasSize = false, hasTime = false;
        long id = 0, ts = 0, code = 0;
        double price = 0, size = 0;
        var message = default(Utf8JsonReader);
        var hasMessage = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Case matters: "T" is the type, "t" the time; "S" the symbol, "s" the size.
            var field = reader.ValueTextEquals("T"u8) ? Field.Type
                : reader.ValueTextEquals("S"u8) ? Field.Symbol
                : reader.ValueTextEquals("i"u8) ? Field.Id
                : reader.ValueTextEquals("p"u8) ? Field.Price
                : reader.ValueTextEquals("s"u8) ? Field.Size
                : reader.ValueTextEquals("t"u8) ? Field.Time
                : reader.ValueTextEquals("msg"u8) ? Field.Message
                : reader.ValueTextEquals("code"u8) ? Field.Code
                : Field.Other;
            reader.Read();
            var isNumber = reader.TokenType == JsonTokenType.Number;
            var isString = reader.TokenType == JsonTokenType.String;
            switch (field)
            {
                case Field.Type:
                    type = !isString ? ItemType.Other
                        : reader.ValueTextEquals("t"u8) ? ItemType.Trade
                        : reader.ValueTextEquals("success"u8) ? ItemType.Success
                        : reader.ValueTextEquals("subscription"u8) ? ItemType.Subscription
                        : reader.ValueTextEquals("error"u8) ? ItemType.Error
                        : reader.ValueTextEquals("c"u8) ? ItemType.Correction
                        : reader.ValueTextEquals("x"u8) ? ItemType.Cancel
                        : ItemType.Other;
                    if (type == ItemType.Other)
                    {
                        otherType = isString ? Truncate(OneLine(reader.GetString()!), 40) : null;
                    }

                    break;
                case Field.Symbol:
                    hasSymbol = isString;
                    symbol = isString && TryGetSymbol(ref reader, _map, out var known) ? known : null;
                    break;
                case Field.Id:
                    hasId = isNumber && reader.TryGetInt64(out id) && id >= 0;
                    break;
                case Field.Price:
                    hasPrice = isNumber && reader.TryGetDouble(out price) && price > 0 && double.IsFinite(price);
                    break;
                case Field.Size:
                    hasSize = isNumber && reader.TryGetDouble(out size) && size >= 0 && double.IsFinite(size);
                    break;
                case Field.Time:
                    hasTime = isString && !reader.ValueIsEscaped && EventTime.TryParseIso(reader.ValueSpan, out ts);
                    break;
                case Field.Message:
                    // Kept as a copy of the reader: read as a string only if the item turns out to be an error.
                    hasMessage = isString;
                    message = reader;
                    break;
                case Field.Code:
                    if (!isNumber || !reader.TryGetInt64(out code))
                    {
                        code = 0;
                    }

                    break;
            }

            reader.Skip(); // past an object or array: a field not read, or one of the wrong shape
        }

        switch (type)
        {
            case ItemType.Trade:
                summary.Trades = true;
                if (!hasSymbol)
                {
                    Malformed(ref summary, "a trade without a symbol (S)");
                }
                else if (symbol is not null)
                {
                    var problem = !hasPrice ? "a trade without a positive price (p)"
                        : !hasSize ? "a trade without a valid size (s)"
                        : !hasId ? "a trade without a valid trade id (i)"
                        : !hasTime ? "a trade without a valid RFC 3339 time (t)"
                        : TickLimits.Check(price, size) is { } outOfRange ? "a trade beyond Breadboard's limits: " + outOfRange
                        : null;
                    if (problem is not null)
                    {
                        Malformed(ref summary, problem);
                    }
                    else
                    {
                        sink.Trade(new Tick(symbol, ts, price, size, TradeId.FromNumber(id), Name, AssetClass.Stock));
                    }
                }

                // else a symbol this connection did not subscribe to: ignored
                break;
            case ItemType.Success:
            case ItemType.Subscription:
                summary.Control = true;
                break;
            case ItemType.Error:
                var text = hasMessage && message.GetString() is { Length: > 0 } sent ? OneLine(sent) : "no message";
                summary.Error ??= Truncate(code != 0 ? string.Create(CultureInfo.InvariantCulture, $"{code} {text}") : text);
                break;
            case ItemType.Correction:
                summary.Unknown ??= "trade correction (T=c), not applied";
                break;
            case ItemType.Cancel:
                summary.Unknown ??= "trade cancel or error (T=x), not applied";
                break;
            case ItemType.Missing:
                Malformed(ref summary, "an item without a type (T)");
                break;
            default:
                summary.Unknown ??= otherType is null ? "an item whose type (T) is not a string" : $"message type (T) '{otherType}'";
                break;
        }
    }

    private static void Malformed(ref Summary summary, string problem)
    {
        summary.Malformed++;
        summary.FirstMalformed ??= problem;
    }

    private static string Json(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using static Breadboard.Feeds.Live.VenueJson;

namespace Breadboard.Feeds.Live.Coinbase;

/// <summary>
/// Coinbase Advanced Trade's public market data WebSocket: the <c>market_trades</c> channel for trades and the
/// <c>heartbeats</c> channel, which keeps quiet subscriptions open and proves the connection alive every second.
/// </summary>
/// <remarks>
/// <para>No key is needed: Coinbase lists heartbeats and market_trades as not requiring authentication (only
/// <c>user</c> and <c>futures_balance_summary</c> do), though it calls authenticated subscriptions "more reliable".
/// Coinbase closes a connection that has not subscribed within 5 seconds, so the subscriptions are the opening frames.</para>
/// <para>The first trades after subscribing come as a <c>snapshot</c> event of recent trades. They are real trades,
/// possibly seen before a reconnect, and are emitted like <c>update</c> trades: the engine drops duplicates by trade id.</para>
/// <para><c>sequence_num</c> counts every message of the connection, whatever its channel. A jump means messages
/// were dropped, but not whose trades they carried (one may have been a heartbeat), so the gap is reported for every
/// subscribed symbol: <c>LiveFeed</c> turns it into a backfill range from each symbol's last trade to its next one.
/// Reporting only the symbols of the message after the jump would lose, silently, the trades of the others;
/// reporting too many costs a backfill whose trades are then dropped as duplicates.</para>
/// <para>A malformed trade in a message is skipped and the message's other trades are still emitted; the message then
/// counts as <see cref="DecodeKind.Malformed"/> so that the problem is logged. Trades of products not subscribed
/// are ignored.</para>
/// </remarks>
public sealed class CoinbaseProtocol : IVenueProtocol
{
    public const string VenueName = "coinbase";

    /// <summary>An escaped JSON string longer than this is refused (ids, prices and times are far shorter).</summary>
    private const int MaxEscapedValueBytes = 128;

    private readonly string[] _symbols;
    private readonly SymbolMap _map;

    /// <summary>Where escaped JSON strings are unescaped (rare; one protocol instance decodes one message at a time).</summary>
    private readonly byte[] _scratch = new byte[MaxEscapedValueBytes];
    private long _lastSequence = -1;

    /// <param name="symbols">Coinbase product ids as the user wrote them (BTC-USD); matched ignoring case.</param>
    public CoinbaseProtocol(IReadOnlyList<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (symbols.Count == 0)
        {
            throw new ArgumentException("at least one symbol is needed", nameof(symbols));
        }

        foreach (var symbol in symbols)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(symbol, nameof(symbols));
        }

        _symbols = [.. symbols];
        _map = new SymbolMap(_symbols, ToProductId);
    }

    public string Name => VenueName;

    public AssetClass AssetClass => AssetClass.Crypto;

    public Uri DefaultUrl { get; } = new("wss://advanced-trade-ws.coinbase.com");

    /// <summary>Heartbeats come every second; ten missed in a row means the connection is gone.</summary>
    public TimeSpan SilenceTimeout => TimeSpan.FromSeconds(10);

    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>Coinbase product ids are upper case (BTC-USD), which is how Breadboard writes crypto pairs too.</summary>
    public static string ToProductId(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return symbol.Trim().ToUpperInvariant();
    }

    /// <summary>One subscribe per channel, as Coinbase requires: heartbeats first, so the connection stays open.</summary>
    public IReadOnlyList<string> OpeningFrames() => [Subscribe("heartbeats"), Subscribe("market_trades")];

    public void OnConnected() => _lastSequence = -1;

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
            // compared (found by fuzzing); trades before it in the message were valid and have been handed on.
            return DecodeOutcome.Malformed("invalid JSON: " + OneLine(e.Message));
        }
    }

    private DecodeOutcome DecodeMessage(ReadOnlySpan<byte> message, IFeedSink sink)
    {
        // First pass: the envelope, skipping (and so validating) the events, whose reader state is kept for the
        // second pass; fields may come in any order, and nothing is emitted from a message that is not valid JSON.
        var reader = new Utf8JsonReader(message);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return DecodeOutcome.Malformed("not a JSON object");
        }

        var channel = Channel.None;
        var channelReader = default(Utf8JsonReader);
        var isError = false;
        var hasType = false;
        var typeReader = default(Utf8JsonReader);
        string? errorMessage = null;
        string? errorReason = null;
        long sequence = -1;
        var hasEvents = false;
        var events = default(Utf8JsonReader);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("channel"u8))
            {
                reader.Read();
                channelReader = reader;
                channel = reader.TokenType != JsonTokenType.String ? Channel.Other
                    : reader.ValueTextEquals("market_trades"u8) ? Channel.MarketTrades
                    : reader.ValueTextEquals("heartbeats"u8) ? Channel.Heartbeats
                    : reader.ValueTextEquals("subscriptions"u8) ? Channel.Subscriptions
                    : Channel.Other;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                isError = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("error"u8);
                typeReader = reader;
                hasType = true;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("sequence_num"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0)
                {
                    sequence = value;
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                errorMessage = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                errorReason = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("events"u8))
            {
                reader.Read();
                events = reader;
                hasEvents = true;
                reader.Skip();
            }
            else
            {
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            return DecodeOutcome.Malformed("data after the JSON object");
        }

        if (isError)
        {
            var detail = string.IsNullOrEmpty(errorMessage) ? "error without a message" : errorMessage;
            return DecodeOutcome.VenueError(Truncate(OneLine(errorReason is null ? detail : $"{detail}: {errorReason}")));
        }

        if (channel == Channel.None)
        {
            return hasType ? DecodeOutcome.Unknown("type " + Text(ref typeReader)) : DecodeOutcome.Malformed("no channel");
        }

        if (sequence >= 0)
        {
            CheckSequence(sequence, sink);
        }

        switch (channel)
        {
            case Channel.Heartbeats:
                return DecodeOutcome.Heartbeat;
            case Channel.Subscriptions:
                return DecodeOutcome.Control;
            case Channel.MarketTrades when hasEvents:
                return ReadEvents(ref events, sink);
            case Channel.MarketTrades:
                return DecodeOutcome.Malformed("market_trades without events");
            default:
                return DecodeOutcome.Unknown("channel " + Text(ref channelReader));
        }
    }

    /// <summary>Reports a jump in <c>sequence_num</c> for every symbol; older or repeated numbers are ignored.</summary>
    /// <remarks>A message that is not valid JSON does not count, so its number shows up as missed: its trades were lost too.</remarks>
    private void CheckSequence(long sequence, IFeedSink sink)
    {
        if (_lastSequence >= 0 && sequence > _lastSequence + 1)
        {
            var detail = string.Create(CultureInfo.InvariantCulture, $"sequence_num {_lastSequence + 1}–{sequence - 1} missed");
            foreach (var symbol in _symbols)
            {
                sink.SequenceGap(symbol, detail);
            }
        }

        if (sequence > _lastSequence)
        {
            _lastSequence = sequence;
        }
    }

    private DecodeOutcome ReadEvents(ref Utf8JsonReader reader, IFeedSink sink)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return DecodeOutcome.Malformed("events is not an array");
        }

        var scratch = _scratch.AsSpan();
        string? problem = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                problem ??= "an event is not an object";
                reader.Skip();
                continue;
            }

            // Snapshot and update events carry trades alike; the event type is not needed.
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("trades"u8))
                {
                    reader.Skip();
                    continue;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    problem ??= "trades is not an array";
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var tradeProblem = ReadTrade(ref reader, sink, scratch);
                    problem ??= tradeProblem;
                }
            }
        }

        return problem is null ? DecodeOutcome.Trades : DecodeOutcome.Malformed(problem);
    }

    /// <summary>Emits one trade; returns why it was skipped if it is malformed, null otherwise.</summary>
    private string? ReadTrade(ref Utf8JsonReader reader, IFeedSink sink, Span<byte> scratch)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "a trade is not an object";
        }

        string? symbol = null;
        var hasProduct = false;
        var hasId = false;
        var idReader = default(Utf8JsonReader);
        double price = double.NaN;
        double size = double.NaN;
        long ts = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("product_id"u8))
            {
                reader.Read();
                hasProduct = reader.TokenType == JsonTokenType.String;
                if (hasProduct && _map.TryGet(Unescaped(ref reader, scratch), out var found))
                {
                    symbol = found;
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("trade_id"u8))
            {
                // Read at the end, once the product is known to be ours: a non-numeric id costs a string.
                reader.Read();
                idReader = reader;
                hasId = true;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("price"u8))
            {
                reader.Read();
                price = ReadDecimal(ref reader, scratch);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("size"u8))
            {
                reader.Read();
                size = ReadDecimal(ref reader, scratch);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("time"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !EventTime.TryParseIso(Unescaped(ref reader, scratch), out ts))
                {
                    ts = -1;
                }

                reader.Skip();
            }
            else
            {
                reader.Skip();
            }
        }

        if (!hasProduct)
        {
            return "a trade without product_id";
        }

        if (symbol is null)
        {
            return null; // a product not subscribed
        }

        if (!(price > 0) || double.IsPositiveInfinity(price))
        {
            return "a trade without a valid price";
        }

        if (!(size >= 0) || double.IsPositiveInfinity(size))
        {
            return "a trade without a valid size";
        }

        if (TickLimits.Check(price, size) is { } outOfRange)
        {
            return "a trade beyond Breadboard's limits: " + outOfRange;
        }

        if (ts < 0)
        {
            return "a trade without a valid time";
        }

        if (!hasId || !TryReadTradeId(ref idReader, scratch, out var tradeId))
        {
            return "a trade without a valid trade_id";
        }

        sink.Trade(new Tick(symbol, ts, price, size, tradeId, VenueName, AssetClass.Crypto));
        return null;
    }

    private static bool TryReadTradeId(ref Utf8JsonReader reader, Span<byte> scratch, out TradeId tradeId)
    {
        tradeId = TradeId.None;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetInt64(out var number) || number < 0)
            {
                return false;
            }

            tradeId = TradeId.FromNumber(number);
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        var text = Unescaped(ref reader, scratch);
        if (text.IsEmpty)
        {
            return false;
        }

        tradeId = TradeId.FromUtf8(text);
        return true;
    }

    private string Subscribe(string channel)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "subscribe"u8);
            json.WriteStartArray("product_ids"u8);
            foreach (var productId in _map.VenueSymbols)
            {
                json.WriteStringValue(productId);
            }

            json.WriteEndArray();
            json.WriteString("channel"u8, channel);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private enum Channel
    {
        None,
        MarketTrades,
        Heartbeats,
        Subscriptions,
        Other,
    }
}

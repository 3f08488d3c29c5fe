using System.Globalization;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Coinbase;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>The Coinbase Advanced Trade decoder on messages shaped as Coinbase documents them.</summary>
public sealed class CoinbaseProtocolTests
{
    private const string SubscriptionsAck =
        """{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:51.153442Z","sequence_num":0,"events":[{"subscriptions":{"heartbeats":["BTC-USD","ETH-USD"],"market_trades":["BTC-USD","ETH-USD"]}}]}""";

    private const string Snapshot =
        """{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":1,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}""";

    private const string Update =
        """
        {"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:02.800000Z","sequence_num":2,"events":[{"type":"update","trades":[
          {"trade_id":"995098700","product_id":"BTC-USD","price":"68900.50","size":"0.00150000","side":"BUY","time":"2026-04-07T14:30:02.789012Z"},
          {"trade_id":"995098701","product_id":"BTC-USD","price":"68900.00","size":"0.05000000","side":"SELL","time":"2026-04-07T14:30:02.800999999Z"},
          {"trade_id":"41","product_id":"ETH-USD","price":"1.5e3","size":"2","side":"SELL","time":"2026-04-07T14:30:03Z"}]}]}
        """;

    private const string Heartbeat =
        """{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":3,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}""";

    [Fact]
    public void Protocol_DescribesTheAdvancedTradeMarketDataEndpoint()
    {
        var protocol = new CoinbaseProtocol(["BTC-USD"]);

        Assert.Equal("coinbase", protocol.Name);
        Assert.Equal(AssetClass.Crypto, protocol.AssetClass);
        Assert.Equal(new Uri("wss://advanced-trade-ws.coinbase.com"), protocol.DefaultUrl);
        Assert.Equal(TimeSpan.FromSeconds(10), protocol.SilenceTimeout);
        Assert.Equal(["BTC-USD"], protocol.Symbols);
    }

    [Fact]
    public void Constructor_WithoutSymbols_Throws()
    {
        Assert.Throws<ArgumentException>(() => new CoinbaseProtocol([]));
        Assert.Throws<ArgumentException>(() => new CoinbaseProtocol([" "]));
    }

    [Fact]
    public void OpeningFrames_SubscribeHeartbeatsThenMarketTrades_OneChannelEach()
    {
        var frames = new CoinbaseProtocol(["BTC-USD", "eth-usd"]).OpeningFrames();

        Assert.Equal(
            [
                """{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}""",
                """{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}""",
            ],
            frames);
    }

    [Fact]
    public void Decode_SubscriptionsAck_IsControl()
    {
        var (outcome, sink) = DecodeOne(SubscriptionsAck);

        Assert.Equal(DecodeOutcome.Control, outcome);
        Assert.Empty(sink.Ticks);
    }

    [Fact]
    public void Decode_Snapshot_EmitsItsTradesAtTheirTradeTime()
    {
        var (outcome, sink) = DecodeOne(Snapshot);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        var tick = Assert.Single(sink.Ticks);
        Assert.Equal(new Tick("ETH-USD", Ms("2019-08-14T20:42:27.265Z"), 1260.01, 0.3, TradeId.FromText("000000000"), "coinbase", AssetClass.Crypto), tick);
        Assert.False(tick.TradeId.IsNumber); // leading zeros: kept as the text it was
    }

    [Fact]
    public void Decode_UpdateWithSeveralTrades_EmitsEachInOrderWithTheUsersSymbol()
    {
        var (outcome, sink) = DecodeOne(Update, ["BTC-USD", "eth-usd"]);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(
            [
                new Tick("BTC-USD", Ms("2026-04-07T14:30:02.789Z"), 68900.50, 0.0015, TradeId.FromNumber(995098700), "coinbase", AssetClass.Crypto),
                new Tick("BTC-USD", Ms("2026-04-07T14:30:02.800Z"), 68900.00, 0.05, TradeId.FromNumber(995098701), "coinbase", AssetClass.Crypto),
                new Tick("eth-usd", Ms("2026-04-07T14:30:03Z"), 1500, 2, TradeId.FromNumber(41), "coinbase", AssetClass.Crypto),
            ],
            sink.Ticks);
        Assert.Empty(sink.Gaps);
    }

    [Fact]
    public void Decode_FieldsInAnyOrderAndEscaped_AreRead()
    {
        const string message =
            """{"events":[{"trades":[{"time":"2026-04-07T14:30:02Z","size":"1","price":"2","trade_id":7,"product_id":"BTC\u002DUSD"}],"type":"update"}],"sequence_num":5,"channel":"market_trades"}""";

        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(new Tick("BTC-USD", Ms("2026-04-07T14:30:02Z"), 2, 1, TradeId.FromNumber(7), "coinbase", AssetClass.Crypto), Assert.Single(sink.Ticks));
    }

    [Fact]
    public void Decode_Heartbeat_IsHeartbeat()
    {
        var (outcome, sink) = DecodeOne(Heartbeat);

        Assert.Equal(DecodeOutcome.Heartbeat, outcome);
        Assert.Empty(sink.Ticks);
    }

    [Theory]
    [InlineData("""{"type":"error","message":"failure to subscribe"}""", "failure to subscribe")]
    [InlineData("""{"type":"error","message":"Failed to subscribe","reason":"GIBBERISH-USD is not a valid product"}""", "Failed to subscribe: GIBBERISH-USD is not a valid product")]
    [InlineData("""{"type":"error"}""", "error without a message")]
    public void Decode_Error_IsVenueErrorWithItsMessage(string message, string detail)
    {
        var (outcome, _) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.VenueError(detail), outcome);
    }

    [Theory]
    [InlineData("""{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":0,"events":[]}""", "channel ticker")]
    [InlineData("""{"type":"pong"}""", "type pong")]
    public void Decode_WellFormedButUnknown_IsUnknown(string message, string detail)
    {
        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.Unknown(detail), outcome);
        Assert.Empty(sink.Ticks);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("\u0001\u00ff\u0000")]
    [InlineData("""{"channel":"market_trades","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"BTC-USD","price":"1","size":"1","time":"2026-04-07T14:30:02Z"}""")]
    [InlineData("""[{"channel":"market_trades"}]""")]
    [InlineData("42")]
    [InlineData("")]
    [InlineData("""{"channel":"market_trades"} {}""")]
    [InlineData("""{"client_id":""}""")]
    [InlineData("""{"channel":"market_trades","sequence_num":1}""")]
    [InlineData("""{"channel":"market_trades","sequence_num":1,"events":{}}""")]
    public void Decode_GarbageTruncatedOrShapeless_IsMalformedAndEmitsNothing(string message)
    {
        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.False(string.IsNullOrEmpty(outcome.Detail));
        Assert.DoesNotContain('\n', outcome.Detail);
        Assert.Empty(sink.Ticks);
    }

    [Theory]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","size":"1","time":"2026-04-07T14:30:02Z"}""", "price")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"abc","size":"1","time":"2026-04-07T14:30:02Z"}""", "price")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":100,"size":"1","time":"2026-04-07T14:30:02Z"}""", "price")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"0","size":"1","time":"2026-04-07T14:30:02Z"}""", "price")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"1","size":"-1","time":"2026-04-07T14:30:02Z"}""", "size")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"1e308","size":"10","time":"2026-04-07T14:30:02Z"}""", "beyond Breadboard's limits: field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"1","size":"1e300","time":"2026-04-07T14:30:02Z"}""", "beyond Breadboard's limits: field 'volume'")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"1","size":"1","time":"yesterday"}""", "time")]
    [InlineData("""{"trade_id":"9","product_id":"BTC-USD","price":"1","size":"1","time":"2026-04-07T14:30:02"}""", "time")]
    [InlineData("""{"product_id":"BTC-USD","price":"1","size":"1","time":"2026-04-07T14:30:02Z"}""", "trade_id")]
    [InlineData("""{"trade_id":{"x":1},"product_id":"BTC-USD","price":"1","size":"1","time":"2026-04-07T14:30:02Z"}""", "trade_id")]
    [InlineData("""{"trade_id":"9","price":"1","size":"1","time":"2026-04-07T14:30:02Z"}""", "product_id")]
    [InlineData("""[1,2]""", "not an object")]
    public void Decode_OneBadTrade_SkipsItKeepsTheOthersAndIsMalformed(string badTrade, string named)
    {
        var message =
            $$"""{"channel":"market_trades","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"BTC-USD","price":"10","size":"1","time":"2026-04-07T14:30:01Z"},{{badTrade}},{"trade_id":"3","product_id":"BTC-USD","price":"30","size":"3","time":"2026-04-07T14:30:03Z"}]}]}""";

        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.Contains(named, outcome.Detail, StringComparison.Ordinal);
        Assert.Equal([1L, 3L], sink.Ticks.Select(t => t.TradeId.Number));
    }

    [Fact]
    public void Decode_TradeOfAProductNotSubscribed_IsIgnoredNotMalformed()
    {
        const string message =
            """{"channel":"market_trades","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"SOL-USD","price":"10","size":"1","time":"2026-04-07T14:30:01Z"},{"trade_id":"2","product_id":"BTC-USD","price":"20","size":"2","time":"2026-04-07T14:30:02Z"}]}]}""";

        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal("BTC-USD", Assert.Single(sink.Ticks).Symbol);
    }

    [Fact]
    public void Decode_SequenceNumberJumps_ReportsTheGapForEverySubscribedSymbol()
    {
        var protocol = new CoinbaseProtocol(["BTC-USD", "ETH-USD"]);
        var sink = new RecordingSink();

        Decode(protocol, SubscriptionsAck, sink); // 0
        Decode(protocol, Snapshot, sink); // 1
        Decode(protocol, Heartbeat, sink); // 3: 2 was missed
        Assert.Equal([("BTC-USD", "sequence_num 2–2 missed"), ("ETH-USD", "sequence_num 2–2 missed")], sink.Gaps);

        sink.Gaps.Clear();
        Decode(protocol, WithSequence(Heartbeat, 4), sink);
        Decode(protocol, WithSequence(Heartbeat, 2), sink); // late or repeated: not a gap, and not a step back
        Decode(protocol, WithSequence(Heartbeat, 5), sink);
        Assert.Empty(sink.Gaps);

        Decode(protocol, WithSequence(Update, 9), sink);
        Assert.Equal([("BTC-USD", "sequence_num 6–8 missed"), ("ETH-USD", "sequence_num 6–8 missed")], sink.Gaps);
        Assert.Equal(4, sink.Ticks.Count); // the snapshot's trade, and the update's three despite the gap
    }

    [Fact]
    public void OnConnected_ForgetsTheSequenceNumber()
    {
        var protocol = new CoinbaseProtocol(["BTC-USD"]);
        var sink = new RecordingSink();
        Decode(protocol, WithSequence(Heartbeat, 40), sink);

        protocol.OnConnected();
        Decode(protocol, WithSequence(Heartbeat, 0), sink);
        Decode(protocol, WithSequence(Heartbeat, 1), sink);
        Assert.Empty(sink.Gaps);

        Decode(protocol, WithSequence(Heartbeat, 3), sink);
        Assert.Equal([("BTC-USD", "sequence_num 2–2 missed")], sink.Gaps);
    }

    [Fact]
    public void Decode_TradesMessage_AllocatesNothingPerTradeAfterWarmUp()
    {
        var protocol = new CoinbaseProtocol(["BTC-USD", "ETH-USD"]);
        var message = Encoding.UTF8.GetBytes(Update);
        var sink = new CountingSink();
        for (var i = 0; i < 10; i++)
        {
            protocol.Decode(message, sink);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            protocol.Decode(message, sink);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1_010 * 3, sink.Count);
        Assert.True(allocated < 1_024, $"{allocated} bytes allocated decoding 1,000 messages of 3 trades");
    }

    // Found by fuzzing (fuzz/corpus/coinbase/crash-*): Utf8JsonReader throws InvalidOperationException, which escaped
    // Decode, when it unescapes or reads a string with a lone surrogate escape or bytes that are not UTF-8 (written
    // here as Latin-1 characters, one byte each).
    [Theory]
    [InlineData("""{"channel":"heart\ud800","sequence_num":5}""")]
    [InlineData("""{"type":"error","message":"\udc00"}""")]
    [InlineData("{\"channel\":\"market_\u00ab2\",\"sequence_num\":1}")]
    [InlineData("""{"channel":"market_trades","events":[{"trades":[{"product_id":"ETH-USD","price":"1","size":"1","time":"2019-08-14T20:42:27Z","trade_id":"\ud800"}]}]}""")]
    public void Decode_WithInvalidEscapeOrInvalidUtf8_IsMalformed(string message)
    {
        var outcome = new CoinbaseProtocol(["BTC-USD", "ETH-USD"]).Decode(Encoding.Latin1.GetBytes(message), new RecordingSink());

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.StartsWith("invalid JSON", outcome.Detail, StringComparison.Ordinal);
    }

    // Found by fuzzing: the venue's text went into the detail as it was, so a message could forge log lines.
    [Theory]
    [InlineData("""{"channel":"market\nrades"}""", DecodeKind.Unknown)]
    [InlineData("""{"type":"subscr\r\nibe"}""", DecodeKind.Unknown)]
    [InlineData("""{"type":"error","message":"failure\nERROR forged line","reason":"a\u2028b"}""", DecodeKind.VenueError)]
    public void Decode_WithLineBreaksInTheVenuesText_GivesAOneLineDetail(string message, DecodeKind kind)
    {
        var (outcome, _) = DecodeOne(message);

        Assert.Equal(kind, outcome.Kind);
        Assert.Equal(outcome.Detail!.ReplaceLineEndings(" "), outcome.Detail);
    }

    // Found by fuzzing: an error with an empty message gave a venue error with an empty detail.
    [Fact]
    public void Decode_ErrorWithAnEmptyMessage_SaysThereIsNoMessage() =>
        Assert.Equal(DecodeOutcome.VenueError("error without a message: p"), DecodeOne("""{"type":"error","message":"","reason":"p"}""").Outcome);

    private static (DecodeOutcome Outcome, RecordingSink Sink) DecodeOne(string message, IReadOnlyList<string>? symbols = null)
    {
        var sink = new RecordingSink();
        var outcome = Decode(new CoinbaseProtocol(symbols ?? ["BTC-USD", "ETH-USD"]), message, sink);
        return (outcome, sink);
    }

    private static DecodeOutcome Decode(CoinbaseProtocol protocol, string message, RecordingSink sink) =>
        protocol.Decode(Encoding.UTF8.GetBytes(message), sink);

    private static string WithSequence(string message, int sequence)
    {
        var at = message.IndexOf("\"sequence_num\":", StringComparison.Ordinal) + "\"sequence_num\":".Length;
        var end = message.IndexOf(',', at);
        return string.Concat(message.AsSpan(0, at), sequence.ToString(CultureInfo.InvariantCulture), message.AsSpan(end));
    }

    private static long Ms(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private sealed class RecordingSink : IFeedSink
    {
        public List<Tick> Ticks { get; } = [];

        public List<(string Symbol, string Detail)> Gaps { get; } = [];

        public void Trade(in Tick tick) => Ticks.Add(tick);

        public void SequenceGap(string symbol, string detail) => Gaps.Add((symbol, detail));
    }

    /// <summary>Keeps nothing, so that any allocation measured is the decoder's.</summary>
    private sealed class CountingSink : IFeedSink
    {
        public int Count { get; private set; }

        public void Trade(in Tick tick) => Count++;

        public void SequenceGap(string symbol, string detail) => throw new InvalidOperationException("no gap expected");
    }
}

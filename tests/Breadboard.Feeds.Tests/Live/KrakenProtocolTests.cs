using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Kraken;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>Kraken Spot WebSocket v2 on the messages its documentation shows (docs.kraken.com, spot-websocket-v2).</summary>
public class KrakenProtocolTests
{
    // The documentation's trade snapshot, as sent.
    private const string Snapshot = """
        {"channel":"trade","type":"snapshot","data":[
        {"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"},
        {"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":1136.19677815,"ord_type":"limit","trade_id":4665847,"timestamp":"2023-09-25T07:49:36.925603Z"}]}
        """;

    private const string Update = """
        {"channel":"trade","type":"update","data":[
        {"symbol":"BTC/USD","side":"sell","price":26500.1,"qty":0.015,"ord_type":"market","trade_id":101,"timestamp":"2023-09-25T07:50:00.000100Z"},
        {"symbol":"ETH/USD","side":"buy","price":1585.25,"qty":2,"ord_type":"limit","trade_id":7001,"timestamp":"2023-09-25T07:50:00.1Z"},
        {"symbol":"BTC/USD","side":"buy","price":26500.2,"qty":0.5,"ord_type":"limit","trade_id":102,"timestamp":"2023-09-25T07:50:00.999999Z"}]}
        """;

    private const string SubscribeAck = """
        {"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}
        """;

    private const string SubscribeFailure = """
        {"error":"Currency pair not supported XBT/EUR","method":"subscribe","success":false,"symbol":"XBT/EUR","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}
        """;

    private const string Status = """
        {"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,"system":"online","version":"2.0.0"}],"type":"update"}
        """;

    private const string Pong = """{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}""";

    private static KrakenProtocol Protocol() => new(["BTC-USD", "ETH-USD", "MATIC-USD"]);

    private static long Ms(int year, int month, int day, int hour, int minute, int second, int millisecond) =>
        new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static string Trade(string symbol, long id) =>
        $$"""{"symbol":"{{symbol}}","side":"buy","price":100.5,"qty":1,"ord_type":"limit","trade_id":{{id}},"timestamp":"2023-09-25T07:50:00.000000Z"}""";

    private static string TradesMessage(params string[] trades) => $$"""{"channel":"trade","type":"update","data":[{{string.Join(',', trades)}}]}""";

    private static (DecodeOutcome Outcome, RecordingSink Sink) Decode(KrakenProtocol protocol, string message)
    {
        var sink = new RecordingSink();
        return (protocol.Decode(Encoding.UTF8.GetBytes(message), sink), sink);
    }

    [Fact]
    public void Properties_AreKrakensV2Endpoint_Crypto_AndAHeartbeatMargin()
    {
        var protocol = Protocol();

        Assert.Equal("kraken", protocol.Name);
        Assert.Equal(AssetClass.Crypto, protocol.AssetClass);
        Assert.Equal(new Uri("wss://ws.kraken.com/v2"), protocol.DefaultUrl);
        Assert.Equal(TimeSpan.FromSeconds(10), protocol.SilenceTimeout);
        Assert.Equal(["BTC-USD", "ETH-USD", "MATIC-USD"], protocol.Symbols);
    }

    [Fact]
    public void OpeningFrames_AreOneTradeSubscriptionForEveryPairWithSnapshot()
    {
        var frames = new KrakenProtocol(["BTC-USD", "eth-usd"]).OpeningFrames();

        var frame = Assert.Single(frames);
        using var json = JsonDocument.Parse(frame);
        var root = json.RootElement;
        Assert.Equal("subscribe", root.GetProperty("method").GetString());
        var parameters = root.GetProperty("params");
        Assert.Equal("trade", parameters.GetProperty("channel").GetString());
        Assert.Equal(["BTC/USD", "ETH/USD"], parameters.GetProperty("symbol").EnumerateArray().Select(s => s.GetString()));
        Assert.True(parameters.GetProperty("snapshot").GetBoolean());
    }

    [Fact]
    public void Constructor_NoSymbols_Throws() =>
        Assert.Throws<ArgumentException>(() => new KrakenProtocol([]));

    [Fact]
    public void Decode_DocumentedSnapshot_HandsOnBothTradesWithTheirTradeTimeTruncatedToMilliseconds()
    {
        var (outcome, sink) = Decode(Protocol(), Snapshot);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(
            [
                new Tick("MATIC-USD", Ms(2023, 9, 25, 7, 48, 36, 925), 0.5147, 6423.46326, TradeId.FromNumber(4665846), "kraken", AssetClass.Crypto),
                new Tick("MATIC-USD", Ms(2023, 9, 25, 7, 49, 36, 925), 0.5147, 1136.19677815, TradeId.FromNumber(4665847), "kraken", AssetClass.Crypto),
            ],
            sink.Trades);
        Assert.Empty(sink.Gaps);
    }

    [Fact]
    public void Decode_UpdateWithSeveralPairs_HandsOnEveryTradeInOrderUnderTheUsersSymbol()
    {
        var btc = new string("BTC-USD".AsSpan());
        var protocol = new KrakenProtocol([btc, "ETH-USD"]);

        var (outcome, sink) = Decode(protocol, Update);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(
            [
                new Tick("BTC-USD", Ms(2023, 9, 25, 7, 50, 0, 0), 26500.1, 0.015, TradeId.FromNumber(101), "kraken", AssetClass.Crypto),
                new Tick("ETH-USD", Ms(2023, 9, 25, 7, 50, 0, 100), 1585.25, 2, TradeId.FromNumber(7001), "kraken", AssetClass.Crypto),
                new Tick("BTC-USD", Ms(2023, 9, 25, 7, 50, 0, 999), 26500.2, 0.5, TradeId.FromNumber(102), "kraken", AssetClass.Crypto),
            ],
            sink.Trades);
        Assert.Same(btc, sink.Trades[0].Symbol);
        Assert.Same(btc, sink.Trades[2].Symbol);
    }

    [Fact]
    public void Decode_DataBeforeChannel_StillReadsTheTrades()
    {
        var (outcome, sink) = Decode(Protocol(), $$"""{"data":[{{Trade("BTC/USD", 5)}}],"type":"update","channel":"trade"}""");

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(TradeId.FromNumber(5), Assert.Single(sink.Trades).TradeId);
    }

    [Fact]
    public void Decode_EmptySnapshot_IsTradesWithNone()
    {
        var (outcome, sink) = Decode(Protocol(), """{"channel":"trade","type":"snapshot","data":[]}""");

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Empty(sink.Trades);
    }

    [Fact]
    public void Decode_UnsubscribedPair_IsIgnored()
    {
        var (outcome, sink) = Decode(Protocol(), TradesMessage(Trade("DOGE/USD", 1), Trade("BTC/USD", 2)));

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal("BTC-USD", Assert.Single(sink.Trades).Symbol);
    }

    [Fact]
    public void Decode_Heartbeat_IsAHeartbeat() =>
        Assert.Equal(DecodeOutcome.Heartbeat, Decode(Protocol(), """{"channel":"heartbeat"}""").Outcome);

    [Fact]
    public void Decode_Pong_IsAHeartbeat() =>
        Assert.Equal(DecodeOutcome.Heartbeat, Decode(Protocol(), Pong).Outcome);

    [Fact]
    public void Decode_StatusWithAConnectionIdBeyondInt64_IsControl() =>
        Assert.Equal(DecodeOutcome.Control, Decode(Protocol(), Status).Outcome);

    [Fact]
    public void Decode_SubscribeAck_IsControl() =>
        Assert.Equal(DecodeOutcome.Control, Decode(Protocol(), SubscribeAck).Outcome);

    [Fact]
    public void Decode_SubscribeFailure_IsAVenueErrorWithKrakensMessage() =>
        Assert.Equal(
            DecodeOutcome.VenueError("subscribe failed: Currency pair not supported XBT/EUR"),
            Decode(Protocol(), SubscribeFailure).Outcome);

    [Fact]
    public void Decode_ErrorWithoutMethod_IsAVenueError() =>
        Assert.Equal(
            DecodeOutcome.VenueError("request failed: Exceeded msg rate"),
            Decode(Protocol(), """{"error":"Exceeded msg rate","success":false}""").Outcome);

    [Theory]
    [InlineData("""{"channel":"book","type":"update","data":[]}""", "channel 'book'")]
    [InlineData("""{"method":"add_order","success":true}""", "method 'add_order'")]
    [InlineData("""{"hello":"world"}""", "no channel or method")]
    public void Decode_UnknownChannelOrMethod_IsUnknownNamingIt(string message, string detail) =>
        Assert.Equal(DecodeOutcome.Unknown(detail), Decode(Protocol(), message).Outcome);

    [Theory]
    [InlineData("")]
    [InlineData("not json at all")]
    [InlineData("\u0001\u0002\u00ff")]
    [InlineData("""{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","pri""")]
    [InlineData("""{"channel":"heartbeat"} trailing""")]
    [InlineData("""[0,[["5541.2","0.15","1534614057.321597","s","l",""]],"trade","XBT/USD"]""")] // v1's array format
    [InlineData("""{"channel":"trade","type":"update","data":{"symbol":"BTC/USD"}}""")]
    [InlineData("""{"channel":"trade","type":"update"}""")]
    public void Decode_NotWhatKrakenDocuments_IsMalformedWithoutTrades(string message)
    {
        var (outcome, sink) = Decode(Protocol(), message);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.False(string.IsNullOrWhiteSpace(outcome.Detail));
        Assert.DoesNotContain('\n', outcome.Detail);
        Assert.Empty(sink.Trades);
    }

    [Fact]
    public void Decode_GarbageBytes_IsMalformed()
    {
        var sink = new RecordingSink();

        var outcome = Protocol().Decode(new byte[] { 0xff, 0xfe, 0x00, 0x7b }, sink);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.Empty(sink.Trades);
    }

    [Theory]
    [InlineData("""{"symbol":"BTC/USD","qty":1,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a positive price")]
    [InlineData("""{"symbol":"BTC/USD","price":"100.5","qty":1,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a positive price")]
    [InlineData("""{"symbol":"BTC/USD","price":0,"qty":1,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a positive price")]
    [InlineData("""{"symbol":"BTC/USD","price":1,"qty":-1,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a valid qty")]
    [InlineData("""{"symbol":"BTC/USD","price":1e308,"qty":10,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade beyond Breadboard's limits: field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData("""{"symbol":"BTC/USD","price":1,"qty":1,"trade_id":2.5,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a valid trade_id")]
    [InlineData("""{"symbol":"BTC/USD","price":1,"qty":1,"trade_id":2,"timestamp":"2023-09-25 07:50"}""", "a trade without a valid RFC 3339 timestamp")]
    [InlineData("""{"symbol":"BTC/USD","price":1,"qty":1,"trade_id":2,"timestamp":{"at":1}}""", "a trade without a valid RFC 3339 timestamp")]
    [InlineData("""{"price":1,"qty":1,"trade_id":2,"timestamp":"2023-09-25T07:50:00Z"}""", "a trade without a symbol")]
    [InlineData("""[1,2]""", "a trade that is not an object")]
    public void Decode_OneBadTradeAmongGoodOnes_HandsOnTheGoodOnesAndIsMalformed(string bad, string problem)
    {
        var (outcome, sink) = Decode(Protocol(), TradesMessage(Trade("BTC/USD", 1), bad, Trade("ETH/USD", 9)));

        Assert.Equal(DecodeOutcome.Malformed("skipped 1 of 3 trades: " + problem), outcome);
        Assert.Equal(["BTC-USD", "ETH-USD"], sink.Trades.Select(t => t.Symbol));
    }

    [Fact]
    public void Decode_TradeIdsJump_ReportsTheMissedIdsBeforeTheTradeThatShowsThem()
    {
        var protocol = Protocol();
        Decode(protocol, TradesMessage(Trade("BTC/USD", 100), Trade("ETH/USD", 50)));

        var (outcome, sink) = Decode(protocol, TradesMessage(Trade("BTC/USD", 101), Trade("BTC/USD", 104), Trade("ETH/USD", 52)));

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal([("BTC-USD", "trade ids 102–103 missed"), ("ETH-USD", "trade id 51 missed")], sink.Gaps);
        Assert.Equal(["trade 101", "gap BTC-USD", "trade 104", "gap ETH-USD", "trade 52"], sink.Events);
    }

    [Fact]
    public void Decode_RepeatedOrOlderTradeIds_AreNoGapAndDoNotMoveTheSequenceBack()
    {
        var protocol = Protocol();
        Decode(protocol, TradesMessage(Trade("BTC/USD", 100)));

        var (_, sink) = Decode(protocol, TradesMessage(Trade("BTC/USD", 100), Trade("BTC/USD", 90), Trade("BTC/USD", 101)));

        Assert.Empty(sink.Gaps);
        Assert.Equal(3, sink.Trades.Count);
    }

    [Fact]
    public void OnConnected_ForgetsTheLastTradeIds_SoTheNewConnectionsFirstTradeIsNoGap()
    {
        var protocol = Protocol();
        Decode(protocol, TradesMessage(Trade("BTC/USD", 100)));

        protocol.OnConnected();
        var (_, afterReconnect) = Decode(protocol, TradesMessage(Trade("BTC/USD", 250)));
        var (_, next) = Decode(protocol, TradesMessage(Trade("BTC/USD", 252)));

        Assert.Empty(afterReconnect.Gaps);
        Assert.Equal([("BTC-USD", "trade id 251 missed")], next.Gaps);
    }

    [Fact]
    public void Decode_ManyTrades_AllocatesNothingPerTradeOnceWarm()
    {
        var protocol = Protocol();
        var message = Encoding.UTF8.GetBytes(Update);
        var sink = new CountingSink();
        for (var i = 0; i < 100; i++)
        {
            protocol.Decode(message, sink);
        }

        // The lesser of two rounds: a one-off allocation on this thread (the runtime recompiling a method at its
        // next tier, seen once under load: 2,240 B) does not come twice, while one per trade would be 3,000 a round.
        long Round()
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1_000; i++)
            {
                protocol.Decode(message, sink);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        var allocated = Math.Min(Round(), Round());
        Assert.Equal(2_100 * 3, sink.Trades);
        Assert.InRange(allocated, 0, 1_024);
    }

    /// <summary>Keeps what the protocol handed on, and in which order.</summary>
    private sealed class RecordingSink : IFeedSink
    {
        public List<Tick> Trades { get; } = [];

        public List<(string Symbol, string Detail)> Gaps { get; } = [];

        public List<string> Events { get; } = [];

        public void Trade(in Tick tick)
        {
            Trades.Add(tick);
            Events.Add("trade " + tick.TradeId);
        }

        public void SequenceGap(string symbol, string detail)
        {
            Gaps.Add((symbol, detail));
            Events.Add("gap " + symbol);
        }
    }

    private sealed class CountingSink : IFeedSink
    {
        public int Trades { get; private set; }

        public void Trade(in Tick tick) => Trades++;

        public void SequenceGap(string symbol, string detail)
        {
        }
    }
}

using System.Text;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Binance;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>The Binance spot aggTrade decoder on messages shaped as Binance documents them.</summary>
public sealed class BinanceProtocolTests
{
    private const string AggTrade =
        """{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}""";

    [Fact]
    public void Protocol_DescribesTheSpotCombinedStreamEndpoint()
    {
        var protocol = new BinanceProtocol(["BTC-USD"]);

        Assert.Equal("binance", protocol.Name);
        Assert.Equal(AssetClass.Crypto, protocol.AssetClass);
        Assert.Equal(new Uri("wss://stream.binance.com:9443/stream"), protocol.DefaultUrl);
        Assert.Equal(TimeSpan.FromMinutes(5), protocol.SilenceTimeout);
        Assert.Equal(["BTC-USD"], protocol.Symbols);
    }

    [Fact]
    public void Constructor_WithoutSymbolsOrBeyondTheStreamLimit_Throws()
    {
        Assert.Throws<ArgumentException>(() => new BinanceProtocol([]));
        Assert.Throws<ArgumentException>(() => new BinanceProtocol([.. Enumerable.Range(0, 1025).Select(i => $"C{i}-USD")]));
        Assert.Equal(1024, new BinanceProtocol([.. Enumerable.Range(0, 1024).Select(i => $"C{i}-USD")]).Symbols.Count);
    }

    [Fact]
    public void OpeningFrames_OneSubscribeForEveryAggTradeStream()
    {
        var frames = new BinanceProtocol(["BTC-USD", "eth-btc"]).OpeningFrames();

        Assert.Equal(["""{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","ethbtc@aggTrade"],"id":1}"""], frames);
    }

    [Fact]
    public void Decode_AggTrade_EmitsATickAtTheTradeTimeWithTheUsersSymbol()
    {
        var (outcome, sink) = DecodeOne(AggTrade);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(new Tick("BTC-USD", 1672515782134, 0.001, 100, TradeId.FromNumber(12345), "binance", AssetClass.Crypto), Assert.Single(sink.Ticks));
        Assert.Empty(sink.Gaps);
    }

    [Fact]
    public void Decode_RawStreamPayloadInAnyOrder_IsReadToo()
    {
        const string message = """{"T":1672515782134,"q":"2.5","p":"20.25","a":7,"s":"ETHBTC","E":1672515782136,"e":"aggTrade"}""";

        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(new Tick("ETH-BTC", 1672515782134, 20.25, 2.5, TradeId.FromNumber(7), "binance", AssetClass.Crypto), Assert.Single(sink.Ticks));
    }

    [Theory]
    [InlineData("""{"result":null,"id":1}""")]
    [InlineData("""{"id":1,"result":["btcusdt@aggTrade"]}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"serverShutdown","E":1770123456789}}""")]
    public void Decode_ReplyOrShutdownNotice_IsControl(string message)
    {
        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeKind.Control, outcome.Kind);
        Assert.Empty(sink.Ticks);
    }

    [Theory]
    [InlineData("""{"error":{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIB`"},"id":1}""", "code 2: Invalid request: unknown variant `SUBSCRIB`")]
    [InlineData("""{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}""", "code 3: Invalid JSON: expected value at line 1 column 1")]
    [InlineData("""{"error":"too many requests","id":null}""", "error: too many requests")]
    public void Decode_Error_IsVenueErrorWithCodeAndMessage(string message, string detail)
    {
        var (outcome, _) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.VenueError(detail), outcome);
    }

    [Theory]
    [InlineData("""{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}""", "event trade")]
    [InlineData("""{"hello":"world"}""", "neither stream data, event, result nor error")]
    public void Decode_WellFormedButUnknown_IsUnknown(string message, string detail)
    {
        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeOutcome.Unknown(detail), outcome);
        Assert.Empty(sink.Ticks);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("\u0001\u00ff\u0000")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.001",""")]
    [InlineData("""["btcusdt@aggTrade"]""")]
    [InlineData("")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":[]}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"s":"BTCUSDT"}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"a":12345,"p":"0.001","q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","p":"0.001","q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":-1,"p":"0.001","q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"abc","q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":0.001,"q":"100","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.001","q":"x","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"1e308","q":"10","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"1e15","q":"1e7","T":1672515782134}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.001","q":"100"}}""")]
    [InlineData("""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136000,"s":"BTCUSDT","a":12345,"p":"0.001","q":"100","T":1672515782134000}}""")]
    public void Decode_GarbageTruncatedOrMissingAField_IsMalformedAndEmitsNothing(string message)
    {
        var (outcome, sink) = DecodeOne(message);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.False(string.IsNullOrEmpty(outcome.Detail));
        Assert.DoesNotContain('\n', outcome.Detail);
        Assert.Empty(sink.Ticks);
    }

    [Fact]
    public void Decode_TradeOfASymbolNotSubscribed_IsIgnoredNotMalformed()
    {
        var (outcome, sink) = DecodeOne(AggTrade.Replace("BTCUSDT", "SOLUSDT", StringComparison.Ordinal));

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Empty(sink.Ticks);
    }

    [Fact]
    public void Decode_AggregateIdJumps_ReportsTheGapForThatSymbolOnly()
    {
        var protocol = new BinanceProtocol(["BTC-USD", "ETH-BTC"]);
        var sink = new RecordingSink();

        Decode(protocol, Trade("BTCUSDT", 100), sink);
        Decode(protocol, Trade("ETHBTC", 7), sink);
        Decode(protocol, Trade("BTCUSDT", 101), sink);
        Decode(protocol, Trade("ETHBTC", 8), sink);
        Assert.Empty(sink.Gaps);

        Decode(protocol, Trade("BTCUSDT", 105), sink);
        Assert.Equal([("BTC-USD", "aggregate trade ids 102–104 missed")], sink.Gaps);

        Decode(protocol, Trade("BTCUSDT", 103), sink); // late: emitted (the engine dedups), not a step back
        Decode(protocol, Trade("BTCUSDT", 106), sink);
        Assert.Single(sink.Gaps);
        Assert.Equal([100L, 7, 101, 8, 105, 103, 106], sink.Ticks.Select(t => t.TradeId.Number));
    }

    [Fact]
    public void OnConnected_ForgetsTheLastAggregateIds()
    {
        var protocol = new BinanceProtocol(["BTC-USD"]);
        var sink = new RecordingSink();
        Decode(protocol, Trade("BTCUSDT", 100), sink);

        protocol.OnConnected();
        Decode(protocol, Trade("BTCUSDT", 200), sink);
        Assert.Empty(sink.Gaps);

        Decode(protocol, Trade("BTCUSDT", 202), sink);
        Assert.Equal([("BTC-USD", "aggregate trade ids 201–201 missed")], sink.Gaps);
    }

    [Fact]
    public void Decode_AggTrade_AllocatesNothingAfterWarmUp()
    {
        var protocol = new BinanceProtocol(["BTC-USD", "ETH-BTC"]);
        var message = Encoding.UTF8.GetBytes(AggTrade);
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
        Assert.Equal(1_010, sink.Count);
        Assert.True(allocated < 1_024, $"{allocated} bytes allocated decoding 1,000 trades");
    }

    private static string Trade(string symbol, long id) =>
        $$$"""{"stream":"{{{symbol.ToLowerInvariant()}}}@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"{{{symbol}}}","a":{{{id}}},"p":"1.5","q":"2","f":{{{id * 10}}},"l":{{{id * 10}}},"T":1672515782134,"m":false,"M":true}}""";

    // Found by fuzzing (fuzz/corpus/binance/crash-*): Utf8JsonReader throws InvalidOperationException, which escaped
    // Decode, when it unescapes or reads a string with a lone surrogate escape or bytes that are not UTF-8 (written
    // here as Latin-1 characters, one byte each).
    [Theory]
    [InlineData("""{"error":"\ud800"}""")]
    [InlineData("""{"code":1,"msg":"\udc00"}""")]
    [InlineData("""{"e":"aggTrade","s":"BTC\ud800"}""")]
    [InlineData("{\"error\":\"\u0080g\"}")]
    public void Decode_WithInvalidEscapeOrInvalidUtf8_IsMalformedAndEmitsNothing(string message)
    {
        var sink = new RecordingSink();
        var outcome = new BinanceProtocol(["BTC-USD", "ETH-BTC"]).Decode(Encoding.Latin1.GetBytes(message), sink);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.StartsWith("invalid JSON", outcome.Detail, StringComparison.Ordinal);
        Assert.Empty(sink.Ticks);
    }

    // Found by fuzzing: the venue's text went into the detail as it was, so a message could forge log lines.
    [Theory]
    [InlineData("""{"stream":"x","data":{"e":"aggT\nde"}}""", DecodeKind.Unknown)]
    [InlineData("""{"code":3,"msg":"bad\nERROR forged line"}""", DecodeKind.VenueError)]
    [InlineData("""{"error":{"code":2,"msg":"x\r\ny"}}""", DecodeKind.VenueError)]
    [InlineData("""{"error":"a\u2029b"}""", DecodeKind.VenueError)]
    public void Decode_WithLineBreaksInTheVenuesText_GivesAOneLineDetail(string message, DecodeKind kind)
    {
        var (outcome, _) = DecodeOne(message);

        Assert.Equal(kind, outcome.Kind);
        Assert.Equal(outcome.Detail!.ReplaceLineEndings(" "), outcome.Detail);
    }

    private static (DecodeOutcome Outcome, RecordingSink Sink) DecodeOne(string message)
    {
        var sink = new RecordingSink();
        var outcome = Decode(new BinanceProtocol(["BTC-USD", "ETH-BTC"]), message, sink);
        return (outcome, sink);
    }

    private static DecodeOutcome Decode(BinanceProtocol protocol, string message, RecordingSink sink) =>
        protocol.Decode(Encoding.UTF8.GetBytes(message), sink);

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

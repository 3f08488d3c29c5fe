using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Alpaca;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>Alpaca's real-time stock stream v2 on the messages its documentation shows (docs.alpaca.markets, streaming-market-data).</summary>
public class AlpacaProtocolTests
{
    private const string KeyId = "PKTESTKEYID0001";
    private const string Secret = "s3cr3t+Value/ThatMustNeverLeak";

    private const string Connected = """[{"T":"success","msg":"connected"}]""";
    private const string Authenticated = """[{"T":"success","msg":"authenticated"}]""";
    private const string AuthFailed = """[{"T":"error","code":402,"msg":"auth failed"}]""";
    private const string ConnectionLimit = """[{"T":"error","code":406,"msg":"connection limit exceeded"}]""";

    private const string Subscription = """
        [{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":[],"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],"corrections":["AAPL"],"cancelErrors":["AAPL"]}]
        """;

    // The documentation's trade, a second one with nanoseconds, and its quote example.
    private const string TradesAndQuote = """
        [{"T":"t","i":96921,"S":"AAPL","x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"},
        {"T":"t","i":96922,"S":"AAPL","x":"V","p":126.56,"s":100,"t":"2021-02-22T15:51:44.208123456Z","c":["@"],"z":"C"},
        {"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}]
        """;

    private const string Trades = """
        [{"T":"t","i":96921,"S":"AAPL","x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"},
        {"T":"t","i":52983525229917,"S":"MSFT","x":"A","p":241.1,"s":0,"t":"2021-02-22T15:51:44.999999999Z","c":[" ","9"],"z":"B"},
        {"T":"t","i":96922,"S":"AAPL","x":"V","p":126.56,"s":100,"t":"2021-02-22T15:51:44.208123456Z","c":["@"],"z":"C"}]
        """;

    // A correction as Alpaca's forum shows one.
    private const string Correction = """
        [{"T":"c","S":"AAPL","x":"D","oi":79372207866957,"op":208.65,"os":14950,"oc":[" ","7","V"],"ci":79372223926359,"cp":208.65,"cs":14950,"cc":[" ","7","Z","V"],"z":"B","t":"2022-01-20T17:26:08.000760661Z"}]
        """;

    private static AlpacaProtocol Protocol() => new(["AAPL", "MSFT"], KeyId, Secret);

    private static long Ms(int year, int month, int day, int hour, int minute, int second, int millisecond) =>
        new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static (DecodeOutcome Outcome, RecordingSink Sink) Decode(AlpacaProtocol protocol, string message)
    {
        var sink = new RecordingSink();
        return (protocol.Decode(Encoding.UTF8.GetBytes(message), sink), sink);
    }

    private static Tick Aapl(long id, double price, double size, long ts) => new("AAPL", ts, price, size, TradeId.FromNumber(id), "alpaca", AssetClass.Stock);

    [Fact]
    public void Properties_AreTheIexStream_Stocks_AndALongSilence()
    {
        var protocol = Protocol();

        Assert.Equal("alpaca", protocol.Name);
        Assert.Equal(AssetClass.Stock, protocol.AssetClass);
        Assert.Equal(new Uri("wss://stream.data.alpaca.markets/v2/iex"), protocol.DefaultUrl);
        Assert.Equal(TimeSpan.FromMinutes(10), protocol.SilenceTimeout);
        Assert.Equal(["AAPL", "MSFT"], protocol.Symbols);
    }

    [Fact]
    public void Connect_KeyInTheHandshakeHeaders_ThenOneFrameSubscribingToTrades()
    {
        var protocol = new AlpacaProtocol(["aapl", "MSFT"], KeyId, Secret);

        Assert.Equal([new("APCA-API-KEY-ID", KeyId), new("APCA-API-SECRET-KEY", Secret)], protocol.HandshakeHeaders);
        var frame = Assert.Single(protocol.OpeningFrames());
        using var subscribe = JsonDocument.Parse(frame);
        Assert.Equal("subscribe", subscribe.RootElement.GetProperty("action").GetString());
        Assert.Equal(["AAPL", "MSFT"], subscribe.RootElement.GetProperty("trades").EnumerateArray().Select(s => s.GetString()));
        Assert.DoesNotContain(Secret, frame, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Connected)]
    [InlineData(Authenticated)]
    [InlineData(Subscription)]
    public void Decode_SuccessAndSubscriptionMessages_AreControl(string message)
    {
        var (outcome, sink) = Decode(Protocol(), message);

        Assert.Equal(DecodeOutcome.Control, outcome);
        Assert.Empty(sink.Trades);
    }

    [Fact]
    public void Decode_Trades_HandsOnEachUnderTheUsersSymbolWithTheTradeTimeTruncatedToMilliseconds()
    {
        var (outcome, sink) = Decode(Protocol(), Trades);

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Equal(
            [
                Aapl(96921, 126.55, 1, Ms(2021, 2, 22, 15, 51, 44, 208)),
                new Tick("MSFT", Ms(2021, 2, 22, 15, 51, 44, 999), 241.1, 0, TradeId.FromNumber(52983525229917), "alpaca", AssetClass.Stock),
                Aapl(96922, 126.56, 100, Ms(2021, 2, 22, 15, 51, 44, 208)),
            ],
            sink.Trades);
        Assert.Empty(sink.Gaps);
    }

    [Fact]
    public void Decode_SymbolSubscribedInLowerCase_HandsOnTheUsersSpelling()
    {
        var (_, sink) = Decode(new AlpacaProtocol(["aapl"], KeyId, Secret), Trades);

        Assert.Equal(["aapl", "aapl"], sink.Trades.Select(t => t.Symbol));
    }

    [Fact]
    public void Decode_TradesWithAQuote_HandsOnTheTradesAndReportsTheQuoteAsUnknown()
    {
        var (outcome, sink) = Decode(Protocol(), TradesAndQuote);

        Assert.Equal(DecodeOutcome.Unknown("message type (T) 'q'"), outcome);
        Assert.Equal([TradeId.FromNumber(96921), TradeId.FromNumber(96922)], sink.Trades.Select(t => t.TradeId));
    }

    [Fact]
    public void Decode_UnsubscribedSymbol_IsIgnored()
    {
        var (outcome, sink) = Decode(new AlpacaProtocol(["MSFT"], KeyId, Secret), """[{"T":"t","i":1,"S":"TSLA","x":"V","p":700,"s":5,"t":"2021-02-22T15:51:44Z","c":["@"],"z":"C"}]""");

        Assert.Equal(DecodeOutcome.Trades, outcome);
        Assert.Empty(sink.Trades);
    }

    [Fact]
    public void Decode_AuthFailure_IsAVenueErrorWithCodeAndMessage() =>
        Assert.Equal(DecodeOutcome.VenueError("402 auth failed"), Decode(Protocol(), AuthFailed).Outcome);

    // Found after fuzzing found the same in Coinbase's decoder: an error with an empty message and no code gave a
    // venue error with an empty detail.
    [Theory]
    [InlineData("""[{"T":"error","msg":""}]""", "no message")]
    [InlineData("""[{"T":"error","code":401,"msg":""}]""", "401 no message")]
    public void Decode_ErrorWithAnEmptyMessage_SaysThereIsNoMessage(string message, string detail) =>
        Assert.Equal(DecodeOutcome.VenueError(detail), Decode(Protocol(), message).Outcome);

    [Fact]
    public void Decode_ConnectionLimit_IsAVenueError() =>
        Assert.Equal(DecodeOutcome.VenueError("406 connection limit exceeded"), Decode(Protocol(), ConnectionLimit).Outcome);

    [Fact]
    public void Decode_Correction_IsUnknownAndNotApplied()
    {
        var (outcome, sink) = Decode(Protocol(), Correction);

        Assert.Equal(DecodeOutcome.Unknown("trade correction (T=c), not applied"), outcome);
        Assert.Empty(sink.Trades);
    }

    [Fact]
    public void Decode_Cancel_IsUnknownAndNotApplied() =>
        Assert.Equal(
            DecodeOutcome.Unknown("trade cancel or error (T=x), not applied"),
            Decode(Protocol(), """[{"T":"x","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"a":"C","t":"2021-02-22T15:51:44.208Z","z":"C"}]""").Outcome);

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("""{"T":"success","msg":"connected"}""")]
    [InlineData("""[{"T":"t","i":96921,"S":"AAPL","x":"D","p":126.5""")]
    [InlineData("""[{"T":"success","msg":"connected"}] x""")]
    public void Decode_NotWhatAlpacaDocuments_IsMalformedWithoutTrades(string message)
    {
        var (outcome, sink) = Decode(Protocol(), message);

        Assert.Equal(DecodeKind.Malformed, outcome.Kind);
        Assert.False(string.IsNullOrWhiteSpace(outcome.Detail));
        Assert.Empty(sink.Trades);
    }

    [Theory]
    [InlineData("""{"T":"t","i":1,"S":"AAPL","s":1,"t":"2021-02-22T15:51:44Z"}""", "a trade without a positive price (p)")]
    [InlineData("""{"T":"t","i":1,"S":"AAPL","p":-1,"s":1,"t":"2021-02-22T15:51:44Z"}""", "a trade without a positive price (p)")]
    [InlineData("""{"T":"t","i":1,"S":"AAPL","p":1,"s":"1","t":"2021-02-22T15:51:44Z"}""", "a trade without a valid size (s)")]
    [InlineData("""{"T":"t","i":1,"S":"AAPL","p":1e308,"s":10,"t":"2021-02-22T15:51:44Z"}""", "a trade beyond Breadboard's limits: field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData("""{"T":"t","S":"AAPL","p":1,"s":1,"t":"2021-02-22T15:51:44Z"}""", "a trade without a valid trade id (i)")]
    [InlineData("""{"T":"t","i":1,"S":"AAPL","p":1,"s":1,"t":"yesterday"}""", "a trade without a valid RFC 3339 time (t)")]
    [InlineData("""{"T":"t","i":1,"p":1,"s":1,"t":"2021-02-22T15:51:44Z"}""", "a trade without a symbol (S)")]
    [InlineData("""{"S":"AAPL"}""", "an item without a type (T)")]
    [InlineData("42", "an item that is not an object")]
    public void Decode_OneBadItemAmongGoodTrades_HandsOnTheGoodOnesAndIsMalformed(string bad, string problem)
    {
        var good = """{"T":"t","i":7,"S":"AAPL","x":"V","p":126.5,"s":10,"t":"2021-02-22T15:51:44Z","c":["@"],"z":"C"}""";

        var (outcome, sink) = Decode(Protocol(), $"[{good},{bad},{good}]");

        Assert.Equal(DecodeOutcome.Malformed("skipped 1 of 3 items: " + problem), outcome);
        Assert.Equal(2, sink.Trades.Count);
    }

    [Fact]
    public void TheSecret_AppearsInNoDetailExceptionOrToString()
    {
        var protocol = Protocol();
        string[] messages =
        [
            Connected, Authenticated, AuthFailed, ConnectionLimit, Subscription, Trades, TradesAndQuote, Correction,
            "", "garbage", "{}", "[{}]", """[{"T":"error"}]""", """[{"T":"error","code":401,"msg":"not authenticated"}]""",
        ];
        var details = messages.Select(m => Decode(protocol, m).Outcome.Detail).ToList();
        var exceptions = new[]
        {
            Record.Exception(() => new AlpacaProtocol(null!, KeyId, Secret)),
            Record.Exception(() => new AlpacaProtocol([], KeyId, Secret)),
            Record.Exception(() => new AlpacaProtocol([" "], KeyId, Secret)),
            Record.Exception(() => new AlpacaProtocol(["AAPL"], " ", Secret)),
            Record.Exception(() => AlpacaProtocol.FromEnvironment(["AAPL"], name => name == AlpacaProtocol.SecretKeyVariable ? Secret : null)),
        };

        Assert.All(details, detail => Assert.DoesNotContain(Secret, detail ?? "", StringComparison.Ordinal));
        Assert.All(exceptions, e => Assert.DoesNotContain(Secret, Assert.IsType<ArgumentException>(e, exactMatch: false).ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(Secret, protocol.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromEnvironment_BothVariablesSet_AuthenticatesWithThem()
    {
        var variables = new Dictionary<string, string?>
        {
            [AlpacaProtocol.KeyIdVariable] = KeyId,
            [AlpacaProtocol.SecretKeyVariable] = Secret,
        };

        var protocol = AlpacaProtocol.FromEnvironment(["AAPL"], name => variables.GetValueOrDefault(name));

        Assert.Equal([new("APCA-API-KEY-ID", KeyId), new("APCA-API-SECRET-KEY", Secret)], protocol.HandshakeHeaders);
    }

    [Theory]
    [InlineData(null, Secret, "BREADBOARD_ALPACA_KEY_ID")]
    [InlineData("", Secret, "BREADBOARD_ALPACA_KEY_ID")]
    [InlineData(KeyId, null, "BREADBOARD_ALPACA_SECRET_KEY")]
    [InlineData(KeyId, "  ", "BREADBOARD_ALPACA_SECRET_KEY")]
    public void FromEnvironment_VariableMissing_ThrowsAOneLineMessageNamingIt(string? keyId, string? secret, string missing)
    {
        var variables = new Dictionary<string, string?>
        {
            [AlpacaProtocol.KeyIdVariable] = keyId,
            [AlpacaProtocol.SecretKeyVariable] = secret,
        };

        var e = Assert.Throws<ArgumentException>(() => AlpacaProtocol.FromEnvironment(["AAPL"], name => variables.GetValueOrDefault(name)));

        Assert.StartsWith(missing + " is not set", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyId, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromEnvironment_ReadsTheProcessEnvironment()
    {
        // Only the missing case: setting variables would leak into other tests run in parallel.
        Assert.SkipWhen(Environment.GetEnvironmentVariable(AlpacaProtocol.KeyIdVariable) is not null, "an Alpaca key is set in this environment");

        var e = Assert.Throws<ArgumentException>(() => AlpacaProtocol.FromEnvironment(["AAPL"]));
        Assert.StartsWith(AlpacaProtocol.KeyIdVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ManyTrades_AllocatesNothingPerTradeOnceWarm()
    {
        var protocol = Protocol();
        var message = Encoding.UTF8.GetBytes(Trades);
        var sink = new CountingSink();
        for (var i = 0; i < 100; i++)
        {
            protocol.Decode(message, sink);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            protocol.Decode(message, sink);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1_100 * 3, sink.Trades);
        Assert.InRange(allocated, 0, 1_024);
    }

    private sealed class RecordingSink : IFeedSink
    {
        public List<Tick> Trades { get; } = [];

        public List<(string Symbol, string Detail)> Gaps { get; } = [];

        public void Trade(in Tick tick) => Trades.Add(tick);

        public void SequenceGap(string symbol, string detail) => Gaps.Add((symbol, detail));
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

using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Alpaca;
using Breadboard.TestKit.WebSockets;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>
/// Every venue's connector through a real WebSocket connection to a local server playing the venue's documented
/// messages: it subscribes, normalises a trade, and after the connection drops, reconnects, subscribes again and
/// reports the gap its symbol's trades have.
/// </summary>
public sealed class VenueFeedTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Venues => [.. LiveFeeds.Names];

    [Theory]
    [MemberData(nameof(Venues))]
    public async Task Venue_TradeThenDrop_ReconnectsResubscribesAndReportsTheGap(string venue)
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var symbol = venue == "alpaca" ? "AAPL" : "BTC-USD";
        IVenueProtocol protocol = venue == "alpaca" ? new AlpacaProtocol([symbol], "PKTEST", "s3cret") : LiveFeeds.Protocol(venue, [symbol]);
        var feed = new LiveFeed(protocol, LiveFeedOptions.Default with { Url = server.Url, InitialBackoff = TimeSpan.FromMilliseconds(50) });
        var expectedFrames = protocol.OpeningFrames();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var ticks = System.Threading.Channels.Channel.CreateUnbounded<Tick>();
        var pump = Task.Run(
            async () =>
            {
                await foreach (var tick in feed.RunAsync(stop.Token))
                {
                    await ticks.Writer.WriteAsync(tick, CancellationToken.None);
                }
            },
            CancellationToken.None);

        var first = await server.AcceptAsync(Wait, Ct);
        foreach (var frame in expectedFrames)
        {
            Assert.Equal(frame, await first.ReceiveAsync(Wait, Ct));
        }

        await first.SendAsync(Trade(venue, 101, "2026-01-02T10:00:05.123Z", "43000.5"), Ct);
        var tick = await ticks.Reader.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        Assert.Equal(new Tick(symbol, Ms("2026-01-02T10:00:05.123Z"), 43000.5, 0.25, TradeId.FromNumber(101), venue, venue == "alpaca" ? AssetClass.Stock : AssetClass.Crypto), tick);
        first.Abort();

        var second = await server.AcceptAsync(Wait, Ct);
        foreach (var frame in expectedFrames)
        {
            Assert.Equal(frame, await second.ReceiveAsync(Wait, Ct));
        }

        await second.SendAsync(Trade(venue, 180, "2026-01-02T10:07:00Z", "43100"), Ct);
        Assert.Equal(180, (await ticks.Reader.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct)).TradeId.Number);
        var gap = await feed.Gaps.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        Assert.Equal((symbol, Ms("2026-01-02T10:00:05.123Z"), Ms("2026-01-02T10:07:00Z")), (gap.Symbol, gap.LastTs, gap.ResumedTs));
        Assert.Equal(1, feed.Stats.Snapshot().Reconnects);
        await stop.CancelAsync();
        await pump.WaitAsync(Wait, Ct);
    }

    private static long Ms(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    /// <summary>One trade of 0.25 at <paramref name="price"/> in the venue's documented message format.</summary>
    private static string Trade(string venue, long id, string time, string price) => venue switch
    {
        "coinbase" => $$"""{"channel":"market_trades","client_id":"","timestamp":"{{time}}","sequence_num":{{id}},"events":[{"type":"update","trades":[{"trade_id":"{{id}}","product_id":"BTC-USD","price":"{{price}}","size":"0.25","side":"SELL","time":"{{time}}"}]}]}""",
        "binance" => $$"""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":{{Ms(time) + 2}},"s":"BTCUSDT","a":{{id}},"p":"{{price}}","q":"0.25","f":{{id}},"l":{{id}},"T":{{Ms(time)}},"m":false,"M":true} }""",
        "kraken" => $$"""{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":{{price}},"qty":0.25,"ord_type":"market","trade_id":{{id}},"timestamp":"{{time}}"}]}""",
        "alpaca" => $$"""[{"T":"t","S":"AAPL","i":{{id}},"x":"V","p":{{price}},"s":0.25,"t":"{{time}}","c":["@"],"z":"C"}]""",
        _ => throw new ArgumentException(venue, nameof(venue)),
    };
}

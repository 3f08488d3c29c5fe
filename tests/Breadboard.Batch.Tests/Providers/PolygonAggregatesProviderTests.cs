using System.Diagnostics;
using Breadboard.Batch.Providers;
using Breadboard.Core.Model;
using Breadboard.TestKit.Logging;

namespace Breadboard.Batch.Tests.Providers;

public class PolygonAggregatesProviderTests
{
    private const string Key = "k3y-Secret_123";
    private const long T0 = 1_767_364_200_000; // 2026-01-02T14:30:00Z, the open in New York
    private const long Minute = 60_000;

    private static string Agg(long t, double o, long n = 5) =>
        $$"""{"v":1200,"vw":{{o + 0.1}},"o":{{o}},"c":{{o + 0.2}},"h":{{o + 0.5}},"l":{{o - 0.5}},"t":{{t}},"n":{{n}}}""";

    private static HistoricalProviderOptions Options(FakeApi api, ListLogger? logger = null) => new()
    {
        PolygonBaseUrl = new Uri(api.Url),
        PolygonApiKey = Key,
        MinRequestSpacing = TimeSpan.Zero,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        MaxRetries = 3,
        Logger = logger,
    };

    private static Task<List<Bar>> FetchAsync(HistoricalProviderOptions options, string symbol = "AAPL", long from = T0, long to = T0 + (3 * Minute)) =>
        new PolygonAggregatesProvider(options).FetchAsync(symbol, from, to, BarInterval.OneMinute, TestContext.Current.CancellationToken).ToListAsync();

    [Fact]
    public async Task Fetch_TwoPages_FollowsNextUrlWithTheKeyAddedAgain()
    {
        await using var api = await FakeApi.StartAsync(
            (call, self) => call.Index == 0
                ? new FakeApi.Reply(200, $$"""{"ticker":"AAPL","queryCount":2,"resultsCount":2,"adjusted":true,"results":[{{Agg(T0, 250)}},{{Agg(T0 + Minute, 251)}}],"status":"OK","request_id":"a1","count":2,"next_url":"{{self.Url}}/v2/aggs/ticker/AAPL/range/1/minute/{{T0}}/{{T0 + (3 * Minute) - 1}}?cursor=bGltaXQ9Mg"}""")
                : new FakeApi.Reply(200, $$"""{"ticker":"AAPL","queryCount":1,"resultsCount":1,"adjusted":true,"results":[{{Agg(T0 + (2 * Minute), 252)}}],"status":"DELAYED","request_id":"a2","count":1}"""),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(Options(api));

        Assert.Equal(
            [
                new Bar("AAPL", "1m", T0, T0 + Minute, 250, 250.5, 249.5, 250.2, 1200, 250.1, 5),
                new Bar("AAPL", "1m", T0 + Minute, T0 + (2 * Minute), 251, 251.5, 250.5, 251.2, 1200, 251.1, 5),
                new Bar("AAPL", "1m", T0 + (2 * Minute), T0 + (3 * Minute), 252, 252.5, 251.5, 252.2, 1200, 252.1, 5),
            ],
            bars);
        var calls = api.Calls.ToArray();
        Assert.Equal(2, calls.Length);
        Assert.Equal($"/v2/aggs/ticker/AAPL/range/1/minute/{T0}/{T0 + (3 * Minute) - 1}", calls[0].Path);
        Assert.Equal(("true", "asc", "50000", Key), (calls[0].Query["adjusted"], calls[0].Query["sort"], calls[0].Query["limit"], calls[0].Query["apiKey"]));
        Assert.Equal(("bGltaXQ9Mg", Key), (calls[1].Query["cursor"], calls[1].Query["apiKey"]));
    }

    [Fact]
    public async Task Fetch_CryptoSymbol_AsksForThePolygonCryptoTicker()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(200, """{"ticker":"X:BTCUSD","resultsCount":0,"status":"OK","request_id":"b"}"""),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(Options(api), "BTC-USD");

        Assert.Empty(bars);
        Assert.StartsWith("/v2/aggs/ticker/X:BTCUSD/range/", Assert.Single(api.Calls).Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_429ThenSuccess_BacksOffAndRetries()
    {
        await using var api = await FakeApi.StartAsync(
            (call, _) => call.Index == 0
                ? new FakeApi.Reply(429, """{"status":"ERROR","request_id":"c","error":"You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://polygon.io/pricing"}""", RetryAfter: "1")
                : new FakeApi.Reply(200, $$"""{"results":[{{Agg(T0, 10)}}],"status":"OK"}"""),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(Options(api));

        Assert.Single(bars);
        var calls = api.Calls.ToArray();
        Assert.Equal(2, calls.Length);
        Assert.True(Stopwatch.GetElapsedTime(calls[0].At, calls[1].At) >= TimeSpan.FromMilliseconds(950));
    }

    [Fact]
    public async Task Fetch_500ThenSuccess_RetriesWithoutLoggingTheKey()
    {
        var logger = new ListLogger();
        await using var api = await FakeApi.StartAsync(
            (call, _) => call.Index == 0
                ? new FakeApi.Reply(500, $"upstream failed for /v2/aggs/ticker/AAPL?apiKey={Key}")
                : new FakeApi.Reply(200, $$"""{"results":[{{Agg(T0, 10)}}],"status":"OK"}"""),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(Options(api, logger));

        Assert.Single(bars);
        Assert.Equal(2, api.Calls.Count);
        var line = Assert.Single(logger.Lines);
        Assert.Contains("polygon: attempt 1/4 failed (HTTP 500", line, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_UnknownKey_ThrowsPolygonsMessageWithoutTheKey()
    {
        await using var api = await FakeApi.StartAsync(
            (call, _) => new FakeApi.Reply(401, $$"""{"status":"ERROR","request_id":"d","error":"Unknown API Key '{{call.Query["apiKey"]}}'"}"""),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(Options(api)));

        Assert.Equal("polygon: AAPL: Unknown API Key '***' (ERROR, HTTP 401)", e.Message);
        Assert.Single(api.Calls);
    }

    [Fact]
    public async Task Fetch_NotEntitled_ThrowsPolygonsMessage()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(403, """{"status":"NOT_AUTHORIZED","request_id":"e","message":"Your plan doesn't include this data timeframe. Please upgrade your plan at https://polygon.io/pricing"}"""),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(Options(api)));

        Assert.Equal("polygon: AAPL: Your plan doesn't include this data timeframe. Please upgrade your plan at https://polygon.io/pricing (NOT_AUTHORIZED, HTTP 403)", e.Message);
    }

    [Fact]
    public async Task Fetch_WithoutKey_ThrowsAskingForTheVariable()
    {
        await using var api = await FakeApi.StartAsync((_, _) => new FakeApi.Reply(200, "{}"), TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(Options(api) with { PolygonApiKey = "" }));

        Assert.Equal("polygon: set BREADBOARD_POLYGON_API_KEY", e.Message);
        Assert.Empty(api.Calls);
    }

    [Theory]
    [InlineData("not json at all", "unreadable response (HTTP 200)")]
    [InlineData("""{"status":"OK","results":[{"t":1767364200000,"o":1,"h":1,"l":1,"c":1}]}""", "unreadable response (HTTP 200)")]
    [InlineData("""{"status":"ERROR","error":"something broke"}""", "status ERROR: something broke")]
    public async Task Fetch_GarbageBody_ThrowsAClearError(string body, string expected)
    {
        await using var api = await FakeApi.StartAsync((_, _) => new FakeApi.Reply(200, body), TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(Options(api)));

        Assert.StartsWith("polygon: AAPL: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Fetch_NextUrlToAnotherHost_IsRefusedWithoutSendingTheKey()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(200, $$"""{"results":[{{Agg(T0, 10)}}],"status":"OK","next_url":"https://elsewhere.example/v2/aggs?cursor=x"}"""),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(Options(api)));

        Assert.Contains("next_url leads to https://elsewhere.example", e.Message, StringComparison.Ordinal);
        Assert.Single(api.Calls);
    }
}

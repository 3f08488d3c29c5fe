using System.Diagnostics;
using System.Globalization;
using System.Text;
using Breadboard.Batch.Providers;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Tests.Providers;

public class BinanceKlinesProviderTests
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    private const long Minute = 60_000;

    /// <summary>Klines as Binance documents them: openTime ≥ startTime, ≤ endTime, at most limit, one a minute from T0.</summary>
    private static FakeApi.Reply Klines(FakeApi.Call call, long dataEnd = T0 + (2500 * Minute))
    {
        var start = long.Parse(call.Query["startTime"], CultureInfo.InvariantCulture);
        var end = long.Parse(call.Query["endTime"], CultureInfo.InvariantCulture);
        var limit = int.Parse(call.Query["limit"], CultureInfo.InvariantCulture);
        var body = new StringBuilder("[");
        var first = Math.Max(T0, start + ((Minute - ((start - T0) % Minute)) % Minute));
        var count = 0;
        for (var t = first; t <= end && t < dataEnd && count < limit; t += Minute, count++)
        {
            var i = (t - T0) / Minute;
            body.Append(count == 0 ? "" : ",").Append(CultureInfo.InvariantCulture,
                $"[{t},\"{100 + i}.00000000\",\"{101 + i}.00000000\",\"{99 + i}.00000000\",\"{100.5 + i}\",\"2.00000000\",{t + Minute - 1},\"{2 * (100.25 + i)}\",{i},\"1.0\",\"100.0\",\"0\"]");
        }

        return new FakeApi.Reply(200, body.Append(']').ToString());
    }

    private static HistoricalProviderOptions Options(FakeApi api, TimeSpan? spacing = null) => new()
    {
        BinanceBaseUrl = new Uri(api.Url),
        MinRequestSpacing = spacing ?? TimeSpan.Zero,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        MaxRetries = 3,
    };

    private static Task<List<Bar>> FetchAsync(FakeApi api, string symbol, long from, long to, HistoricalProviderOptions? options = null) =>
        new BinanceKlinesProvider(options ?? Options(api)).FetchAsync(symbol, from, to, BarInterval.OneMinute, TestContext.Current.CancellationToken).ToListAsync();

    [Fact]
    public async Task Fetch_LongRange_PagesByOpenTimeUntilAShortPage()
    {
        await using var api = await FakeApi.StartAsync((call, _) => Klines(call), TestContext.Current.CancellationToken);

        var bars = await FetchAsync(api, "BTC-USD", T0, T0 + (3000 * Minute));

        Assert.Equal(2500, bars.Count);
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => T0 + (i * Minute)), bars.Select(b => b.WindowStart));
        var calls = api.Calls.ToArray();
        Assert.Equal(3, calls.Length);
        Assert.All(calls, c => Assert.Equal("/api/v3/klines", c.Path));
        Assert.All(calls, c => Assert.Equal(("BTCUSDT", "1m", "1000", (T0 + (3000 * Minute) - 1).ToString(CultureInfo.InvariantCulture)), (c.Query["symbol"], c.Query["interval"], c.Query["limit"], c.Query["endTime"])));
        Assert.Equal([T0, T0 + (1000 * Minute), T0 + (2000 * Minute)], calls.Select(c => long.Parse(c.Query["startTime"], CultureInfo.InvariantCulture)));

        var bar = bars[7];
        Assert.Equal(new Bar("BTC-USD", "1m", T0 + (7 * Minute), T0 + (8 * Minute), 107, 108, 106, 107.5, 2, 107.25, 7), bar);
    }

    [Fact]
    public async Task Fetch_RangeEndingOnAPageBoundary_StopsWithoutAnEmptyPage()
    {
        await using var api = await FakeApi.StartAsync((call, _) => Klines(call), TestContext.Current.CancellationToken);

        var bars = await FetchAsync(api, "ETH/USDT", T0, T0 + (2000 * Minute));

        Assert.Equal(2000, bars.Count);
        Assert.Equal(2, api.Calls.Count);
        Assert.All(api.Calls, c => Assert.Equal("ETHUSDT", c.Query["symbol"]));
    }

    [Fact]
    public async Task Fetch_429WithRetryAfter_WaitsThatLongAndRetries()
    {
        await using var api = await FakeApi.StartAsync(
            (call, _) => call.Index == 0 ? new FakeApi.Reply(429, """{"code":-1003,"msg":"Too many requests."}""", RetryAfter: "1") : Klines(call),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(api, "BTC-USD", T0, T0 + (5 * Minute));

        Assert.Equal(5, bars.Count);
        var calls = api.Calls.ToArray();
        Assert.Equal(2, calls.Length);
        Assert.True(Stopwatch.GetElapsedTime(calls[0].At, calls[1].At) >= TimeSpan.FromMilliseconds(950), "waited Retry-After");
    }

    [Fact]
    public async Task Fetch_418WithLongRetryAfter_FailsInsteadOfWaitingOutTheBan()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(418, """{"code":-1003,"msg":"Way too much request weight used; IP banned until 1767229200000."}""", RetryAfter: "3600"),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "BTC-USD", T0, T0 + Minute));

        Assert.Equal("binance: BTC-USD: rate limited (HTTP 418, Retry-After 3600 s) (more than the 300 s we wait)", e.Message);
        Assert.Single(api.Calls);
    }

    [Fact]
    public async Task Fetch_500ThenSuccess_Retries()
    {
        await using var api = await FakeApi.StartAsync(
            (call, _) => call.Index == 0 ? new FakeApi.Reply(500, "internal error") : Klines(call),
            TestContext.Current.CancellationToken);

        var bars = await FetchAsync(api, "BTC-USD", T0, T0 + (3 * Minute));

        Assert.Equal(3, bars.Count);
        Assert.Equal(2, api.Calls.Count);
    }

    [Fact]
    public async Task Fetch_503Always_GivesUpAfterTheRetries()
    {
        await using var api = await FakeApi.StartAsync((_, _) => new FakeApi.Reply(503, "busy"), TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "BTC-USD", T0, T0 + Minute));

        Assert.Equal("binance: BTC-USD: HTTP 503: busy after 4 attempts", e.Message);
        Assert.Equal(4, api.Calls.Count);
    }

    [Fact]
    public async Task Fetch_ServerErrorWithEscapeSequences_GivesUpWithAMessageWithoutThem()
    {
        await using var api = await FakeApi.StartAsync((_, _) => new FakeApi.Reply(503, "\u001b[31mbusy\u001b[0m\u202E\u0007"), TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "BTC-USD", T0, T0 + Minute));

        Assert.Equal("binance: BTC-USD: HTTP 503: busy after 4 attempts", e.Message);
    }

    [Fact]
    public async Task Fetch_ErrorMessageWithEscapeSequences_IsShownWithoutThem()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(400, """{"code":-1121,"msg":"\u001b]0;pwned\u0007Invalid \u202Esymbol."}"""),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "NOPE-USD", T0, T0 + Minute));

        Assert.Equal("binance: NOPE-USD: Invalid symbol. (code -1121, HTTP 400)", e.Message);
    }

    [Fact]
    public async Task Fetch_InvalidSymbol_ThrowsBinancesMessageWithoutRetrying()
    {
        await using var api = await FakeApi.StartAsync(
            (_, _) => new FakeApi.Reply(400, """{"code":-1121,"msg":"Invalid symbol."}"""),
            TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "NOPE-USD", T0, T0 + Minute));

        Assert.Equal("binance: NOPE-USD: Invalid symbol. (code -1121, HTTP 400)", e.Message);
        Assert.Single(api.Calls);
    }

    [Theory]
    [InlineData("<html>rate limited by proxy</html>", "unreadable response (HTTP 200)")]
    [InlineData("[[1767225600000,\"1\",\"1\"]]", "kline 0 is not an array of at least 9 fields")]
    [InlineData("[[1767225600000,\"1\",\"x\",\"1\",\"1\",\"1\",1767225659999,\"1\",1]]", "kline 0 field 2 is not a decimal string")]
    [InlineData("{\"code\":0}", "unreadable response (HTTP 200)")]
    public async Task Fetch_GarbageBody_ThrowsAClearError(string body, string expected)
    {
        await using var api = await FakeApi.StartAsync((_, _) => new FakeApi.Reply(200, body), TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(api, "BTC-USD", T0, T0 + Minute));

        Assert.StartsWith("binance: BTC-USD: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Single(api.Calls);
    }

    [Fact]
    public async Task Fetch_WithMinimumSpacing_SpacesTheRequests()
    {
        await using var api = await FakeApi.StartAsync((call, _) => Klines(call), TestContext.Current.CancellationToken);
        // Send times are taken on the client: arrival times at the server also carry the scheduler's delays.
        using var sends = new SendTimes();
        using var http = new HttpClient(sends);

        await FetchAsync(api, "BTC-USD", T0, T0 + (2500 * Minute), Options(api, TimeSpan.FromMilliseconds(200)) with { HttpClient = http });

        var at = sends.At.ToArray();
        Assert.Equal(3, at.Length);
        Assert.All(at.Zip(at.Skip(1)), pair => Assert.True(Stopwatch.GetElapsedTime(pair.First, pair.Second) >= TimeSpan.FromMilliseconds(190)));
    }

    /// <summary>Notes the Stopwatch time each request leaves the client.</summary>
    private sealed class SendTimes() : DelegatingHandler(new SocketsHttpHandler())
    {
        public System.Collections.Concurrent.ConcurrentQueue<long> At { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            At.Enqueue(Stopwatch.GetTimestamp());
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task Fetch_Unreachable_ThrowsAfterRetries()
    {
        int port;
        await using (var api = await FakeApi.StartAsync((call, _) => Klines(call), TestContext.Current.CancellationToken))
        {
            port = new Uri(api.Url).Port;
        }

        var options = new HistoricalProviderOptions { BinanceBaseUrl = new Uri($"http://127.0.0.1:{port}"), MinRequestSpacing = TimeSpan.Zero, RetryBaseDelay = TimeSpan.FromMilliseconds(1), MaxRetries = 2 };
        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() =>
            new BinanceKlinesProvider(options).FetchAsync("BTC-USD", T0, T0 + Minute, BarInterval.OneMinute, TestContext.Current.CancellationToken).ToListAsync());

        Assert.StartsWith("binance: BTC-USD: unreachable after 3 attempts: ", e.Message, StringComparison.Ordinal);
    }
}

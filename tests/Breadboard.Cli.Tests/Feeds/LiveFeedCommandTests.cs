using System.Diagnostics;
using System.Text.Json;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;
using Breadboard.TestKit.WebSockets;

namespace Breadboard.Cli.Tests.Feeds;

/// <summary>
/// <c>up --feed coinbase</c> against a local WebSocket server speaking Coinbase Advanced Trade's documented
/// messages: trades reach the store, a dropped connection is reconnected and resubscribed, and the minutes the
/// drop left without trades are backfilled from the historical provider.
/// </summary>
public sealed class LiveFeedCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Up_CoinbaseFeed_DroppedAndReconnected_StoresTheTradesAndBackfillsTheMissingMinutes()
    {
        using var dir = new TempDir();
        await using var venue = await FakeVenueServer.StartAsync(Ct);
        var port = Breadboard.TestKit.ServerProcess.FreePort();
        var info = CliProcess.StartInfo(
            dir.Path,
            null,
            "up", "--feed", "coinbase", "--feed-url", venue.Url.ToString(), "--symbols", "BTC-USD,ETH-USD", "--backfill", "synthetic",
            "--store", $"duckdb://{dir.File("live.duckdb")}", "--no-checkpoint", "--urls", $"http://127.0.0.1:{port}", "--duration", "25");
        using var up = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        up.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
        up.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
        up.BeginOutputReadLine();
        up.BeginErrorReadLine();
        try
        {
            var first = await venue.AcceptAsync(Wait, Ct);
            Assert.Equal(Subscribe("heartbeats"), await first.ReceiveAsync(Wait, Ct));
            Assert.Equal(Subscribe("market_trades"), await first.ReceiveAsync(Wait, Ct));
            await first.SendAsync(Trades(1, ("1", "BTC-USD", "43000.5", "0.25", "2026-01-02T10:00:05.123456Z"), ("2", "ETH-USD", "2300.1", "1.5", "2026-01-02T10:00:07Z")), Ct);
            await first.SendAsync("""{"channel":"heartbeats","client_id":"","timestamp":"2026-01-02T10:00:08Z","sequence_num":2,"events":[{"current_time":"2026-01-02 10:00:08 +0000 UTC","heartbeat_counter":1}]}""", Ct);
            await first.SendAsync("{not json", Ct);
            using var http = new HttpClient();
            // A reset discards what the client has not read yet, so the drop comes once the messages are in.
            await WaitForAsync(http, port, f => f.GetProperty("trades").GetInt64() == 2 && f.GetProperty("malformed").GetInt64() == 1);
            first.Abort();

            var second = await venue.AcceptAsync(Wait, Ct);
            Assert.Equal(Subscribe("heartbeats"), await second.ReceiveAsync(Wait, Ct));
            Assert.Equal(Subscribe("market_trades"), await second.ReceiveAsync(Wait, Ct));
            await second.SendAsync(Trades(1, ("3", "BTC-USD", "43100", "0.5", "2026-01-02T10:05:30Z"), ("4", "ETH-USD", "2310", "2", "2026-01-02T10:06:10Z")), Ct);

            var feeds = await WaitForAsync(http, port, f => f.GetProperty("trades").GetInt64() == 4);
            Assert.Equal("coinbase", feeds.GetProperty("venue").GetString());
            Assert.True(feeds.GetProperty("connected").GetBoolean());
            Assert.Equal(1, feeds.GetProperty("reconnects").GetInt64());
            Assert.Equal(1, feeds.GetProperty("malformed").GetInt64());
            Assert.Equal(1, feeds.GetProperty("heartbeats").GetInt64());
            Assert.Equal(2, feeds.GetProperty("gaps").GetInt64());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await up.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
            Assert.Fail($"{e.Message}\nup printed:\n{output}");
        }
        finally
        {
            await up.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }

        Assert.True(up.ExitCode == 0, output.ToString());
        Assert.Contains($"coinbase live trades (BTC-USD, ETH-USD) from {venue.Url}; gaps backfilled from synthetic", output.ToString(), StringComparison.Ordinal);

        await using var store = DuckDbStore.Open(dir.File("live.duckdb"));
        await store.InitializeAsync(Ct);
        var ticks = await store.QueryTicksAsync(new TickQuery(Limit: 100), Ct).ToListAsync(Ct);
        Assert.Equal(["1", "2", "3", "4"], ticks.Select(t => t.TradeId.ToString()).Order(StringComparer.Ordinal));
        Assert.All(ticks, t => Assert.Equal("coinbase", t.Exchange));

        // The minutes wholly inside each symbol's gap come from the provider: BTC 10:01–10:04, ETH 10:01–10:05.
        // BTC's 10:05 bar is the live one: ETH's trade at 10:06:10 moved the watermark past it.
        var start = DateTimeOffset.Parse("2026-01-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        var btc = await store.QueryBarsAsync(new BarQuery("BTC-USD", "1m", start + 60_000, start + 360_000), Ct).ToListAsync(Ct);
        var eth = await store.QueryBarsAsync(new BarQuery("ETH-USD", "1m", start + 60_000, start + 360_000), Ct).ToListAsync(Ct);
        Assert.Equal([1L, 2, 3, 4, 5], btc.Select(b => (b.WindowStart - start) / 60_000));
        Assert.Equal((43100, 43100, 0.5, 1L), (btc[^1].Open, btc[^1].Close, btc[^1].Volume, btc[^1].Trades));
        Assert.All(btc[..^1], b => Assert.NotEqual(43100, b.Open));
        Assert.Equal([1L, 2, 3, 4, 5], eth.Select(b => (b.WindowStart - start) / 60_000));
    }

    [Fact]
    public async Task Ingest_KrakenFeed_PublishesTheVenuesTradesToTheCryptoTopic()
    {
        using var dir = new TempDir();
        await using var venue = await FakeVenueServer.StartAsync(Ct);
        await using var kafka = await Kafka.KafkaPipelineTests.StartKafkaAsync();
        var ingest = CliProcess.RunAsync(dir.Path, ["ingest", "--bus", $"kafka://{kafka.BootstrapServers}", "--feed", "kraken", "--feed-url", venue.Url.ToString(), "--symbols", "BTC-USD", "--backfill", "none", "--duration", "8"]);

        var connection = await venue.AcceptAsync(Wait, Ct);
        Assert.Contains("\"channel\":\"trade\"", await connection.ReceiveAsync(Wait, Ct), StringComparison.Ordinal);
        await connection.SendAsync("""{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":43000.5,"qty":0.25,"ord_type":"market","trade_id":7,"timestamp":"2026-01-02T10:00:05.123456Z"},{"symbol":"BTC/USD","side":"sell","price":43001,"qty":1,"ord_type":"limit","trade_id":8,"timestamp":"2026-01-02T10:00:06Z"}]}""", Ct);

        var result = await ingest;
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("kraken live trades (BTC-USD)", result.Stdout, StringComparison.Ordinal);
        using var consumer = new Confluent.Kafka.ConsumerBuilder<string, string>(new Confluent.Kafka.ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "check", AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest }).Build();
        consumer.Subscribe("crypto-prices");
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (values.Count < 2 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                Assert.Equal("BTC-USD", r.Message.Key);
                values.Add(r.Message.Value);
            }
        }

        Assert.Equal(2, values.Count);
        using var first = JsonDocument.Parse(values.Single(v => v.Contains("\"trade_id\":7", StringComparison.Ordinal) || v.Contains("\"trade_id\":\"7\"", StringComparison.Ordinal)));
        Assert.Equal("2026-01-02T10:00:05.123Z", first.RootElement.GetProperty("ts").GetString());
        Assert.Equal("kraken", first.RootElement.GetProperty("exchange").GetString());
        Assert.Equal(43000.5, first.RootElement.GetProperty("price").GetDouble());
    }

    [Theory]
    [InlineData("--feed", "kraken", "--feed-url", "http://127.0.0.1:9/", "--feed-url 'http://127.0.0.1:9/': expected a ws:// or wss:// URL")]
    [InlineData("--feed", "binance", "--backfill", "file", "--backfill file: a file cannot fill live gaps")]
    [InlineData("--feed", "nasdaq", "--symbols", "X", "--feed 'nasdaq': expected synthetic, replay:FILE (NDJSON/CSV/.gz), or a venue's live trades: coinbase, binance, kraken, alpaca")]
    public async Task Up_BadLiveFeedSettings_OneLineErrorExit2(string a, string b, string c, string d, string expected)
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["up", a, b, c, d, "--no-web", "--duration", "1"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: " + expected, Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_AlpacaWithoutKeys_NamesTheMissingVariable()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["up", "--feed", "alpaca", "--no-web", "--duration", "1"], new Dictionary<string, string> { ["BREADBOARD_ALPACA_KEY_ID"] = "", ["BREADBOARD_ALPACA_SECRET_KEY"] = "" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("BREADBOARD_ALPACA_KEY_ID", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    private static string Subscribe(string channel) => $$"""{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"{{channel}}"}""";

    private static string Trades(int sequence, params (string Id, string Product, string Price, string Size, string Time)[] trades) =>
        $$"""{"channel":"market_trades","client_id":"","timestamp":"2026-01-02T10:00:00Z","sequence_num":{{sequence}},"events":[{"type":"update","trades":[{{string.Join(",", trades.Select(t => $$"""{"trade_id":"{{t.Id}}","product_id":"{{t.Product}}","price":"{{t.Price}}","size":"{{t.Size}}","side":"BUY","time":"{{t.Time}}"}"""))}}]}]}""";

    /// <summary>Polls /api/pipeline until the first feed connection satisfies <paramref name="done"/>.</summary>
    private static async Task<JsonElement> WaitForAsync(HttpClient http, int port, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + Wait;
        var last = "nothing";
        while (true)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/pipeline"), Ct));
                last = doc.RootElement.GetProperty("feeds").ToString();
                if (doc.RootElement.GetProperty("feeds") is { ValueKind: JsonValueKind.Array } feeds && feeds.GetArrayLength() == 1 && done(feeds[0]))
                {
                    return feeds[0].Clone();
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message; // not listening yet, or no more
            }

            Assert.True(DateTime.UtcNow < deadline, $"the feed's counters never reached the expected state; last: {last}");
            await Task.Delay(200, Ct);
        }
    }
}

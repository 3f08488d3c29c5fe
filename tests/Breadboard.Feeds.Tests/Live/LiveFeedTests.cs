using System.Globalization;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;
using Breadboard.TestKit.Logging;
using Breadboard.TestKit.WebSockets;

namespace Breadboard.Feeds.Tests.Live;

/// <summary>
/// The connection side of every live feed against a local WebSocket server, with a minimal line protocol so the
/// behaviour under test is the feed's (reconnects, silence, garbage, gaps), not a venue's format.
/// </summary>
public sealed class LiveFeedTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly LiveFeedOptions Fast = LiveFeedOptions.Default with
    {
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Feed_SubscribesAndYieldsTheVenuesTradesInOrder()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD", "ETH-USD"]), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        Assert.Equal("subscribe BTC-USD,ETH-USD", await venue.ReceiveAsync(Wait, Ct));
        await venue.SendAsync("T BTC-USD 1000 100.5 2 1", Ct);
        await venue.SendFragmentedAsync("T ETH-USD 1001 20 3 7", pieces: 3, Ct);

        Assert.Equal(new Tick("BTC-USD", 1000, 100.5, 2, TradeId.FromNumber(1), "line", AssetClass.Crypto), await NextAsync(ticks));
        Assert.Equal(new Tick("ETH-USD", 1001, 20, 3, TradeId.FromNumber(7), "line", AssetClass.Crypto), await NextAsync(ticks));
        var status = feed.Stats.Snapshot();
        Assert.True(status.Connected);
        Assert.Equal((2, 2, 0), (status.Messages, status.Trades, status.Reconnects));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_ConnectionDropped_ReconnectsResubscribesAndReportsTheGapPerSymbol()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD", "ETH-USD"]), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var first = await server.AcceptAsync(Wait, Ct);
        await first.ReceiveAsync(Wait, Ct);
        await first.SendAsync("T BTC-USD 60000 100 1 1", Ct);
        await first.SendAsync("T ETH-USD 61000 20 1 1", Ct);
        await NextAsync(ticks);
        await NextAsync(ticks);
        first.Abort(); // no close handshake: a network failure

        var second = await server.AcceptAsync(Wait, Ct);
        Assert.Equal("subscribe BTC-USD,ETH-USD", await second.ReceiveAsync(Wait, Ct));
        await second.SendAsync("T BTC-USD 300000 101 1 2", Ct);
        Assert.Equal(300_000, (await NextAsync(ticks)).Ts);

        var gap = await feed.Gaps.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        Assert.Equal(("BTC-USD", 60_000L, 300_000L), (gap.Symbol, gap.LastTs, gap.ResumedTs));
        Assert.StartsWith("disconnected at ", gap.Reason, StringComparison.Ordinal);
        Assert.False(feed.Gaps.TryRead(out _)); // ETH-USD has no trade since: its gap closes with its next one
        Assert.Equal(1, feed.Stats.Snapshot().Reconnects);
        Assert.Equal(2, server.ConnectionCount);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_VenueClosesPolitely_ReconnectsToo()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var first = await server.AcceptAsync(Wait, Ct);
        await first.CloseAsync(Ct);
        var second = await server.AcceptAsync(Wait, Ct);
        await second.SendAsync("T BTC-USD 1 1 1 1", Ct);

        Assert.Equal(1, (await NextAsync(ticks)).Ts);
        Assert.Contains("maintenance", feed.Stats.Snapshot().LastError, StringComparison.Ordinal);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_SilentLongerThanTheVenuesHeartbeat_Reconnects_WhileHeartbeatsKeepItUp()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]) { Silence = TimeSpan.FromMilliseconds(1500) }, Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);
        var reading = NextAsync(ticks);

        var first = await server.AcceptAsync(Wait, Ct);
        for (var i = 0; i < 6; i++)
        {
            await first.SendAsync("H", Ct); // 1.2 s of heartbeats 200 ms apart, well within 1.5 s: no reconnect
            await Task.Delay(200, Ct);
        }

        Assert.Equal(1, server.ConnectionCount);
        var second = await server.AcceptAsync(Wait, Ct); // then silence: the feed gives up on the first
        await second.SendAsync("T BTC-USD 5 1 1 1", Ct);

        Assert.Equal(5, (await reading).Ts);
        var status = feed.Stats.Snapshot();
        Assert.Equal(6, status.Heartbeats);
        Assert.Contains("nothing received for 1.5 s", status.LastError, StringComparison.Ordinal);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_GarbageAndVenueErrors_AreCountedAndLoggedOncePerKind_AndTradesContinue()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var logger = new ListLogger();
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = server.Url }, logger);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        for (var i = 0; i < 50; i++)
        {
            await venue.SendAsync("\u0001garbage\u00ff", Ct);
        }

        await venue.SendAsync("E rate limited", Ct);
        await venue.SendAsync("X something new", Ct);
        await venue.SendAsync("T BTC-USD 9 1 1 1", Ct);

        Assert.Equal(9, (await NextAsync(ticks)).Ts);
        var status = feed.Stats.Snapshot();
        Assert.Equal((50, 1, 1, 0L), (status.Malformed, status.VenueErrors, status.Unknown, status.Reconnects));
        var problems = logger.Lines.Where(l => l.Contains(" message (", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, problems.Count); // one line per kind within the 10 s window
        Assert.Contains(problems, l => l.Contains("Malformed message (not a line message)", StringComparison.Ordinal));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_VenueErrorWithEscapeSequences_IsLoggedWithoutThem()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var logger = new ListLogger();
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = server.Url }, logger);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        // No ";" in it: the line protocol splits messages there.
        await venue.SendAsync("E \u001b[31mrate \u202Elimited\u001b]0:pwned\u0007\u009b2J", Ct);
        await venue.SendAsync("T BTC-USD 9 1 1 1", Ct);

        Assert.Equal(9, (await NextAsync(ticks)).Ts);
        var line = Assert.Single(logger.Lines, l => l.Contains("VenueError message (", StringComparison.Ordinal));
        Assert.Contains("VenueError message (rate limited)", line, StringComparison.Ordinal);
        Assert.DoesNotContain(line, c => char.IsControl(c) || c == '\u202E');
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_UrlWithUserInfoAndToken_NamesNeither()
    {
        var port = Breadboard.TestKit.ServerProcess.FreePort();
        var logger = new ListLogger();
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = new Uri($"ws://u:PW@127.0.0.1:{port}/ws?token=PW") }, logger);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(TimeSpan.FromSeconds(1));

        await foreach (var _ in feed.RunAsync(stop.Token))
        {
        }

        Assert.Equal($"ws://u:***@127.0.0.1:{port}/ws", feed.Stats.Url);
        Assert.DoesNotContain("PW", feed.Stats.Snapshot().LastError ?? "", StringComparison.Ordinal);
        Assert.NotEmpty(logger.Lines);
        Assert.All(logger.Lines, l => Assert.DoesNotContain("PW", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Feed_VenueSequenceJump_ReportsAGapAtTheNextTradeOfThatSymbol()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        await venue.SendAsync("T BTC-USD 1000 1 1 1", Ct);
        await venue.SendAsync("T BTC-USD 250000 1 1 5", Ct); // ids 2–4 never came

        await NextAsync(ticks);
        await NextAsync(ticks);
        var gap = await feed.Gaps.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        Assert.Equal(new FeedGap("BTC-USD", 1000, 250_000, "trade ids 2–4 missed"), gap);
        Assert.Equal(1, feed.Stats.Snapshot().SequenceGaps);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_SequenceJumpInsideOneMessage_GapClosesAtTheTradeAfterIt()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        await venue.SendAsync("T BTC-USD 1000 1 1 101;T BTC-USD 2000 1 1 102;T BTC-USD 400000 1 1 105", Ct);

        await NextAsync(ticks);
        await NextAsync(ticks);
        await NextAsync(ticks);
        var gap = await feed.Gaps.ReadAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        Assert.Equal(new FeedGap("BTC-USD", 2000, 400_000, "trade ids 103–104 missed"), gap);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Feed_NothingListening_KeepsRetryingWithTheReason_AndStopsWhenCancelled()
    {
        var port = Breadboard.TestKit.ServerProcess.FreePort();
        var feed = new LiveFeed(new LineProtocol(["BTC-USD"]), Fast with { Url = new Uri($"ws://127.0.0.1:{port}/ws") });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(TimeSpan.FromSeconds(1.5));

        var all = new List<Tick>();
        await foreach (var tick in feed.RunAsync(stop.Token))
        {
            all.Add(tick);
        }

        Assert.Empty(all);
        var status = feed.Stats.Snapshot();
        Assert.False(status.Connected);
        Assert.False(string.IsNullOrEmpty(status.LastError));
        Assert.True(await feed.Gaps.Completion.WaitAsync(Wait, Ct).ContinueWith(t => t.IsCompletedSuccessfully, Ct));
    }

    [Fact]
    public async Task Feed_Alpaca_SendsTheKeyInTheHandshakeAndReadsItsTradeArrays()
    {
        await using var server = await FakeVenueServer.StartAsync(Ct);
        var feed = new LiveFeed(new Feeds.Live.Alpaca.AlpacaProtocol(["AAPL"], "PKTEST", "s3cret"), Fast with { Url = server.Url });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ticks = FeedReader.Start(feed, stop.Token);

        var venue = await server.AcceptAsync(Wait, Ct);
        Assert.Equal(("PKTEST", "s3cret"), (venue.Headers["APCA-API-KEY-ID"], venue.Headers["APCA-API-SECRET-KEY"]));
        Assert.Equal("""{"action":"subscribe","trades":["AAPL"]}""", await venue.ReceiveAsync(Wait, Ct));
        await venue.SendAsync("""[{"T":"success","msg":"connected"},{"T":"success","msg":"authenticated"}]""", Ct);
        await venue.SendAsync("""[{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208123456Z","c":["@","I"],"z":"C"}]""", Ct);

        Assert.Equal(new Tick("AAPL", 1_614_009_104_208, 126.55, 1, TradeId.FromNumber(96921), "alpaca", AssetClass.Stock), await NextAsync(ticks));
        await stop.CancelAsync();
    }

    [Fact]
    public void Backoff_GrowsExponentiallyWithJitter_UpToTheMaximum()
    {
        var feed = new LiveFeed(new LineProtocol(["X"]), LiveFeedOptions.Default with { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(60) });

        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(feed.Backoff(1).TotalSeconds, 0.5, 1);
            Assert.InRange(feed.Backoff(3).TotalSeconds, 2, 4);
            Assert.InRange(feed.Backoff(30).TotalSeconds, 30, 60);
        }

        Assert.True(Enumerable.Range(0, 50).Select(_ => feed.Backoff(4)).Distinct().Count() > 10, "no jitter");
    }

    private static Task<Tick> NextAsync(FeedReader ticks) => ticks.NextAsync(Wait, Ct);

    /// <summary>Runs a feed in the background (an async stream starts only when read) and hands its ticks out one by one.</summary>
    private sealed class FeedReader : IAsyncDisposable
    {
        private readonly System.Threading.Channels.Channel<Tick> _ticks = System.Threading.Channels.Channel.CreateUnbounded<Tick>();
        private Task _pump = Task.CompletedTask;

        public static FeedReader Start(LiveFeed feed, CancellationToken cancellationToken)
        {
            var reader = new FeedReader();
            reader._pump = Task.Run(
                async () =>
                {
                    await foreach (var tick in feed.RunAsync(cancellationToken))
                    {
                        await reader._ticks.Writer.WriteAsync(tick, CancellationToken.None);
                    }
                },
                CancellationToken.None);
            return reader;
        }

        public async Task<Tick> NextAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            await _ticks.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(timeout, cancellationToken);

        public async ValueTask DisposeAsync() => await _pump.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// "T SYMBOL TS PRICE QTY ID" trades (ids consecutive per symbol), "H" heartbeats, "E …" venue errors, other
    /// letters unknown, anything else malformed.
    /// </summary>
    private sealed class LineProtocol(IReadOnlyList<string> symbols) : IVenueProtocol
    {
        private readonly Dictionary<string, long> _lastIds = [];

        public TimeSpan Silence { get; init; } = TimeSpan.FromSeconds(30);

        public string Name => "line";

        public AssetClass AssetClass => AssetClass.Crypto;

        public Uri DefaultUrl => new("ws://127.0.0.1:9/");

        public TimeSpan SilenceTimeout => Silence;

        public IReadOnlyList<string> Symbols => symbols;

        public IReadOnlyList<string> OpeningFrames() => ["subscribe " + string.Join(",", symbols)];

        public void OnConnected() => _lastIds.Clear();

        public DecodeOutcome Decode(ReadOnlySpan<byte> message, IFeedSink sink)
        {
            var outcome = DecodeOutcome.Trades;
            foreach (var line in Encoding.UTF8.GetString(message).Split(';'))
            {
                outcome = DecodeLine(line, sink);
            }

            return outcome;
        }

        private DecodeOutcome DecodeLine(string text, IFeedSink sink)
        {
            var parts = text.Split(' ');
            switch (parts[0])
            {
                case "H":
                    return DecodeOutcome.Heartbeat;
                case "E":
                    return DecodeOutcome.VenueError(text[2..]);
                case "T" when parts.Length == 6:
                    var id = long.Parse(parts[5], CultureInfo.InvariantCulture);
                    if (_lastIds.TryGetValue(parts[1], out var last) && id > last + 1)
                    {
                        sink.SequenceGap(parts[1], $"trade ids {last + 1}–{id - 1} missed");
                    }

                    _lastIds[parts[1]] = id;
                    sink.Trade(new Tick(parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture), double.Parse(parts[4], CultureInfo.InvariantCulture), TradeId.FromNumber(id), Name, AssetClass));
                    return DecodeOutcome.Trades;
                case { Length: 1 } when char.IsAsciiLetterUpper(parts[0][0]):
                    return DecodeOutcome.Unknown(parts[0]);
                default:
                    return DecodeOutcome.Malformed("not a line message");
            }
        }
    }
}
